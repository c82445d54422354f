"""Invoices and payments: issuing an order's invoice, recording payments, credit exposure.

The application layer, like ``sales.orders``: plain functions taking a unit of work,
applying ``sales.domain.receivables`` and emitting events in the caller's transaction.

Decisions worth knowing:
- One invoice per order, for the whole gross amount, issued for a **shipped** order only
  (the lifecycle is shipped → invoiced; a confirmed order is shipped first with
  ``ship_order`` — no shortcut, so "shipped but not invoiced" is never skipped in the
  reports). The invoice's customer is the order's payer, its owner the sold-to's owner
  at issue time (the rep who collects), its dates office (Asia/Shanghai) calendar dates.
- Payments: partial payments allowed, more than the outstanding amount refused (rule
  ``overpayment``), at most 2 decimals. The invoice goes open → partially_paid → paid;
  when it is paid the order goes invoiced → paid.
- Idempotency (scope ``payment.record``): with an ``idempotency_key`` a retry — a client
  retry or a redelivered message — returns the first payment and creates nothing; the
  same key with another body is a Conflict. The key is stored in the payment's transaction.
"""
from datetime import timezone
from decimal import Decimal

from sqlalchemy import func, or_, select

from guanxi_common import idempotency
from guanxi_common.errors import BusinessRuleViolation, Conflict, NotFound
from sales import orders
from sales.base import next_number, utcnow
from sales.customers import ensure_read, find_customer
from sales.domain import orders as order_rules
from sales.domain import receivables
from sales.domain.credit import Exposure
from sales.models import CustomerReplica, Invoice, Order, Payment, idempotency_keys
from sales.schemas.orders import InvoiceOut, PaymentOut

PAYMENT_SCOPE = "payment.record"
ZERO = Decimal("0.00")


# ---- exposure ----------------------------------------------------------------------------------

def exposure(session, customer_id, currency="CNY", exclude_order_id=None):
    """What ``customer_id`` (a payer) owes or has ordered, in ``currency``: the gross of its
    orders in ``EXPOSURE_STATES`` (credit_hold, confirmed, shipped: not yet invoiced) and
    the outstanding amount of its unpaid invoices. ``exclude_order_id`` leaves one order
    out (the one being re-checked)."""
    stmt = select(func.coalesce(func.sum(Order.gross), 0)).where(
        Order.payer_id == customer_id, Order.currency == currency,
        Order.status.in_(sorted(order_rules.EXPOSURE_STATES)))
    if exclude_order_id is not None:
        stmt = stmt.where(Order.id != exclude_order_id)
    open_orders = Decimal(session.scalar(stmt) or 0)
    unpaid = Decimal(session.scalar(select(func.coalesce(func.sum(Invoice.outstanding), 0)).where(
        Invoice.customer_id == customer_id, Invoice.currency == currency,
        Invoice.status != receivables.PAID)) or 0)
    return Exposure(open_orders=open_orders.quantize(Decimal("0.01")),
                    unpaid_invoices=unpaid.quantize(Decimal("0.01")))


# ---- records -----------------------------------------------------------------------------------

def _number(session, customer_id):
    return session.scalar(select(CustomerReplica.number).where(CustomerReplica.id == customer_id))


def invoice_record(session, invoice):
    record = InvoiceOut().dump(invoice)
    record["order"] = session.scalar(select(Order.number).where(Order.id == invoice.order_id))
    record["customer"] = _number(session, invoice.customer_id)
    return record


def payment_record(session, payment):
    record = PaymentOut().dump(payment)
    record["invoice"] = payment.invoice.number
    record["order"] = session.scalar(select(Order.number).where(Order.id == payment.invoice.order_id))
    record["customer"] = _number(session, payment.customer_id)
    return record


def find_invoice(session, ref, for_update=False):
    ref = (ref or "").strip()
    stmt = select(Invoice).where(or_(Invoice.number == ref.upper(), Invoice.id == ref))
    if for_update:
        stmt = stmt.with_for_update()
    invoice = session.scalars(stmt).first()
    if invoice is None:
        raise NotFound(f"invoice {ref} not found", {"invoice": ref})
    return invoice


# ---- commands ----------------------------------------------------------------------------------

def issue_invoice(uow, order_ref, terms_days=30, issue_date=None):
    """The invoice of a shipped order; the order → invoiced. Returns the Invoice."""
    session = uow.session
    order = orders.find_order(session, order_ref, for_update=True)
    sold_to = orders.ensure_order_write(uow, order)
    existing = session.scalars(select(Invoice).where(Invoice.order_id == order.id)).first()
    if existing is not None:
        raise Conflict(f"order {order.number} already has invoice {existing.number}",
                       {"order": order.number, "existing_number": existing.number})
    issued_on = issue_date or orders.office_today()
    with orders.rules(order=order.number):
        due = receivables.due_date(issued_on, terms_days)
    orders.transition(uow, order, order_rules.INVOICED)
    now = utcnow()
    invoice = Invoice(id=orders.new_id(), number=next_number(session, "INV", now), order_id=order.id,
                      customer_id=order.payer_id, owner_id=sold_to.owner_id, currency=order.currency,
                      amount=order.gross, paid_amount=ZERO, outstanding=order.gross,
                      issue_date=issued_on, terms_days=terms_days, due_date=due, created_at=now)
    with orders.rules(order=order.number):
        invoice.status = receivables.invoice_status(invoice.amount, invoice.outstanding)
    session.add(invoice)
    session.flush()
    uow.emit("invoice.issued", "invoice", invoice.id, {"invoice": invoice_record(session, invoice)},
             number=invoice.number)
    if invoice.status == receivables.PAID:  # a free order: nothing to collect
        orders.transition(uow, order, order_rules.PAID, reason="nothing to pay")
    return invoice


def _payment_request(data):
    return {k: v for k, v in data.items() if k != "idempotency_key"}


def _recall_payment(session, key, data):
    if not key:
        return None
    stored = idempotency.recall(session, idempotency_keys, PAYMENT_SCOPE, key, _payment_request(data))
    return None if stored is None else session.get(Payment, stored["id"])


def record_payment(uow, data):
    """A payment against an invoice (see the module doc); returns the Payment."""
    session, actor = uow.session, uow.actor
    key = data.get("idempotency_key")
    replayed = _recall_payment(session, key, data)
    if replayed is not None:
        return replayed
    invoice = find_invoice(session, data["invoice"], for_update=True)
    replayed = _recall_payment(session, key, data)   # a concurrent first use committed meanwhile
    if replayed is not None:
        return replayed
    order = session.get(Order, invoice.order_id)
    orders.ensure_order_write(uow, order)
    if data.get("currency") and data["currency"] != invoice.currency:
        raise BusinessRuleViolation(
            f"invoice {invoice.number} is in {invoice.currency}, the payment in {data['currency']}",
            {"rule": "currency_mismatch", "invoice": invoice.number})
    with orders.rules(invoice=invoice.number):
        outstanding = receivables.apply_payment(invoice.outstanding, data["amount"])
        invoice.outstanding = outstanding
        invoice.paid_amount = invoice.paid_amount + data["amount"]
        invoice.status = receivables.invoice_status(invoice.amount, outstanding)
    now = utcnow()
    received_at = (data.get("received_at") or now).astimezone(timezone.utc)
    payment = Payment(id=orders.new_id(), number=next_number(session, "PAY", now), invoice=invoice,
                      customer_id=invoice.customer_id, amount=data["amount"], currency=invoice.currency,
                      received_at=received_at, method=data.get("method"),
                      reference=data.get("reference"), created_by=actor.user_id, created_at=now)
    session.add(payment)
    if invoice.status == receivables.PAID:
        orders.transition(uow, order, order_rules.PAID, reason=f"invoice {invoice.number} paid")
    session.flush()
    record = payment_record(session, payment)
    uow.emit("payment.received", "payment", payment.id, {
        "payment": record,
        "invoice": {"id": invoice.id, "number": invoice.number, "status": invoice.status,
                    "amount": str(invoice.amount), "paid_amount": str(invoice.paid_amount),
                    "outstanding": str(invoice.outstanding)},
        "order": {"id": order.id, "number": order.number, "status": order.status}},
        number=payment.number)
    if key:
        idempotency.remember(session, idempotency_keys, PAYMENT_SCOPE, key, _payment_request(data),
                             {"id": payment.id, "number": payment.number, "payment": record})
    return payment


# ---- queries -----------------------------------------------------------------------------------

def _readable_order(session, actor, invoice):
    order = session.get(Order, invoice.order_id)
    ensure_read(actor, orders.sold_to_of(session, order))


def get_invoice(session, actor, ref):
    invoice = find_invoice(session, ref)
    _readable_order(session, actor, invoice)
    record = invoice_record(session, invoice)
    record["payments"] = [payment_record(session, p) for p in invoice.payments]
    return record


def list_invoices(session, actor, criteria, today=None):
    page, size = criteria.get("page", 1), criteria.get("page_size", 20)
    empty = {"items": [], "total": 0, "page": page, "page_size": size}
    conditions = orders.scope_conditions(actor)
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
        day = today or orders.office_today()
        overdue = (Invoice.status != receivables.PAID) & (Invoice.due_date < day)
        stmt = stmt.where(overdue if criteria["overdue"] else ~overdue)
    total = session.scalar(select(func.count()).select_from(stmt.subquery()))
    rows = session.scalars(stmt.order_by(Invoice.issue_date.desc(), Invoice.number.desc())
                           .limit(size).offset((page - 1) * size)).all()
    return {"items": [invoice_record(session, i) for i in rows], "total": total,
            "page": page, "page_size": size}
