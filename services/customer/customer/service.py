"""The customer service: its name, its dependencies and the areas of entrypoints it serves.

The RPC contract is documented in docs/rpc/customer.md, the events in docs/messaging.md;
the wire schemas are guanxi_common.contracts.customer.
"""
from customer.adapters.records import CustomerSession
from customer.dependencies import PoolPolicyProvider
from customer.entrypoints.follow_ups import FollowUpEntrypoints
from customer.entrypoints.parties import PartyEntrypoints
from customer.entrypoints.pool import PoolEntrypoints
from customer.entrypoints.privacy import PrivacyEntrypoints
from customer.entrypoints.relationships import RelationshipEntrypoints
from customer.entrypoints.roles import RoleEntrypoints
from guanxi_common.chassis import ServiceBase
from guanxi_common.unit_of_work import UnitOfWorkProvider


class CustomerService(ServiceBase, PartyEntrypoints, RoleEntrypoints, RelationshipEntrypoints,
                      PoolEntrypoints, FollowUpEntrypoints, PrivacyEntrypoints):
    name = "customer"

    uow = UnitOfWorkProvider("customer", session_class=CustomerSession)
    pool_policy = PoolPolicyProvider()
