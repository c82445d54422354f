"""The events sales publishes: the ``data`` of each envelope, per type and schema version.

Every key listed is always present (``required``), with ``None`` only where a field allows
it, so a consumer may rely on any key it reads; ``tests/contracts`` loads what the service
really emits into these schemas and into every consumer's schema.
"""
import copy

from marshmallow import fields, validate

from guanxi_common.contracts.enums import (ACTIVITY_KINDS, ACTIVITY_OUTCOMES, CREDIT_OUTCOMES,
                                           INVOICE_STATUSES, OPPORTUNITY_STATUSES, ORDER_STATES)
from guanxi_common.contracts.fields import CURRENCY, StrictSchema, aware, money_out
from guanxi_common.contracts.sales.billing import InvoiceOut, PaymentOut
from guanxi_common.contracts.sales.orders import OrderOut
from guanxi_common.contracts.sales.references import CUSTOMER_REF, OWNER

ID = validate.Length(min=1, max=36)
#: a logged activity that was cancelled did not happen: it is never published
FOLLOW_UP_OUTCOMES = tuple(outcome for outcome in ACTIVITY_OUTCOMES if outcome != "cancelled")


def _required(field):
    field = copy.deepcopy(field)
    field.required = True
    if isinstance(field, fields.Nested) and isinstance(field.nested, type):
        field.nested = always_present(field.nested)
    elif isinstance(field, fields.List) and isinstance(field.inner, fields.Nested):
        field.inner = copy.deepcopy(field.inner)
        field.inner.nested = always_present(field.inner.nested)
    return field


def always_present(record_schema, exclude=()):
    """A strict copy of an output schema with every field required: an event carries the
    whole record, never a part of it."""
    name = record_schema.__name__.removesuffix("Out") + "Record"
    declared = {key: _required(field) for key, field in record_schema._declared_fields.items()
                if key not in exclude}
    return type(name, (StrictSchema,), declared)


def _text(**kwargs):
    return fields.String(required=True, **kwargs)


def _nullable(**kwargs):
    return fields.String(required=True, allow_none=True, **kwargs)


def _money():
    return money_out(required=True)


# ---- opportunities ----------------------------------------------------------------------------

class _OpportunityEvent(StrictSchema):
    opportunity_id = _text(validate=ID)
    number = _text()
    customer_id = _text(validate=ID)
    owner_id = _text(validate=OWNER)
    region = _nullable()
    amount = _money()
    currency = _text(validate=CURRENCY)


class OpportunityStageChangedV1(_OpportunityEvent):
    """``opportunity.stage_changed``: every move between stages."""

    from_ = _text(data_key="from", attribute="from")
    to = _text()
    probability = fields.Decimal(as_string=True, required=True,
                                 validate=validate.Range(min=0, max=1))
    weighted_amount = _money()
    status = _text(validate=validate.OneOf(OPPORTUNITY_STATUSES))
    changed_at = aware(required=True)


class OpportunityWonV1(_OpportunityEvent):
    """``opportunity.won``: after its ``opportunity.stage_changed`` to the won stage."""

    stage = _text()
    won_at = aware(required=True)


class OpportunityLostV1(_OpportunityEvent):
    """``opportunity.lost``: after its ``opportunity.stage_changed`` to the lost stage."""

    stage = _text()
    reason = _text()
    lost_at = aware(required=True)
    lost_from = _text()


# ---- quotes -----------------------------------------------------------------------------------

class QuoteAcceptedV1(StrictSchema):
    """``quote.accepted``: the quote's totals and the order it placed."""

    quote_id = _text(validate=ID)
    number = _text()
    customer_id = _text(validate=ID)
    opportunity_id = _nullable(validate=ID)
    owner_id = _text(validate=OWNER)
    currency = _text(validate=CURRENCY)
    net = _money()
    tax = _money()
    gross = _money()
    order_id = _text(validate=ID)
    order_number = _text()
    order_status = _text(validate=validate.OneOf(ORDER_STATES))


# ---- orders -----------------------------------------------------------------------------------

#: the order as every ``order.*`` event carries it: the record without its transitions
OrderRecord = always_present(OrderOut, exclude=("transitions",))


class CreditDecisionV1(StrictSchema):
    outcome = _text(validate=validate.OneOf(CREDIT_OUTCOMES))
    exposure = fields.Decimal(as_string=True, required=True, allow_none=True)
    limit = fields.Decimal(as_string=True, required=True, allow_none=True)
    warning = _nullable()
    note = _nullable()


class _OrderEvent(StrictSchema):
    order = fields.Nested(OrderRecord, required=True)


class _CreditedOrderEvent(_OrderEvent):
    credit = fields.Nested(CreditDecisionV1, required=True)


class OrderPlacedV1(_CreditedOrderEvent):
    """``order.placed``: followed by ``order.confirmed`` or ``order.credit_held``."""


class OrderCreditHeldV1(_CreditedOrderEvent):
    """``order.credit_held``: placed on hold, or put back on hold by a rise in value."""


class OrderConfirmedV1(_CreditedOrderEvent):
    """``order.confirmed``: at placement (``released`` false) or on release (true)."""

    released = fields.Boolean(required=True)


class OrderReleasedV1(_OrderEvent):
    reason = _text()
    released_by = _text(validate=OWNER)


class OrderChangedV1(_CreditedOrderEvent):
    old_gross = _money()
    new_gross = _money()


class OrderCancelledV1(_OrderEvent):
    reason = _text()
    from_status = _text(validate=validate.OneOf(ORDER_STATES))


class OrderShippedV1(_OrderEvent):
    pass


class OrderClosedV1(_OrderEvent):
    reason = _nullable()


# ---- invoices and payments --------------------------------------------------------------------

class InvoiceIssuedV1(StrictSchema):
    invoice = fields.Nested(always_present(InvoiceOut), required=True)


class InvoiceStateV1(StrictSchema):
    id = _text(validate=ID)
    number = _text()
    status = _text(validate=validate.OneOf(INVOICE_STATUSES))
    amount = _money()
    paid_amount = _money()
    outstanding = _money()


class OrderStateV1(StrictSchema):
    id = _text(validate=ID)
    number = _text()
    status = _text(validate=validate.OneOf(ORDER_STATES))


class PaymentReceivedV1(StrictSchema):
    """``payment.received``: the payment, and its invoice and order as they are after it."""

    payment = fields.Nested(always_present(PaymentOut), required=True)
    invoice = fields.Nested(InvoiceStateV1, required=True)
    order = fields.Nested(OrderStateV1, required=True)


# ---- activities -------------------------------------------------------------------------------

class ActivityLoggedV1(StrictSchema):
    """``activity.logged``: a done activity that followed up the customer (the customer
    service restarts the customer's pool clock from it); exactly these keys."""

    customer_id = _text(validate=CUSTOMER_REF,
                        metadata={"description": "The customer's id (the replica's id)."})
    occurred_at = aware(required=True, metadata={"description": "When it was done, UTC."})
    activity_id = _text(validate=ID)
    user_id = _text(validate=OWNER, metadata={"description": "The owner who did it."})
    kind = _text(validate=validate.OneOf(ACTIVITY_KINDS))
    outcome = _text(validate=validate.OneOf(FOLLOW_UP_OUTCOMES))


#: event type -> schema_version -> the schema of its ``data``
PUBLISHED_EVENTS = {
    "opportunity.stage_changed": {1: OpportunityStageChangedV1},
    "opportunity.won": {1: OpportunityWonV1},
    "opportunity.lost": {1: OpportunityLostV1},
    "quote.accepted": {1: QuoteAcceptedV1},
    "order.placed": {1: OrderPlacedV1},
    "order.credit_held": {1: OrderCreditHeldV1},
    "order.confirmed": {1: OrderConfirmedV1},
    "order.released": {1: OrderReleasedV1},
    "order.changed": {1: OrderChangedV1},
    "order.cancelled": {1: OrderCancelledV1},
    "order.shipped": {1: OrderShippedV1},
    "order.closed": {1: OrderClosedV1},
    "invoice.issued": {1: InvoiceIssuedV1},
    "payment.received": {1: PaymentReceivedV1},
    "activity.logged": {1: ActivityLoggedV1},
}
