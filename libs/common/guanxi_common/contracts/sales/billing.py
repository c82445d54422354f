"""Invoices and payments: issue an order's invoice, record a payment; their records. The
document references (order, invoice and customer numbers) are filled in by the service."""
from marshmallow import Schema, fields, validate

from guanxi_common.contracts.enums import INVOICE_STATUSES, PAYMENT_METHODS
from guanxi_common.contracts.fields import (CURRENCY, StrictSchema, WireDate, WireDateTime,
                                            currency_places, money_in, money_out, page_schema)
from guanxi_common.contracts.sales.references import IDEMPOTENCY_KEY, OWNER, REF

#: payment terms an invoice may give, in days
TERMS_DAYS_MAX = 365
DEFAULT_TERMS_DAYS = 30
InvoicePage = page_schema(default_size=20, max_size=200, name="InvoicePage")


class InvoiceCreateSchema(StrictSchema):
    """``issue_invoice(order_ref, terms_days, issue_date)``'s arguments."""

    terms_days = fields.Integer(load_default=DEFAULT_TERMS_DAYS, strict=True,
                                validate=validate.Range(min=0, max=TERMS_DAYS_MAX))
    issue_date = fields.Date(allow_none=True,
                             metadata={"description": "Default today (Asia/Shanghai)."})


class InvoiceFilters(StrictSchema):
    status = fields.String(validate=validate.OneOf(INVOICE_STATUSES))
    customer = fields.String(validate=REF, metadata={"description": "The payer."})
    owner = fields.String(validate=OWNER)
    overdue = fields.Boolean(metadata={"description": "True: unpaid and past due."})


class InvoiceCriteriaSchema(InvoiceFilters, InvoicePage):
    """``list_invoices`` criteria: the filters and the page."""


class PaymentSchema(StrictSchema):
    """``record_payment``."""

    invoice = fields.String(required=True, validate=REF,
                            metadata={"description": "Invoice number or id."})
    amount = money_in(positive=True, required=True)
    currency = fields.String(load_default=None, allow_none=True, validate=CURRENCY)
    received_at = fields.AwareDateTime(default_timezone=None, load_default=None, allow_none=True,
                                       metadata={"description": "Default now."})
    method = fields.String(load_default=None, allow_none=True,
                           validate=validate.OneOf(PAYMENT_METHODS))
    reference = fields.String(load_default=None, allow_none=True,
                              validate=validate.Length(min=1, max=100))
    idempotency_key = fields.String(load_default=None, allow_none=True, validate=IDEMPOTENCY_KEY)

    check_places = currency_places("amount")


class PaymentOut(Schema):
    """A payment. Payments never change, so this is also the answer replayed for a retried
    idempotency key."""

    id = fields.String()
    number = fields.String()
    amount = money_out()
    currency = fields.String()
    received_at = WireDateTime()
    method = fields.String(allow_none=True)
    reference = fields.String(allow_none=True)
    created_by = fields.String(allow_none=True)
    created_at = WireDateTime()
    invoice = fields.String()
    order = fields.String()
    customer = fields.String()


class InvoiceOut(Schema):
    id = fields.String()
    number = fields.String()
    owner_id = fields.String(allow_none=True)
    currency = fields.String()
    amount = money_out()
    paid_amount = money_out()
    outstanding = money_out()
    issue_date = WireDate()
    terms_days = fields.Integer()
    due_date = WireDate()
    status = fields.String(metadata={"enum": list(INVOICE_STATUSES)})
    created_at = WireDateTime()
    order = fields.String(metadata={"description": "Order number."})
    customer = fields.String(metadata={"description": "The payer's customer number."})


class InvoiceDetailOut(InvoiceOut):
    """``get_invoice``: the invoice with its payments."""

    payments = fields.List(fields.Nested(PaymentOut))
