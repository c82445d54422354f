"""Orders: place, change lines, release from credit hold, cancel, ship, close; the order
record. The partner and document references (``sold_to`` ... ``payer``, customer numbers)
are filled in by the service, which knows its replica."""
from decimal import Decimal

from marshmallow import Schema, fields, validate

from guanxi_common.contracts.enums import CREDIT_OUTCOMES, ORDER_STATES
from guanxi_common.contracts.fields import (CURRENCY, StrictSchema, WireDateTime,
                                            currency_places, fraction_in, money_in, money_out, page_schema, quantity_in,
                                            rate_out)
from guanxi_common.contracts.sales.references import (IDEMPOTENCY_KEY, ORDER_REASON_MAX, OWNER,
                                                      REF)

ORDER_LINES_MAX = 200
OrderPage = page_schema(default_size=20, max_size=200, name="OrderPage")


# ---- input ------------------------------------------------------------------------------------

class OrderLineIn(StrictSchema):
    product = fields.String(required=True, validate=REF,
                            metadata={"description": "SKU or product id."})
    quantity = quantity_in(required=True)
    discount = fraction_in(load_default=Decimal("0"))
    unit_price = money_in(load_default=None, allow_none=True,
                          metadata={"description": "Only on an order made from a quote."})


def _order_lines(**kwargs):
    return fields.List(fields.Nested(OrderLineIn), required=True,
                       validate=validate.Length(min=1, max=ORDER_LINES_MAX), **kwargs)


def _party_ref():
    return fields.String(load_default=None, allow_none=True, validate=REF,
                         metadata={"description": "Default the sold-to."})


class PlaceOrderSchema(StrictSchema):
    sold_to = fields.String(required=True, validate=REF)
    ship_to = _party_ref()
    bill_to = _party_ref()
    payer = _party_ref()
    lines = _order_lines()
    currency = fields.String(load_default="CNY", validate=CURRENCY)
    quote_id = fields.String(load_default=None, allow_none=True, validate=REF)
    idempotency_key = fields.String(load_default=None, allow_none=True, validate=IDEMPOTENCY_KEY)

    check_places = currency_places("lines.unit_price")


class OrderLinesSchema(StrictSchema):
    """``change_order_lines``: the complete new set of lines."""

    lines = _order_lines(metadata={"description": "The complete new set of lines."})


class ReasonSchema(StrictSchema):
    """``release_order`` / ``cancel_order(ref, reason)``'s reason."""

    reason = fields.String(required=True, validate=validate.Length(min=1, max=ORDER_REASON_MAX))


class CloseSchema(StrictSchema):
    """``close_order(ref, reason=None)``'s reason."""

    reason = fields.String(allow_none=True, validate=validate.Length(min=1, max=ORDER_REASON_MAX))


class OrderFilters(StrictSchema):
    status = fields.String(validate=validate.OneOf(ORDER_STATES))
    customer = fields.String(validate=REF,
                             metadata={"description": "A partner in any function."})
    owner = fields.String(validate=OWNER, metadata={"description": "The sold-to's owner."})


class OrderCriteriaSchema(OrderFilters, OrderPage):
    """``list_orders`` criteria: the filters and the page."""


# ---- output -----------------------------------------------------------------------------------

class OrderLineOut(Schema):
    position = fields.Integer()
    product_id = fields.String()
    sku = fields.String()
    description = fields.String(allow_none=True)
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
    actor_id = fields.String(allow_none=True)
    request_id = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    at = WireDateTime()


class CreditOut(Schema):
    outcome = fields.String(metadata={"enum": list(CREDIT_OUTCOMES)})
    exposure = money_out(allow_none=True)
    limit = money_out(allow_none=True)
    note = fields.String(allow_none=True)
    released_by = fields.String(allow_none=True)
    released_at = WireDateTime(allow_none=True)
    release_reason = fields.String(allow_none=True)


class PartyOut(Schema):
    id = fields.String()
    number = fields.String()
    name = fields.String(allow_none=True)


#: the order's four parties, each ``{"id", "number", "name"}``
PARTY_FIELDS = ("sold_to", "ship_to", "bill_to", "payer")


class OrderOut(Schema):
    id = fields.String()
    number = fields.String()
    status = fields.String(metadata={"enum": list(ORDER_STATES)})
    owner_id = fields.String(allow_none=True)
    region = fields.String(allow_none=True)
    quote_id = fields.String(allow_none=True)
    currency = fields.String()
    net = money_out()
    tax = money_out()
    gross = money_out()
    cost = money_out()
    margin = money_out()
    credit = fields.Nested(CreditOut)
    lines = fields.List(fields.Nested(OrderLineOut))
    transitions = fields.List(fields.Nested(TransitionOut))
    ordered_at = WireDateTime()
    created_by = fields.String(allow_none=True)
    version = fields.Integer()
    created_at = WireDateTime()
    updated_at = WireDateTime()
    sold_to = fields.Nested(PartyOut)
    ship_to = fields.Nested(PartyOut)
    bill_to = fields.Nested(PartyOut)
    payer = fields.Nested(PartyOut)


class OrderSummaryOut(Schema):
    """A row of ``list_orders``."""

    id = fields.String()
    number = fields.String()
    status = fields.String(metadata={"enum": list(ORDER_STATES)})
    owner_id = fields.String(allow_none=True)
    region = fields.String(allow_none=True)
    currency = fields.String()
    net = money_out()
    gross = money_out()
    margin = money_out()
    credit_outcome = fields.String()
    ordered_at = WireDateTime()
    version = fields.Integer()
    sold_to = fields.String(allow_none=True, metadata={"description": "Customer number."})
    payer = fields.String(allow_none=True, metadata={"description": "Customer number."})
