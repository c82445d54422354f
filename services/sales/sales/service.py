"""The sales service: its name, its dependencies and the areas of entrypoints it serves.

The RPC contract is documented in docs/rpc/sales.md, the events in docs/messaging.md; the
wire schemas are guanxi_common.contracts.sales.
"""
from guanxi_common.chassis import ServiceBase
from guanxi_common.rpc import ServiceRpc
from guanxi_common.unit_of_work import UnitOfWorkProvider
from sales.entrypoints.activities import ActivityEntrypoints
from sales.entrypoints.billing import BillingEntrypoints
from sales.entrypoints.opportunities import OpportunityEntrypoints
from sales.entrypoints.orders import OrderEntrypoints
from sales.entrypoints.products import ProductEntrypoints
from sales.entrypoints.quotes import QuoteEntrypoints
from sales.entrypoints.replica import ReplicaEntrypoints
from sales.entrypoints.reports import ReportEntrypoints


class SalesService(ServiceBase, ReplicaEntrypoints, ProductEntrypoints, OpportunityEntrypoints,
                   QuoteEntrypoints, ActivityEntrypoints, OrderEntrypoints, BillingEntrypoints,
                   ReportEntrypoints):
    name = "sales"

    uow = UnitOfWorkProvider("sales")
    customer_rpc = ServiceRpc("customer")
