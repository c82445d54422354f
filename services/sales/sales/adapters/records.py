"""Rows → the wire records the contracts describe (``guanxi_common.contracts.sales``).

The contract schemas dump what a row holds; what needs the session (partner names and
numbers, document numbers) or the calendar (a quote's effective status) is added here.
"""
from sqlalchemy import select

from guanxi_common.clock import utcnow
from guanxi_common.contracts.enums import PARTNER_FUNCTIONS
from guanxi_common.contracts.sales.activities import VisitPlanOut
from guanxi_common.contracts.sales.billing import InvoiceOut, PaymentOut
from guanxi_common.contracts.sales.orders import PARTY_FIELDS, OrderOut, OrderSummaryOut
from guanxi_common.contracts.sales.quotes import QuoteOut
from sales.adapters.models import CustomerReplica, Order
from sales.adapters.repository import customer_numbers
from sales.domain import quotes as quote_rules
from sales.domain.activities import office_day

_order_out = OrderOut(exclude=PARTY_FIELDS)
_order_event_out = OrderOut(exclude=PARTY_FIELDS + ("transitions",))
_order_summary_out = OrderSummaryOut(exclude=("sold_to", "payer"))
_invoice_out = InvoiceOut(exclude=("order", "customer"))
_payment_out = PaymentOut(exclude=("invoice", "order", "customer"))
_quote_out = QuoteOut()
_plan_out = VisitPlanOut()


def office_today(now=None):
    """Today's date in the office's time zone (quotes, invoices and due dates use it)."""
    return office_day(now or utcnow())


# ---- orders ---------------------------------------------------------------------------------

def _party(customer, customer_id):
    if customer is None:
        return {"id": customer_id, "number": None, "name": None}
    return {"id": customer.id, "number": customer.number, "name": customer.name}


def partner_refs(session, order):
    ids = {order.sold_to_id, order.ship_to_id, order.bill_to_id, order.payer_id}
    rows = {c.id: c for c in session.scalars(select(CustomerReplica)
                                             .where(CustomerReplica.id.in_(ids)))}
    return {function: _party(rows.get(getattr(order, f"{function}_id")),
                             getattr(order, f"{function}_id"))
            for function in PARTNER_FUNCTIONS}


def order_record(session, order, transitions=True):
    """The order as it leaves the service: OrderOut with the four partners."""
    record = (_order_out if transitions else _order_event_out).dump(order)
    record.update(partner_refs(session, order))
    return record


def order_summaries(session, orders):
    """Rows of ``list_orders``: OrderSummaryOut with the sold-to's and payer's numbers."""
    numbers = customer_numbers(session, {o.sold_to_id for o in orders} | {o.payer_id for o in orders})
    items = []
    for order in orders:
        item = _order_summary_out.dump(order)
        item["sold_to"] = numbers.get(order.sold_to_id)
        item["payer"] = numbers.get(order.payer_id)
        items.append(item)
    return items


# ---- invoices and payments ------------------------------------------------------------------

def _number(session, customer_id):
    return session.scalar(select(CustomerReplica.number).where(CustomerReplica.id == customer_id))


def invoice_record(session, invoice):
    record = _invoice_out.dump(invoice)
    record["order"] = session.scalar(select(Order.number).where(Order.id == invoice.order_id))
    record["customer"] = _number(session, invoice.customer_id)
    return record


def invoice_detail(session, invoice):
    """``get_invoice``: the invoice with its payments."""
    record = invoice_record(session, invoice)
    record["payments"] = [payment_record(session, p) for p in invoice.payments]
    return record


def payment_record(session, payment):
    record = _payment_out.dump(payment)
    record["invoice"] = payment.invoice.number
    record["order"] = session.scalar(select(Order.number).where(Order.id == payment.invoice.order_id))
    record["customer"] = _number(session, payment.customer_id)
    return record


# ---- quotes and visit plans -----------------------------------------------------------------

def quote_status(quote, today=None):
    """The stored status, or ``expired`` for an undecided quote past its validity date."""
    return quote_rules.effective_status(quote.status, quote.valid_until, today or office_today())


def quote_record(quote, today=None):
    record = _quote_out.dump(quote)
    record["status"] = quote_status(quote, today)
    return record


def visit_plan_record(plan):
    """The wire record of a plan as ``application.activities.plan_visits`` returns it."""
    return _plan_out.dump({**plan, "date": plan["plan_date"]})
