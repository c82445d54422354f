"""Who may read or change which customer: the shared rules of guanxi_common.access
applied to customer records, plus the customer service's own privileged roles."""
from guanxi_common.access import can_read, can_write, ensure_role, search_scope  # noqa: F401
from guanxi_common.contracts.roles import ADMIN  # noqa: F401
from guanxi_common.errors import Forbidden

#: roles that may create customers (and so ask whether one exists already)
CREATORS = ("sales_rep", "sales_manager", "regional_office", "service_agent", "marketer",
            "credit_manager")
#: roles that may see everything held on one person (data subject access requests)
PRIVACY_OFFICERS = ("auditor",)


def ensure_read(actor, customer):
    if not can_read(actor, customer.owner_id, customer.province):
        raise Forbidden(f"{actor.user_id} may not read customer {customer.number}",
                        {"customer": customer.number})


def ensure_write(actor, customer):
    if not can_write(actor, customer.owner_id, customer.province):
        raise Forbidden(f"{actor.user_id} may not change customer {customer.number}",
                        {"customer": customer.number})
