"""Record-level authorization of sales' records, over ``guanxi_common.access``.

A customer's records are read and written by its owner, the managers of its province and
the roles that see everything (admin, system, auditors read-only). Opportunities carry
their own region (the customer's province when created); quotes and activities take the
province of their customer.
"""
from sqlalchemy import or_

from guanxi_common import access
from guanxi_common.errors import Forbidden, NotFound
from sales.adapters.models import CustomerReplica
from sales.adapters.repository import province_of


def ensure_read(actor, customer, ref=None):
    """``ref``: the reference the caller named the customer by. A customer the caller named
    and may not see answers exactly like one sales does not know (``find_customer``), so
    numbers cannot be walked; one reached through another record is a Forbidden."""
    if not access.can_read(actor, customer.owner_id, customer.province):
        if ref is not None:
            raise unknown_customer(ref)
        raise Forbidden(f"{actor.user_id} may not see customer {customer.number}",
                        {"customer": customer.number})


def ensure_write(actor, customer, ref=None, field="customer"):
    """As :func:`ensure_read`, then Forbidden (naming ``field``) when it may not be acted for."""
    ensure_read(actor, customer, ref)
    if not access.can_write(actor, customer.owner_id, customer.province):
        raise Forbidden(f"{actor.user_id} may not act for customer {customer.number}",
                        {field: customer.number})


def unknown_customer(ref):
    ref = (ref or "").strip()  # as find_customer echoes it
    return NotFound(f"customer {ref} is not known to sales", {"customer": ref})


def ensure_opportunity_read(actor, opportunity):
    if not access.can_read(actor, opportunity.owner_id, opportunity.region):
        raise Forbidden(f"{actor.user_id} may not see opportunity {opportunity.number}",
                        {"opportunity": opportunity.number})


def ensure_opportunity_write(actor, opportunity):
    if not access.can_write(actor, opportunity.owner_id, opportunity.region):
        raise Forbidden(f"{actor.user_id} may not change opportunity {opportunity.number}",
                        {"opportunity": opportunity.number})


def ensure_quote_read(session, actor, quote):
    if not access.can_read(actor, quote.owner_id, province_of(session, quote.customer_id)):
        raise Forbidden(f"{actor.user_id} may not see quote {quote.number}", {"quote": quote.number})


def ensure_quote_write(session, actor, quote):
    if not access.can_write(actor, quote.owner_id, province_of(session, quote.customer_id)):
        raise Forbidden(f"{actor.user_id} may not change quote {quote.number}", {"quote": quote.number})


def ensure_activity_write(session, actor, activity):
    if not access.can_write(actor, activity.owner_id, province_of(session, activity.customer_id)):
        raise Forbidden(f"{actor.user_id} may not change activity {activity.id}",
                        {"activity": activity.id})


def scope_conditions(actor, customer_table=CustomerReplica):
    """Conditions on the sold-to's replica row restricting a list to what ``actor`` may read
    (None: nothing visible)."""
    scope = access.search_scope(actor)
    if scope is None:
        return []
    if scope.get("nothing"):
        return None
    if "province" in scope:
        return [customer_table.province == scope["province"]]
    return [or_(customer_table.owner_id.is_(None), customer_table.owner_id == scope["owner_or_pool"])]
