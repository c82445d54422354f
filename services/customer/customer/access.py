"""Who may read or change which customer: the shared rules of guanxi_common.access
applied to customer records, plus the customer service's own privileged roles."""
from guanxi_common.access import can_read, can_write, ensure_role, search_scope  # noqa: F401
from guanxi_common.contracts.roles import ADMIN  # noqa: F401
from guanxi_common.errors import Forbidden, NotFound

#: roles that may create customers (and so ask whether one exists already)
CREATORS = ("sales_rep", "sales_manager", "regional_office", "service_agent", "marketer",
            "credit_manager")
#: roles that may see everything held on one person (data subject access requests)
PRIVACY_OFFICERS = ("auditor",)


def hidden(ref):
    """What a caller learns of a customer outside their read scope: exactly what they
    learn of a number nobody holds (``repository.get_customer``'s NotFound), so numbers
    cannot be walked to find out which exist."""
    return NotFound(f"customer {ref} not found", {"customer": ref})


def ensure_read(actor, customer, ref=None):
    """``ref``: the reference the caller used (number or id), echoed in the refusal."""
    if not can_read(actor, customer.owner_id, customer.province):
        raise hidden(customer.number if ref is None else ref)


def ensure_write(actor, customer, ref=None):
    """Unreadable: as if missing; readable but not changeable: Forbidden."""
    ensure_read(actor, customer, ref)
    if not can_write(actor, customer.owner_id, customer.province):
        raise Forbidden(f"{actor.user_id} may not change customer {customer.number}",
                        {"customer": customer.number})


def readable(actor, customer):
    return can_read(actor, customer.owner_id, customer.province)


def ensure_reference(actor, customer, field, ref=None):
    """A customer named inside a request (a relationship's other end, a merge victim):
    the caller must be able to change it, since the request changes it too. A Forbidden
    names the body field; an unreadable customer answers like a missing one."""
    ensure_read(actor, customer, ref)
    if not can_write(actor, customer.owner_id, customer.province):
        raise Forbidden(f"{actor.user_id} may not change customer {customer.number}",
                        {field: customer.number})
