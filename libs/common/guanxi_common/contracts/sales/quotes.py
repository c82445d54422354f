"""Quotes: create, send, accept (placing the order), reject; the quote record."""
from decimal import Decimal

from marshmallow import Schema, fields, validate

from guanxi_common.contracts.enums import ORDER_STATES, QUOTE_STATUSES
from guanxi_common.contracts.fields import (CURRENCY, StrictSchema, WireDate, WireDateTime,
                                            currency_places, decimal_out, fraction_in, money_in, money_out,
                                            quantity_in)
from guanxi_common.contracts.sales.references import CUSTOMER_REF, REF

QUOTE_LINES_MAX = 500


class QuoteLineInSchema(StrictSchema):
    product = fields.String(required=True, validate=REF,
                            metadata={"description": "SKU or product id."})
    quantity = quantity_in(required=True)
    unit_price = money_in(load_default=None, allow_none=True,
                          metadata={"description": "Default the list price."})
    discount = fraction_in(load_default=Decimal("0"))
    description = fields.String(load_default=None, allow_none=True,
                                validate=validate.Length(max=200))


class QuoteCreateSchema(StrictSchema):
    customer = fields.String(required=True, validate=CUSTOMER_REF)
    opportunity = fields.String(load_default=None, allow_none=True, validate=CUSTOMER_REF)
    currency = fields.String(load_default="CNY", validate=CURRENCY)
    valid_until = fields.Date(load_default=None, allow_none=True,
                              metadata={"description": "Default today (Asia/Shanghai) + 30 days."})
    lines = fields.List(fields.Nested(QuoteLineInSchema), required=True,
                        validate=validate.Length(min=1, max=QUOTE_LINES_MAX))

    check_places = currency_places("lines.unit_price")


class QuotePartnersIn(StrictSchema):
    """Who receives, is billed for and pays the order of an accepted quote (customer refs)."""

    ship_to = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=36))
    bill_to = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=36))
    payer = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=36))


class QuoteLineOut(Schema):
    position = fields.Integer()
    product_id = fields.String()
    sku = fields.String()
    description = fields.String(allow_none=True)
    quantity = decimal_out(3)
    unit_price = money_out()
    discount = decimal_out(4)
    tax_rate = decimal_out(4)
    net = money_out()
    tax = money_out()
    gross = money_out()


class QuoteOut(Schema):
    """The quote; ``status`` is effective: an undecided quote past its validity reads
    ``expired`` (``sales.adapters.records.quote_record``)."""

    id = fields.String()
    number = fields.String()
    customer_id = fields.String()
    opportunity_id = fields.String(allow_none=True)
    owner_id = fields.String(allow_none=True)
    currency = fields.String()
    valid_until = WireDate()
    status = fields.String(metadata={"enum": list(QUOTE_STATUSES)})
    net = money_out()
    tax = money_out()
    gross = money_out()
    order_id = fields.String(allow_none=True)
    version = fields.Integer()
    created_at = WireDateTime()
    updated_at = WireDateTime()
    lines = fields.List(fields.Nested(QuoteLineOut))


class OrderRefOut(Schema):
    id = fields.String()
    number = fields.String()
    status = fields.String(metadata={"enum": list(ORDER_STATES)})


class QuoteAcceptanceOut(Schema):
    """``accept_quote``: the accepted quote and the order it placed."""

    quote = fields.Nested(QuoteOut)
    order = fields.Nested(OrderRefOut)
