"""Invoices and payments: issuing an order's invoice, recording payments, credit exposure.

The application layer, like ``sales.application.orders``: plain functions taking a unit of work,
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

from guanxi_common import idempotency
from guanxi_common.clock import utcnow
from guanxi_common.errors import BusinessRuleViolation, Conflict
from sales.adapters import records
from sales.adapters.document_numbers import next_number
from sales.adapters.models import Invoice, Order, Payment, idempotency_keys
from sales.adapters.repository import find_invoice, find_order, invoice_of_order
from sales.application import orders
from sales.domain import orders as order_rules
from sales.domain import receivables

PAYMENT_SCOPE = "payment.record"
ZERO = Decimal("0.00")


# ---- commands ----------------------------------------------------------------------------------

def issue_invoice(uow, order_ref, terms_days=30, issue_date=None):
    """The invoice of a shipped order; the order → invoiced. Returns the Invoice."""
    session = uow.session
    order = find_order(session, order_ref, for_update=True)
    sold_to = orders.ensure_order_write(uow, order)
    existing = invoice_of_order(session, order.id)
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
    uow.emit("invoice.issued", "invoice", invoice.id, {"invoice": records.invoice_record(session, invoice)},
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
    record = records.payment_record(session, payment)
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
