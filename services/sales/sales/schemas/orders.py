"""Wire contract of orders, invoices and payments.

Input schemas refuse unknown fields and name the field of each error; money is a decimal
string with at most 2 places (a third place is an error, never rounded away), rates are
fractions (13 % = 0.13), quantities have at most 3 places, times are ISO 8601 with an
offset. Output schemas dump money as strings and times as UTC ISO 8601; the partner and
document references (customer, order and invoice numbers) are added by
``sales.orders.order_record`` / ``sales.billing.invoice_record`` / ``payment_record``,
which know the session.
"""
from decimal import Decimal

from marshmallow import Schema, fields, validate

from sales.domain.orders import STATES
from sales.domain.receivables import INVOICE_STATUSES
from guanxi_common.contracts.fields import (CURRENCY, StrictSchema, fraction_in, money_in, money_out,
                                  quantity_in, rate_out)

CENT = Decimal("0.01")
REF = validate.Length(min=1, max=40)
KEY = validate.Length(min=1, max=100)
PAYMENT_METHODS = ("bank_transfer", "cash", "cheque", "card", "alipay", "wechat_pay",
                   "acceptance_bill", "other")


# ---- input ------------------------------------------------------------------------------------

class OrderLineIn(StrictSchema):
    product = fields.String(required=True, validate=REF)          # SKU or product id
    quantity = quantity_in(required=True)
    discount = fraction_in(load_default=Decimal("0"))
    # the agreed price of a quote; refused on an order without quote_id
    unit_price = money_in(load_default=None, allow_none=True)


class PlaceOrderSchema(StrictSchema):
    sold_to = fields.String(required=True, validate=REF)
    ship_to = fields.String(load_default=None, allow_none=True, validate=REF)
    bill_to = fields.String(load_default=None, allow_none=True, validate=REF)
    payer = fields.String(load_default=None, allow_none=True, validate=REF)
    lines = fields.List(fields.Nested(OrderLineIn), required=True,
                        validate=validate.Length(min=1, max=200))
    currency = fields.String(load_default="CNY", validate=CURRENCY)
    quote_id = fields.String(load_default=None, allow_none=True, validate=REF)
    idempotency_key = fields.String(load_default=None, allow_none=True, validate=KEY)


class OrderLinesSchema(StrictSchema):
    """``change_order_lines``: the complete new set of lines."""

    lines = fields.List(fields.Nested(OrderLineIn), required=True,
                        validate=validate.Length(min=1, max=200))


class PageSchema(StrictSchema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000))
    page_size = fields.Integer(load_default=20, validate=validate.Range(min=1, max=200))


class OrderCriteriaSchema(PageSchema):
    status = fields.String(validate=validate.OneOf(STATES))
    customer = fields.String(validate=REF)   # a partner in any function: number or id
    owner = fields.String(validate=validate.Length(min=1, max=64))   # the sold-to's owner


class InvoiceCriteriaSchema(PageSchema):
    status = fields.String(validate=validate.OneOf(INVOICE_STATUSES))
    customer = fields.String(validate=REF)   # the payer: number or id
    owner = fields.String(validate=validate.Length(min=1, max=64))
    overdue = fields.Boolean()               # unpaid and past its due date (office calendar)


class PaymentSchema(StrictSchema):
    invoice = fields.String(required=True, validate=REF)   # invoice number or id
    amount = money_in(positive=True, required=True)
    currency = fields.String(load_default=None, allow_none=True, validate=CURRENCY)
    received_at = fields.AwareDateTime(default_timezone=None, load_default=None, allow_none=True)
    method = fields.String(load_default=None, allow_none=True,
                           validate=validate.OneOf(PAYMENT_METHODS))
    reference = fields.String(load_default=None, allow_none=True,
                              validate=validate.Length(min=1, max=100))
    idempotency_key = fields.String(load_default=None, allow_none=True, validate=KEY)


# ---- output -----------------------------------------------------------------------------------

class OrderLineOut(Schema):
    position = fields.Integer()
    product_id = fields.String()
    sku = fields.String()
    description = fields.String()
    quantity = fields.Decimal(as_string=True, places=3)
    unit_price = money_out()
    discount = rate_out()
    tax_rate = rate_out()
    unit_cost = money_out(allow_none=True)
    net = money_out()
    tax = money_out()
    gross = money_out()
    cost = money_out()
    margin = money_out()


class TransitionOut(Schema):
    from_status = fields.String(allow_none=True)
    to_status = fields.String()
    actor_id = fields.String()
    request_id = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    at = fields.DateTime()


class CreditOut(Schema):
    outcome = fields.String(attribute="credit_outcome")
    exposure = money_out(attribute="credit_exposure", allow_none=True)
    limit = money_out(attribute="credit_limit", allow_none=True)
    note = fields.String(attribute="credit_note", allow_none=True)
    released_by = fields.String(allow_none=True)
    released_at = fields.DateTime(allow_none=True)
    release_reason = fields.String(allow_none=True)


class OrderOut(Schema):
    """The order; ``sold_to``/``ship_to``/``bill_to``/``payer`` are added as
    ``{"id", "number", "name"}`` by ``sales.orders.order_record``."""

    id = fields.String()
    number = fields.String()
    status = fields.String()
    owner_id = fields.String(allow_none=True)
    region = fields.String(allow_none=True)
    quote_id = fields.String(allow_none=True)
    currency = fields.String()
    net = money_out()
    tax = money_out()
    gross = money_out()
    cost = money_out()
    margin = money_out()
    credit = fields.Function(lambda order: CreditOut().dump(order))
    lines = fields.List(fields.Nested(OrderLineOut))
    transitions = fields.List(fields.Nested(TransitionOut))
    ordered_at = fields.DateTime()
    created_by = fields.String()
    version = fields.Integer()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class OrderSummaryOut(Schema):
    """A row of ``list_orders``; ``sold_to`` and ``payer`` numbers are added."""

    id = fields.String()
    number = fields.String()
    status = fields.String()
    owner_id = fields.String(allow_none=True)
    region = fields.String(allow_none=True)
    currency = fields.String()
    net = money_out()
    gross = money_out()
    margin = money_out()
    credit_outcome = fields.String()
    ordered_at = fields.DateTime()
    version = fields.Integer()


class InvoiceOut(Schema):
    """The invoice; ``order`` (number) and ``customer`` (the payer's number) are added by
    ``sales.billing.invoice_record``."""

    id = fields.String()
    number = fields.String()
    owner_id = fields.String(allow_none=True)
    currency = fields.String()
    amount = money_out()
    paid_amount = money_out()
    outstanding = money_out()
    issue_date = fields.Date()
    terms_days = fields.Integer()
    due_date = fields.Date()
    status = fields.String()
    created_at = fields.DateTime()


class PaymentOut(Schema):
    """A payment; ``invoice``, ``order`` and ``customer`` numbers are added by
    ``sales.billing.payment_record``. Payments never change, so this is also the answer
    replayed for a retried idempotency key."""

    id = fields.String()
    number = fields.String()
    amount = money_out()
    currency = fields.String()
    received_at = fields.DateTime()
    method = fields.String(allow_none=True)
    reference = fields.String(allow_none=True)
    created_by = fields.String()
    created_at = fields.DateTime()
