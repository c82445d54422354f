"""Reading invoices: one with its payments, and lists scoped to what the caller may see
(the scope of the order's sold-to)."""
from sqlalchemy import func, select

from guanxi_common.errors import NotFound
from sales.access import ensure_read, scope_conditions
from sales.adapters import records
from sales.adapters.models import CustomerReplica, Invoice, Order
from sales.adapters.repository import find_customer, find_invoice, sold_to_of
from sales.domain import receivables


def get_invoice(session, actor, ref):
    invoice = find_invoice(session, ref)
    ensure_read(actor, sold_to_of(session, session.get(Order, invoice.order_id)))
    return records.invoice_detail(session, invoice)


def list_invoices(session, actor, criteria, today=None):
    page, size = criteria.get("page", 1), criteria.get("page_size", 20)
    empty = {"items": [], "total": 0, "page": page, "page_size": size}
    conditions = scope_conditions(actor)
    if conditions is None:
        return empty
    stmt = (select(Invoice).join(Order, Order.id == Invoice.order_id)
            .join(CustomerReplica, CustomerReplica.id == Order.sold_to_id).where(*conditions))
    if criteria.get("status"):
        stmt = stmt.where(Invoice.status == criteria["status"])
    if criteria.get("owner"):
        stmt = stmt.where(Invoice.owner_id == criteria["owner"])
    if criteria.get("customer"):
        try:
            customer = find_customer(session, criteria["customer"])
        except NotFound:
            return empty
        stmt = stmt.where(Invoice.customer_id == customer.id)
    if "overdue" in criteria:
        day = today or records.office_today()
        overdue = (Invoice.status != receivables.PAID) & (Invoice.due_date < day)
        stmt = stmt.where(overdue if criteria["overdue"] else ~overdue)
    total = session.scalar(select(func.count()).select_from(stmt.subquery()))
    rows = session.scalars(stmt.order_by(Invoice.issue_date.desc(), Invoice.number.desc())
                           .limit(size).offset((page - 1) * size)).all()
    return {"items": [records.invoice_record(session, i) for i in rows], "total": total,
            "page": page, "page_size": size}
