"""Marshmallow schemas of the sales endpoints (``gateway.api.sales`` and
``gateway.api.reports``): request bodies and query strings in, answers out.

The same classes check requests, dump answers and make the OpenAPI document
(``gateway.http.endpoint``), so the document cannot drift from what is served.

**In.** The bodies mirror the sales service's input contract (docs/rpc/sales.md): unknown
fields refused, money at most 2 decimals, rates fractions below 1 with at most 4
decimals, quantities at most 3 decimals, times ISO 8601 *with an offset*. Checking here
gives the client a 422 naming the field without a round trip; the service checks again.
What a view sends on is :func:`wire` of the loaded body: decimals as written
(``"10"`` stays ``"10"``, so an idempotent retry hashes the same), times and dates ISO.

**Out.** Values arrive over RPC as JSON, so dates and times are already strings: they are
dumped with :func:`date_time` / :func:`date` (``fields.String`` with an OpenAPI
``format``), never ``fields.DateTime``/``fields.Date``, which cannot dump strings. Money
and rates are ``fields.Decimal(as_string=True)``: the service's decimal strings are
normalised to the contract's places (``"0.13"`` right after a create reads ``"0.1300"``
like every later read) and documented as ``string``/``decimal`` patterns.
"""
from datetime import date as _date
from datetime import datetime as _datetime
from decimal import Decimal, InvalidOperation

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

CURRENCY = validate.Regexp(r"^[A-Z]{3}$", error="must be an ISO 4217 code such as CNY")
REF = validate.Length(min=1, max=40)
CUSTOMER_REF = validate.Length(min=1, max=36)
OWNER = validate.Length(min=1, max=64)
ORDER_STATES = ("credit_hold", "confirmed", "shipped", "invoiced", "paid", "closed",
                "cancelled")
INVOICE_STATUSES = ("open", "partially_paid", "paid")
OPPORTUNITY_STATUSES = ("open", "won", "lost")
QUOTE_STATUSES = ("draft", "sent", "accepted", "rejected", "expired")
ACTIVITY_KINDS = ("call", "visit", "meeting", "task")
ACTIVITY_OUTCOMES = ("completed", "no_answer", "follow_up", "not_interested", "rescheduled",
                     "cancelled")
PAYMENT_METHODS = ("bank_transfer", "cash", "cheque", "card", "alipay", "wechat_pay",
                   "acceptance_bill", "other")
REPORT_PERIODS = ("month", "quarter", "year")
FORECAST_GROUPINGS = ("month", "owner", "region")
SALES_GROUPINGS = ("owner", "product", "region")
MAX_FORECAST_MONTHS = 36


# ---- helpers ----------------------------------------------------------------------------

def wire(value):
    """A loaded body as JSON for the RPC: decimals as written, dates/times ISO 8601."""
    if isinstance(value, dict):
        return {key: wire(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [wire(item) for item in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (_datetime, _date)):
        return value.isoformat()
    return value


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


def _places(limit):
    quantum = Decimal(1).scaleb(-limit)

    def check(value):
        if value is None:
            return
        try:
            exact = value == value.quantize(quantum)
        except InvalidOperation:  # more digits than a decimal context holds (28)
            raise ValidationError("too large") from None
        if not exact:
            raise ValidationError(f"at most {limit} decimal places")
    return check


def money_in(positive=False, **kwargs):
    """Money in: 0 or more (more than 0 when ``positive``), at most 2 decimals."""
    kwargs.setdefault("metadata", {"description": "Decimal string, at most 2 places."})
    return fields.Decimal(as_string=True, allow_nan=False,
                          validate=[validate.Range(min=0, min_inclusive=not positive),
                                    _places(2)], **kwargs)


def quantity_in(**kwargs):
    return fields.Decimal(as_string=True, allow_nan=False,
                          validate=[validate.Range(min=0, min_inclusive=False), _places(3)],
                          metadata={"description": "More than 0, at most 3 places."}, **kwargs)


def fraction_in(**kwargs):
    return fields.Decimal(as_string=True, allow_nan=False,
                          validate=[validate.Range(min=0, max=1, max_inclusive=False),
                                    _places(4)],
                          metadata={"description": "A fraction: 0.13 for 13 %."}, **kwargs)


def aware(**kwargs):
    """A time in: ISO 8601 with an offset (naive times are refused)."""
    return fields.AwareDateTime(default_timezone=None, **kwargs)


def money(**kwargs):
    return fields.Decimal(as_string=True, places=2, **kwargs)


def rate(**kwargs):
    return fields.Decimal(as_string=True, places=4, **kwargs)


def decimal(**kwargs):
    return fields.Decimal(as_string=True, **kwargs)


def date_time(**kwargs):
    """A UTC ISO 8601 time out (a string already: dumped as is)."""
    return fields.String(metadata={"format": "date-time"}, **kwargs)


def date(**kwargs):
    return fields.String(metadata={"format": "date"}, **kwargs)


# ---- products ---------------------------------------------------------------------------

class ProductCreateSchema(StrictSchema):
    sku = fields.String(required=True, validate=REF,
                        metadata={"description": "Stored trimmed and upper-case; unique."})
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    unit = fields.String(validate=validate.Length(min=1, max=20),
                         metadata={"description": "Default pcs."})
    currency = fields.String(validate=CURRENCY, metadata={"description": "Default CNY."})
    list_price = money_in(required=True)
    unit_cost = money_in(allow_none=True, metadata={"description": "Null: unknown."})
    tax_rate = fraction_in()
    active = fields.Boolean()


class ProductUpdateSchema(ProductCreateSchema):
    """Any product fields; only those sent change (PATCH)."""


class ProductQuerySchema(Schema):
    q = fields.String(validate=validate.Length(min=1, max=100),
                      metadata={"description": "SKU or name fragment, any case."})
    active = fields.String(load_default="true", validate=validate.OneOf(["true", "false", "all"]),
                           metadata={"description": "Active products (default), inactive "
                                                    "ones, or all."})


class ProductSchema(Schema):
    id = fields.String()
    sku = fields.String()
    name = fields.String()
    unit = fields.String()
    currency = fields.String()
    list_price = money()
    unit_cost = money(allow_none=True)
    tax_rate = rate()
    active = fields.Boolean()
    created_at = date_time()
    updated_at = date_time()


# ---- pipeline and opportunities ---------------------------------------------------------

class StageSchema(Schema):
    code = fields.String()
    name = fields.String()
    position = fields.Integer()
    probability = rate()
    is_won = fields.Boolean()
    is_lost = fields.Boolean()


class OpportunityCreateSchema(StrictSchema):
    customer = fields.String(required=True, validate=CUSTOMER_REF)
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    amount = money_in(required=True)
    currency = fields.String(validate=CURRENCY)
    expected_close = fields.Date(allow_none=True)
    owner_id = fields.String(allow_none=True, validate=OWNER,
                             metadata={"description": "Default the caller; another owner "
                                                      "needs sales_manager."})
    source_campaign_id = fields.String(allow_none=True, validate=CUSTOMER_REF)
    source_text = fields.String(allow_none=True, validate=validate.Length(max=200))


class OpportunityQuerySchema(Schema):
    owner_id = fields.String(validate=OWNER)
    stage = fields.String(validate=validate.Length(min=1, max=30))
    status = fields.String(validate=validate.OneOf(OPPORTUNITY_STATUSES))
    customer = fields.String(validate=CUSTOMER_REF)
    region = fields.String(validate=validate.Length(min=1, max=40))


class StageMoveSchema(StrictSchema):
    stage = fields.String(required=True, validate=validate.Length(min=1, max=30))
    lost_reason = fields.String(allow_none=True, validate=validate.Length(min=1, max=2000),
                                metadata={"description": "Required for a lost stage."})


class ReasonSchema(StrictSchema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class LoseSchema(StrictSchema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class StageChangeSchema(Schema):
    stage = fields.String()
    entered_at = date_time()
    actor_id = fields.String(allow_none=True)


class OpportunitySummarySchema(Schema):
    id = fields.String()
    number = fields.String()
    customer_id = fields.String()
    owner_id = fields.String(allow_none=True)
    title = fields.String()
    amount = money()
    currency = fields.String()
    expected_close = date(allow_none=True)
    source_campaign_id = fields.String(allow_none=True)
    source_text = fields.String(allow_none=True)
    stage = fields.String()
    status = fields.String(metadata={"enum": list(OPPORTUNITY_STATUSES)})
    lost_reason = fields.String(allow_none=True)
    closed_at = date_time(allow_none=True)
    region = fields.String(allow_none=True)
    version = fields.Integer()
    created_at = date_time()
    updated_at = date_time()


class OpportunitySchema(OpportunitySummarySchema):
    stage_history = fields.List(fields.Nested(StageChangeSchema))


# ---- quotes -----------------------------------------------------------------------------

class QuoteLineInSchema(StrictSchema):
    product = fields.String(required=True, validate=REF,
                            metadata={"description": "SKU or product id."})
    quantity = quantity_in(required=True)
    unit_price = money_in(allow_none=True, metadata={"description": "Default the list price."})
    discount = fraction_in()
    description = fields.String(allow_none=True, validate=validate.Length(max=200))


class QuoteCreateSchema(StrictSchema):
    customer = fields.String(required=True, validate=CUSTOMER_REF)
    opportunity = fields.String(allow_none=True, validate=CUSTOMER_REF)
    currency = fields.String(validate=CURRENCY)
    valid_until = fields.Date(allow_none=True,
                              metadata={"description": "Default today (Asia/Shanghai) + 30 days."})
    lines = fields.List(fields.Nested(QuoteLineInSchema), required=True,
                        validate=validate.Length(min=1, max=500))


class PartnersSchema(StrictSchema):
    ship_to = fields.String(allow_none=True, validate=validate.Length(max=36))
    bill_to = fields.String(allow_none=True, validate=validate.Length(max=36))
    payer = fields.String(allow_none=True, validate=validate.Length(max=36))


class QuoteAcceptSchema(StrictSchema):
    partners = fields.Nested(PartnersSchema, allow_none=True,
                             metadata={"description": "Parties of the order other than the "
                                                      "quote's customer (default: itself)."})


class QuoteLineSchema(Schema):
    position = fields.Integer()
    product_id = fields.String()
    sku = fields.String()
    description = fields.String(allow_none=True)
    quantity = fields.Decimal(as_string=True, places=3)
    unit_price = money()
    discount = rate()
    tax_rate = rate()
    net = money()
    tax = money()
    gross = money()


class QuoteSchema(Schema):
    id = fields.String()
    number = fields.String()
    customer_id = fields.String()
    opportunity_id = fields.String(allow_none=True)
    owner_id = fields.String(allow_none=True)
    currency = fields.String()
    valid_until = date()
    status = fields.String(metadata={"enum": list(QUOTE_STATUSES)})
    net = money()
    tax = money()
    gross = money()
    order_id = fields.String(allow_none=True)
    version = fields.Integer()
    created_at = date_time()
    updated_at = date_time()
    lines = fields.List(fields.Nested(QuoteLineSchema))


class OrderRefSchema(Schema):
    id = fields.String()
    number = fields.String()
    status = fields.String(metadata={"enum": list(ORDER_STATES)})


class QuoteAcceptanceSchema(Schema):
    quote = fields.Nested(QuoteSchema)
    order = fields.Nested(OrderRefSchema)


# ---- orders -----------------------------------------------------------------------------

class OrderLineInSchema(StrictSchema):
    product = fields.String(required=True, validate=REF,
                            metadata={"description": "SKU or product id."})
    quantity = quantity_in(required=True)
    discount = fraction_in()
    unit_price = money_in(allow_none=True,
                          metadata={"description": "Only on an order made from a quote."})


class OrderCreateSchema(StrictSchema):
    sold_to = fields.String(required=True, validate=REF)
    ship_to = fields.String(allow_none=True, validate=REF,
                            metadata={"description": "Default the sold-to."})
    bill_to = fields.String(allow_none=True, validate=REF,
                            metadata={"description": "Default the sold-to."})
    payer = fields.String(allow_none=True, validate=REF,
                          metadata={"description": "Default the sold-to."})
    lines = fields.List(fields.Nested(OrderLineInSchema), required=True,
                        validate=validate.Length(min=1, max=200))
    currency = fields.String(validate=CURRENCY)
    quote_id = fields.String(allow_none=True, validate=REF)


class OrderLinesSchema(StrictSchema):
    lines = fields.List(fields.Nested(OrderLineInSchema), required=True,
                        validate=validate.Length(min=1, max=200),
                        metadata={"description": "The complete new set of lines."})


class OrderQuerySchema(Schema):
    status = fields.String(validate=validate.OneOf(ORDER_STATES))
    customer = fields.String(validate=REF,
                             metadata={"description": "A partner in any function."})
    owner = fields.String(validate=OWNER, metadata={"description": "The sold-to's owner."})


class CloseSchema(StrictSchema):
    reason = fields.String(allow_none=True, validate=validate.Length(min=1, max=500))


class PartySchema(Schema):
    id = fields.String()
    number = fields.String()
    name = fields.String(allow_none=True)


class CreditSchema(Schema):
    outcome = fields.String(metadata={"enum": ["pass", "warn", "hold"]})
    exposure = money(allow_none=True)
    limit = money(allow_none=True)
    note = fields.String(allow_none=True)
    released_by = fields.String(allow_none=True)
    released_at = date_time(allow_none=True)
    release_reason = fields.String(allow_none=True)


class OrderLineSchema(Schema):
    position = fields.Integer()
    product_id = fields.String()
    sku = fields.String()
    description = fields.String(allow_none=True)
    quantity = fields.Decimal(as_string=True, places=3)
    unit_price = money()
    discount = rate()
    tax_rate = rate()
    unit_cost = money(allow_none=True)
    net = money()
    tax = money()
    gross = money()
    cost = money()
    margin = money()


class TransitionSchema(Schema):
    from_status = fields.String(allow_none=True)
    to_status = fields.String()
    actor_id = fields.String(allow_none=True)
    request_id = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    at = date_time()


class OrderSchema(Schema):
    id = fields.String()
    number = fields.String()
    status = fields.String(metadata={"enum": list(ORDER_STATES)})
    owner_id = fields.String(allow_none=True)
    region = fields.String(allow_none=True)
    quote_id = fields.String(allow_none=True)
    currency = fields.String()
    net = money()
    tax = money()
    gross = money()
    cost = money()
    margin = money()
    credit = fields.Nested(CreditSchema)
    lines = fields.List(fields.Nested(OrderLineSchema))
    transitions = fields.List(fields.Nested(TransitionSchema))
    ordered_at = date_time()
    created_by = fields.String(allow_none=True)
    version = fields.Integer()
    created_at = date_time()
    updated_at = date_time()
    sold_to = fields.Nested(PartySchema)
    ship_to = fields.Nested(PartySchema)
    bill_to = fields.Nested(PartySchema)
    payer = fields.Nested(PartySchema)


class OrderSummarySchema(Schema):
    id = fields.String()
    number = fields.String()
    status = fields.String(metadata={"enum": list(ORDER_STATES)})
    owner_id = fields.String(allow_none=True)
    region = fields.String(allow_none=True)
    currency = fields.String()
    net = money()
    gross = money()
    margin = money()
    credit_outcome = fields.String()
    ordered_at = date_time()
    version = fields.Integer()
    sold_to = fields.String(allow_none=True, metadata={"description": "Customer number."})
    payer = fields.String(allow_none=True, metadata={"description": "Customer number."})


# ---- invoices and payments --------------------------------------------------------------

class InvoiceCreateSchema(StrictSchema):
    terms_days = fields.Integer(load_default=30, strict=True,
                                validate=validate.Range(min=0, max=365))
    issue_date = fields.Date(allow_none=True,
                             metadata={"description": "Default today (Asia/Shanghai)."})


class InvoiceQuerySchema(Schema):
    status = fields.String(validate=validate.OneOf(INVOICE_STATUSES))
    customer = fields.String(validate=REF, metadata={"description": "The payer."})
    owner = fields.String(validate=OWNER)
    overdue = fields.Boolean(metadata={"description": "True: unpaid and past due."})


class PaymentCreateSchema(StrictSchema):
    invoice = fields.String(required=True, validate=REF,
                            metadata={"description": "Invoice number or id."})
    amount = money_in(positive=True, required=True)
    currency = fields.String(allow_none=True, validate=CURRENCY)
    received_at = aware(allow_none=True, metadata={"description": "Default now."})
    method = fields.String(allow_none=True, validate=validate.OneOf(PAYMENT_METHODS))
    reference = fields.String(allow_none=True, validate=validate.Length(min=1, max=100))


class PaymentSchema(Schema):
    id = fields.String()
    number = fields.String()
    amount = money()
    currency = fields.String()
    received_at = date_time()
    method = fields.String(allow_none=True)
    reference = fields.String(allow_none=True)
    created_by = fields.String(allow_none=True)
    created_at = date_time()
    invoice = fields.String()
    order = fields.String()
    customer = fields.String()


class InvoiceSchema(Schema):
    id = fields.String()
    number = fields.String()
    owner_id = fields.String(allow_none=True)
    currency = fields.String()
    amount = money()
    paid_amount = money()
    outstanding = money()
    issue_date = date()
    terms_days = fields.Integer()
    due_date = date()
    status = fields.String(metadata={"enum": list(INVOICE_STATUSES)})
    created_at = date_time()
    order = fields.String(metadata={"description": "Order number."})
    customer = fields.String(metadata={"description": "The payer's customer number."})


class InvoiceDetailSchema(InvoiceSchema):
    payments = fields.List(fields.Nested(PaymentSchema))


# ---- activities -------------------------------------------------------------------------

class ActivityCreateSchema(StrictSchema):
    kind = fields.String(required=True, validate=validate.OneOf(ACTIVITY_KINDS))
    customer = fields.String(required=True, validate=CUSTOMER_REF)
    subject = fields.String(required=True, validate=validate.Length(min=1, max=200))
    owner_id = fields.String(allow_none=True, validate=OWNER)
    due_at = aware(allow_none=True, metadata={"description": "Plan: when it is due."})
    done_at = aware(allow_none=True, metadata={"description": "Log: when it was done."})
    outcome = fields.String(allow_none=True, validate=validate.OneOf(ACTIVITY_OUTCOMES))
    notes = fields.String(allow_none=True, validate=validate.Length(max=4000))
    opportunity = fields.String(allow_none=True, validate=CUSTOMER_REF)

    @validates_schema
    def one_time_given(self, data, **kwargs):
        if data.get("due_at") is None and data.get("done_at") is None:
            raise ValidationError({"due_at": ["due_at or done_at is required"]})
        if data.get("outcome") is not None and data.get("done_at") is None:
            raise ValidationError({"done_at": ["required with an outcome: when was it done?"]})


class ActivityCompleteSchema(StrictSchema):
    outcome = fields.String(required=True, validate=validate.OneOf(ACTIVITY_OUTCOMES))
    done_at = aware(allow_none=True, metadata={"description": "Default now."})
    notes = fields.String(allow_none=True, validate=validate.Length(max=4000))


class PlannedVisitSchema(StrictSchema):
    customer = fields.String(required=True, validate=CUSTOMER_REF)
    subject = fields.String(allow_none=True, validate=validate.Length(min=1, max=200))
    due_at = aware(allow_none=True)
    notes = fields.String(allow_none=True, validate=validate.Length(max=4000))
    opportunity = fields.String(allow_none=True, validate=CUSTOMER_REF)


class VisitPlanCreateSchema(StrictSchema):
    date = fields.Date(required=True, metadata={"description": "Office day (Asia/Shanghai)."})
    owner_id = fields.String(allow_none=True, validate=OWNER)
    notes = fields.String(allow_none=True, validate=validate.Length(max=4000))
    visits = fields.List(fields.Nested(PlannedVisitSchema), required=True,
                         validate=validate.Length(min=1, max=50))


class ActivityQuerySchema(Schema):
    owner_id = fields.String(validate=OWNER)
    customer = fields.String(validate=CUSTOMER_REF)
    kind = fields.String(validate=validate.OneOf(ACTIVITY_KINDS))
    open = fields.Boolean(metadata={"description": "True: not done; false: done."})
    opportunity = fields.String(validate=CUSTOMER_REF)
    due_from = aware()
    due_to = aware()


class AgendaQuerySchema(Schema):
    owner_id = fields.String(validate=OWNER,
                             metadata={"description": "Default the caller; another owner "
                                                      "needs sales_manager."})


class ActivitySchema(Schema):
    id = fields.String()
    kind = fields.String(metadata={"enum": list(ACTIVITY_KINDS)})
    customer_id = fields.String()
    owner_id = fields.String(allow_none=True)
    subject = fields.String()
    due_at = date_time(allow_none=True)
    done_at = date_time(allow_none=True)
    outcome = fields.String(allow_none=True)
    notes = fields.String(allow_none=True)
    opportunity_id = fields.String(allow_none=True)
    visit_plan_id = fields.String(allow_none=True)
    created_at = date_time()


class VisitPlanSchema(Schema):
    id = fields.String()
    owner_id = fields.String(allow_none=True)
    date = date()
    notes = fields.String(allow_none=True)
    created_at = date_time()
    visits = fields.List(fields.Nested(ActivitySchema))


class AgendaSchema(Schema):
    owner_id = fields.String(allow_none=True)
    date = date()
    today = fields.List(fields.Nested(ActivitySchema))
    overdue = fields.List(fields.Nested(ActivitySchema))


# ---- reports: arguments -----------------------------------------------------------------

def _owner():
    return fields.String(validate=OWNER, metadata={"description": "An owner's user id."})


def _region():
    return fields.String(validate=validate.Length(min=1, max=40))


def _currency():
    return fields.String(validate=CURRENCY, metadata={"description": "Default CNY."})


class FunnelQuerySchema(Schema):
    owner = _owner()
    region = _region()
    period = fields.String(validate=validate.Regexp(
        r"^\d{4}(-Q[1-4]|-(0[1-9]|1[0-2]))?$", error="a year (2025), quarter (2025-Q1) or "
                                                     "month (2025-03)"),
        metadata={"description": "Opportunities created in it; default all."})
    currency = _currency()


class ForecastQuerySchema(Schema):
    months = fields.Integer(validate=validate.Range(min=1, max=MAX_FORECAST_MONTHS),
                            metadata={"description": "Default 6."})
    by = fields.List(fields.String(validate=validate.OneOf(FORECAST_GROUPINGS)),
                     metadata={"description": "Repeat for several; default all three."})
    owner = _owner()
    region = _region()
    as_of = fields.Date(metadata={"description": "Default today (Asia/Shanghai)."})
    currency = _currency()


class RangeQuerySchema(Schema):
    start = fields.Date(required=True)
    end = fields.Date(required=True)
    period = fields.String(validate=validate.OneOf(REPORT_PERIODS),
                           metadata={"description": "Default month."})
    owner = _owner()
    region = _region()
    currency = _currency()

    @validates_schema
    def start_before_end(self, data, **kwargs):
        if "start" in data and "end" in data and data["end"] < data["start"]:
            raise ValidationError({"end": ["must not be before start"]})


class SalesQuerySchema(RangeQuerySchema):
    by = fields.String(validate=validate.OneOf(SALES_GROUPINGS))


class ProfitQuerySchema(RangeQuerySchema):
    pass


class ReceivablesQuerySchema(Schema):
    as_of = fields.Date(metadata={"description": "Default today (Asia/Shanghai)."})
    owner = _owner()
    region = _region()
    currency = _currency()


# ---- reports: figures -------------------------------------------------------------------

class PeriodSchema(Schema):
    key = fields.String()
    start = date()
    end = date()


class FunnelStageSchema(Schema):
    code = fields.String()
    name = fields.String()
    position = fields.Integer()
    probability = rate()
    is_won = fields.Boolean()
    is_lost = fields.Boolean()
    count = fields.Integer()
    value = money()
    weighted_value = money()
    reached = fields.Integer(allow_none=True)
    avg_days = money(allow_none=True)


class ConversionSchema(Schema):
    from_ = fields.String(attribute="from", data_key="from")
    to = fields.String()
    rate = rate(allow_none=True)


class FunnelTotalSchema(Schema):
    count = fields.Integer()
    value = money()
    weighted_value = money()


class FunnelReportSchema(Schema):
    currency = fields.String()
    owner = fields.String(allow_none=True)
    region = fields.String(allow_none=True)
    period = fields.Nested(PeriodSchema, allow_none=True)
    stages = fields.List(fields.Nested(FunnelStageSchema))
    conversion = fields.List(fields.Nested(ConversionSchema))
    open = fields.Integer()
    won = fields.Integer()
    lost = fields.Integer()
    win_rate = rate(allow_none=True)
    unknown_stage = fields.Integer()
    total = fields.Nested(FunnelTotalSchema)


class KeyWeightedSchema(Schema):
    key = fields.String(allow_none=True)
    weighted = money()


class CountWeightedSchema(Schema):
    count = fields.Integer()
    weighted = money()


class WindowSchema(Schema):
    start = date()
    end = date()


class ForecastReportSchema(Schema):
    currency = fields.String()
    as_of = date()
    months = fields.Integer()
    owner = fields.String(allow_none=True)
    region = fields.String(allow_none=True)
    window = fields.Nested(WindowSchema)
    total = money()
    count = fields.Integer()
    overdue = fields.Nested(CountWeightedSchema)
    unscheduled = fields.Nested(CountWeightedSchema)
    by_month = fields.List(fields.Nested(KeyWeightedSchema))
    by_owner = fields.List(fields.Nested(KeyWeightedSchema))
    by_region = fields.List(fields.Nested(KeyWeightedSchema))


class SeriesSchema(Schema):
    period = fields.String()
    start = date()
    end = date()
    value = money()
    orders = fields.Integer()
    mom = rate(allow_none=True)
    yoy = rate(allow_none=True)


class SalesGroupSchema(Schema):
    key = fields.String(allow_none=True)
    label = fields.String(allow_none=True)
    total = money()
    orders = fields.Integer()
    series = fields.List(fields.Nested(SeriesSchema))


class SalesReportSchema(Schema):
    currency = fields.String()
    period = fields.String()
    start = date()
    end = date()
    by = fields.String(allow_none=True)
    owner = fields.String(allow_none=True)
    region = fields.String(allow_none=True)
    series = fields.List(fields.Nested(SeriesSchema))
    total = money()
    orders = fields.Integer()
    groups = fields.List(fields.Nested(SalesGroupSchema))


class ContributionSchema(Schema):
    period = fields.String()
    revenue = money()
    cost = money()
    contribution = money()
    margin_rate = rate(allow_none=True)
    orders = fields.Integer()


class CustomerContributionSchema(ContributionSchema):
    customer_id = fields.String()
    number = fields.String(allow_none=True)
    name = fields.String(allow_none=True)
    cost_unknown_lines = fields.Integer()
    periods = fields.List(fields.Nested(ContributionSchema))


class ProfitReportSchema(Schema):
    currency = fields.String()
    period = fields.String()
    start = date()
    end = date()
    recognition = fields.String()
    owner = fields.String(allow_none=True)
    region = fields.String(allow_none=True)
    customers = fields.List(fields.Nested(CustomerContributionSchema))
    totals = fields.Nested(ContributionSchema)
    by_period = fields.List(fields.Nested(ContributionSchema))


class BucketSchema(Schema):
    bucket = fields.String(metadata={"enum": ["0-30", "31-60", "61-90", "90+"]})
    amount = money()
    invoices = fields.Integer()


class OwnerAgeingSchema(Schema):
    owner = fields.String(allow_none=True)
    buckets = fields.List(fields.Nested(BucketSchema))
    total = money()
    invoices = fields.Integer()


class AgeingReportSchema(Schema):
    as_of = date()
    currency = fields.String()
    owner = fields.String(allow_none=True)
    region = fields.String(allow_none=True)
    buckets = fields.List(fields.Nested(BucketSchema))
    total = money()
    invoices = fields.Integer()
    by_owner = fields.List(fields.Nested(OwnerAgeingSchema))


class ArrearsInvoiceSchema(Schema):
    number = fields.String()
    order_number = fields.String(allow_none=True)
    issue_date = date()
    due_date = date()
    amount = money()
    outstanding = money()
    days_overdue = fields.Integer()
    dunning_level = fields.Integer()


class ArrearsCustomerSchema(Schema):
    customer_id = fields.String()
    number = fields.String(allow_none=True)
    name = fields.String(allow_none=True)
    amount = money()
    days_overdue = fields.Integer()
    dunning_level = fields.Integer()
    dunning_label = fields.String()
    dunning_label_zh = fields.String()
    invoices = fields.List(fields.Nested(ArrearsInvoiceSchema))


class ArrearsOwnerSchema(Schema):
    owner = fields.String(allow_none=True)
    customers = fields.List(fields.Nested(ArrearsCustomerSchema))
    total = money()


class ArrearsReportSchema(Schema):
    as_of = date()
    currency = fields.String()
    owner = fields.String(allow_none=True)
    region = fields.String(allow_none=True)
    owners = fields.List(fields.Nested(ArrearsOwnerSchema))
    total = money()
