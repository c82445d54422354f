"""The sales reports: their arguments in, their figures out.

Arguments are validated at the edge so an error names the argument (``period``, ``end``,
``by.1``); one left out takes the report's default; figures leave as JSON: money and ratios as Decimal strings ("1234.50",
"0.2500"), dates as ISO dates, ratios ``null`` where there is nothing to divide by.
"""
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from guanxi_common.contracts.enums import AGEING_BUCKETS
from guanxi_common.contracts.fields import CURRENCY, StrictSchema, WireDate, money_out, rate_out
from guanxi_common.contracts.sales.periods import (PERIOD_KEY_PATTERN, PERIODS, parse_period_key,
                                                   periods_between)
from guanxi_common.contracts.sales.references import OWNER, REGION

DEFAULT_CURRENCY = "CNY"
SALES_GROUPINGS = ("owner", "product", "region")
FORECAST_GROUPINGS = ("month", "owner", "region")
DEFAULT_FORECAST_MONTHS = 6
MAX_FORECAST_MONTHS = 36


class PeriodKey(fields.String):
    """'2025' (a year), '2025-Q2' (a quarter) or '2025-05' (a month) → a ``Period``."""

    def __init__(self, **kwargs):
        metadata = {"pattern": PERIOD_KEY_PATTERN, **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return parse_period_key(value)
        except ValueError as error:
            raise ValidationError(str(error)) from None

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None or isinstance(value, str):
            return value
        return value.key


def _owner():
    return fields.String(validate=OWNER, metadata={"description": "An owner's user id."})


def _region():
    return fields.String(validate=REGION)


def _currency():
    return fields.String(load_default=DEFAULT_CURRENCY, validate=CURRENCY,
                         metadata={"description": "Default CNY."})


def _as_of():
    return fields.Date(metadata={"description": "Default today (Asia/Shanghai)."})


class FunnelArgs(StrictSchema):
    owner = _owner()
    region = _region()
    period = PeriodKey(metadata={"description": "Opportunities created in it; default all."})
    currency = _currency()


class ForecastArgs(StrictSchema):
    months = fields.Integer(load_default=DEFAULT_FORECAST_MONTHS, strict=True,
                            validate=validate.Range(min=1, max=MAX_FORECAST_MONTHS),
                            metadata={"description": "Default 6."})
    by = fields.List(fields.String(validate=validate.OneOf(FORECAST_GROUPINGS)),
                     load_default=lambda: list(FORECAST_GROUPINGS),
                     validate=validate.Length(max=len(FORECAST_GROUPINGS)),
                     metadata={"description": "Repeat for several; default all three."})
    owner = _owner()
    region = _region()
    as_of = _as_of()
    currency = _currency()


class _RangeArgs(StrictSchema):
    start = fields.Date(required=True)
    end = fields.Date(required=True)
    period = fields.String(load_default="month", validate=validate.OneOf(PERIODS),
                           metadata={"description": "Default month."})
    owner = _owner()
    region = _region()
    currency = _currency()

    @validates_schema
    def check_range(self, data, **kwargs):
        try:
            periods_between(data["start"], data["end"], data["period"])
        except ValueError as error:
            raise ValidationError({"end": [str(error)]}) from None


class SalesArgs(_RangeArgs):
    by = fields.String(validate=validate.OneOf(SALES_GROUPINGS))


class ProfitArgs(_RangeArgs):
    pass


class ReceivablesArgs(StrictSchema):
    as_of = _as_of()
    owner = _owner()
    region = _region()
    currency = _currency()


# ---- out ------------------------------------------------------------------------------------------

def _rate():
    """A fraction (0.2500 = 25 %) or null when there was nothing to divide by."""
    return rate_out(allow_none=True)


class PeriodOut(Schema):
    key = fields.String()
    start = WireDate()
    end = WireDate()


class FunnelStageOut(Schema):
    code = fields.String()
    name = fields.String()
    position = fields.Integer()
    probability = rate_out()
    is_won = fields.Boolean()
    is_lost = fields.Boolean()
    count = fields.Integer()
    value = money_out()
    weighted_value = money_out()
    reached = fields.Integer(allow_none=True)      # null for the lost stage (not in the chain)
    # null for won/lost or no finished stay
    avg_days = fields.Decimal(as_string=True, places=2, allow_none=True)


class ConversionOut(Schema):
    from_ = fields.String(attribute="from", data_key="from")
    to = fields.String()
    rate = _rate()


class FunnelTotalOut(Schema):
    count = fields.Integer()
    value = money_out()
    weighted_value = money_out()


class FunnelReportOut(Schema):
    currency = fields.String()
    owner = fields.String(allow_none=True)
    region = fields.String(allow_none=True)
    period = fields.Nested(PeriodOut, allow_none=True)
    stages = fields.List(fields.Nested(FunnelStageOut))
    conversion = fields.List(fields.Nested(ConversionOut))
    open = fields.Integer()
    won = fields.Integer()
    lost = fields.Integer()
    win_rate = _rate()
    unknown_stage = fields.Integer()
    total = fields.Nested(FunnelTotalOut)


class KeyWeightedOut(Schema):
    key = fields.String(allow_none=True)
    weighted = money_out()


class CountWeightedOut(Schema):
    count = fields.Integer()
    weighted = money_out()


class WindowOut(Schema):
    start = WireDate()
    end = WireDate()


class ForecastReportOut(Schema):
    currency = fields.String()
    as_of = WireDate()
    months = fields.Integer()
    owner = fields.String(allow_none=True)
    region = fields.String(allow_none=True)
    window = fields.Nested(WindowOut)
    total = money_out()
    count = fields.Integer()
    overdue = fields.Nested(CountWeightedOut)
    unscheduled = fields.Nested(CountWeightedOut)
    by_month = fields.List(fields.Nested(KeyWeightedOut))
    by_owner = fields.List(fields.Nested(KeyWeightedOut))
    by_region = fields.List(fields.Nested(KeyWeightedOut))


class SeriesOut(Schema):
    period = fields.String()
    start = WireDate()
    end = WireDate()
    value = money_out()
    orders = fields.Integer()
    mom = _rate()
    yoy = _rate()


class SalesGroupOut(Schema):
    key = fields.String(allow_none=True)
    label = fields.String(allow_none=True)
    total = money_out()
    orders = fields.Integer()
    series = fields.List(fields.Nested(SeriesOut))


class SalesReportOut(Schema):
    currency = fields.String()
    period = fields.String()
    start = WireDate()
    end = WireDate()
    by = fields.String(allow_none=True)
    owner = fields.String(allow_none=True)
    region = fields.String(allow_none=True)
    series = fields.List(fields.Nested(SeriesOut))
    total = money_out()
    orders = fields.Integer()
    groups = fields.List(fields.Nested(SalesGroupOut))


class ContributionOut(Schema):
    period = fields.String()
    revenue = money_out()
    cost = money_out()
    contribution = money_out()
    margin_rate = _rate()
    orders = fields.Integer()


class CustomerContributionOut(ContributionOut):
    customer_id = fields.String()
    number = fields.String(allow_none=True)
    name = fields.String(allow_none=True)
    cost_unknown_lines = fields.Integer()
    periods = fields.List(fields.Nested(ContributionOut))


class ProfitReportOut(Schema):
    currency = fields.String()
    period = fields.String()
    start = WireDate()
    end = WireDate()
    recognition = fields.String()
    owner = fields.String(allow_none=True)
    region = fields.String(allow_none=True)
    customers = fields.List(fields.Nested(CustomerContributionOut))
    totals = fields.Nested(ContributionOut)
    by_period = fields.List(fields.Nested(ContributionOut))


class BucketOut(Schema):
    bucket = fields.String(metadata={"enum": list(AGEING_BUCKETS)})
    amount = money_out()
    invoices = fields.Integer()


class OwnerAgeingOut(Schema):
    owner = fields.String(allow_none=True)
    buckets = fields.List(fields.Nested(BucketOut))
    total = money_out()
    invoices = fields.Integer()


class AgeingReportOut(Schema):
    as_of = WireDate()
    currency = fields.String()
    owner = fields.String(allow_none=True)
    region = fields.String(allow_none=True)
    buckets = fields.List(fields.Nested(BucketOut))
    total = money_out()
    invoices = fields.Integer()
    by_owner = fields.List(fields.Nested(OwnerAgeingOut))


class ArrearsInvoiceOut(Schema):
    number = fields.String()
    order_number = fields.String(allow_none=True)
    issue_date = WireDate()
    due_date = WireDate()
    amount = money_out()
    outstanding = money_out()
    days_overdue = fields.Integer()
    dunning_level = fields.Integer()


class ArrearsCustomerOut(Schema):
    customer_id = fields.String()
    number = fields.String(allow_none=True)
    name = fields.String(allow_none=True)
    amount = money_out()
    days_overdue = fields.Integer()
    dunning_level = fields.Integer()
    dunning_label = fields.String()
    dunning_label_zh = fields.String()
    invoices = fields.List(fields.Nested(ArrearsInvoiceOut))


class ArrearsOwnerOut(Schema):
    owner = fields.String(allow_none=True)
    customers = fields.List(fields.Nested(ArrearsCustomerOut))
    total = money_out()


class ArrearsReportOut(Schema):
    as_of = WireDate()
    currency = fields.String()
    owner = fields.String(allow_none=True)
    region = fields.String(allow_none=True)
    owners = fields.List(fields.Nested(ArrearsOwnerOut))
    total = money_out()
