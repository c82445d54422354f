"""Reading orders: one order, and lists scoped to what the caller may see."""
from sqlalchemy import func, or_, select

from guanxi_common.errors import NotFound
from sales.access import ensure_read, scope_conditions
from sales.adapters import records
from sales.adapters.models import CustomerReplica, Order
from sales.adapters.repository import find_customer, find_order, sold_to_of


def get_order(session, actor, ref):
    order = find_order(session, ref)
    ensure_read(actor, sold_to_of(session, order))
    return records.order_record(session, order)


def customer_ids(session, ref):
    """Ids of the customers a list filter names (number or id); [] when unknown."""
    try:
        return [find_customer(session, ref).id]
    except NotFound:
        return []


def list_orders(session, actor, criteria):
    page, size = criteria.get("page", 1), criteria.get("page_size", 20)
    conditions = scope_conditions(actor)
    empty = {"items": [], "total": 0, "page": page, "page_size": size}
    if conditions is None:
        return empty
    stmt = select(Order).join(CustomerReplica, CustomerReplica.id == Order.sold_to_id).where(*conditions)
    if criteria.get("status"):
        stmt = stmt.where(Order.status == criteria["status"])
    if criteria.get("owner"):
        stmt = stmt.where(CustomerReplica.owner_id == criteria["owner"])
    if criteria.get("customer"):
        ids = customer_ids(session, criteria["customer"])
        if not ids:
            return empty
        stmt = stmt.where(or_(Order.sold_to_id.in_(ids), Order.ship_to_id.in_(ids),
                              Order.bill_to_id.in_(ids), Order.payer_id.in_(ids)))
    total = session.scalar(select(func.count()).select_from(stmt.subquery()))
    rows = session.scalars(stmt.order_by(Order.ordered_at.desc(), Order.number.desc())
                           .limit(size).offset((page - 1) * size)).all()
    return {"items": records.order_summaries(session, rows), "total": total,
            "page": page, "page_size": size}
