"""Reading the customer replica: sales' own copy of the customer master data."""
from sqlalchemy import select

from guanxi_common import access
from guanxi_common.errors import Forbidden, NotFound
from sales.models import CustomerReplica


def find_customer(session, ref, for_update=False):
    """The replica row for a number (C00001234) or id; NotFound when sales does not know it.

    A merged customer is returned as it is (``merged_into_id`` set): callers decide
    whether to refuse it (orders) or to follow the pointer (reports)."""
    ref = (ref or "").strip()
    column = CustomerReplica.number if ref.upper().startswith("C") and ref[1:].isdigit() \
        else CustomerReplica.id
    stmt = select(CustomerReplica).where(column == (ref.upper() if column is CustomerReplica.number
                                                    else ref))
    if for_update:
        stmt = stmt.with_for_update()
    customer = session.scalars(stmt).first()
    if customer is None:
        raise NotFound(f"customer {ref} is not known to sales", {"customer": ref})
    return customer


def ensure_read(actor, customer):
    if not access.can_read(actor, customer.owner_id, customer.province):
        raise Forbidden(f"{actor.user_id} may not see customer {customer.number}",
                        {"customer": customer.number})


def ensure_write(actor, customer):
    if not access.can_write(actor, customer.owner_id, customer.province):
        raise Forbidden(f"{actor.user_id} may not act for customer {customer.number}",
                        {"customer": customer.number})
