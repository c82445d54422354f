"""Marshmallow schemas of the sales reports: the RPC arguments in, the figures out.

Arguments are validated at the edge so an error names the argument (``period``,
``end``, ``by.1``); figures leave as JSON: money and ratios as Decimal strings ("1234.50",
"0.2500"), dates as ISO dates, ratios ``null`` where there is nothing to divide by.
"""
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from sales import reports
from guanxi_common.contracts.fields import CURRENCY, StrictSchema

class _Args(StrictSchema):
    pass


class PeriodKey(fields.Field):
    """'2025' (a year), '2025-Q2' (a quarter) or '2025-05' (a month) → ``reports.Period``."""

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return reports.parse_period_key(value)
        except ValueError as error:
            raise ValidationError(str(error)) from None

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else value.key


def _owner():
    return fields.String(load_default=None, validate=validate.Length(min=1, max=64))


def _region():
    return fields.String(load_default=None, validate=validate.Length(min=1, max=40))


def _currency():
    return fields.String(load_default=reports.DEFAULT_CURRENCY, validate=CURRENCY)


class FunnelArgs(_Args):
    owner = _owner()
    region = _region()
    period = PeriodKey(load_default=None)
    currency = _currency()


class ForecastArgs(_Args):
    months = fields.Integer(load_default=6, strict=True,
                            validate=validate.Range(min=1, max=reports.MAX_FORECAST_MONTHS))
    by = fields.List(fields.String(validate=validate.OneOf(reports.FORECAST_GROUPINGS)),
                     load_default=lambda: list(reports.FORECAST_GROUPINGS))
    owner = _owner()
    region = _region()
    as_of = fields.Date(load_default=None)
    currency = _currency()


class _RangeArgs(_Args):
    start = fields.Date(required=True)
    end = fields.Date(required=True)
    period = fields.String(load_default="month", validate=validate.OneOf(reports.PERIODS))
    owner = _owner()
    region = _region()
    currency = _currency()

    @validates_schema
    def check_range(self, data, **kwargs):
        try:
            reports.periods_between(data["start"], data["end"], data["period"])
        except ValueError as error:
            raise ValidationError({"end": [str(error)]}) from None


class SalesArgs(_RangeArgs):
    by = fields.String(load_default=None, validate=validate.OneOf(reports.SALES_GROUPINGS))


class ProfitArgs(_RangeArgs):
    pass


class ReceivablesArgs(_Args):
    as_of = fields.Date(load_default=None)
    owner = _owner()
    region = _region()
    currency = _currency()


# ---- out ------------------------------------------------------------------------------------------

def Money(**kwargs):
    return fields.Decimal(as_string=True, places=2, **kwargs)


def Rate():
    """A fraction (0.2500 = 25 %) or null when there was nothing to divide by."""
    return fields.Decimal(as_string=True, allow_none=True)


class PeriodOut(Schema):
    key = fields.String()
    start = fields.Date()
    end = fields.Date()


class FunnelStageOut(Schema):
    code = fields.String()
    name = fields.String()
    position = fields.Integer()
    probability = fields.Decimal(as_string=True)
    is_won = fields.Boolean()
    is_lost = fields.Boolean()
    count = fields.Integer()
    value = Money()
    weighted_value = Money()
    reached = fields.Integer(allow_none=True)      # null for the lost stage (not in the chain)
    avg_days = fields.Decimal(as_string=True, allow_none=True)  # null for won/lost or no finished stay


class ConversionOut(Schema):
    from_ = fields.String(attribute="from", data_key="from")
    to = fields.String()
    rate = Rate()


class FunnelTotalOut(Schema):
    count = fields.Integer()
    value = Money()
    weighted_value = Money()


class FunnelOut(Schema):
    currency = fields.String()
    owner = fields.String(allow_none=True)
    region = fields.String(allow_none=True)
    period = fields.Nested(PeriodOut, allow_none=True)
    stages = fields.List(fields.Nested(FunnelStageOut))
    conversion = fields.List(fields.Nested(ConversionOut))
    open = fields.Integer()
    won = fields.Integer()
    lost = fields.Integer()
    win_rate = Rate()
    unknown_stage = fields.Integer()
    total = fields.Nested(FunnelTotalOut)


class KeyWeightedOut(Schema):
    key = fields.String(allow_none=True)
    weighted = Money()


class CountWeightedOut(Schema):
    count = fields.Integer()
    weighted = Money()


class WindowOut(Schema):
    start = fields.Date()
    end = fields.Date()


class ForecastOut(Schema):
    currency = fields.String()
    as_of = fields.Date()
    months = fields.Integer()
    owner = fields.String(allow_none=True)
    region = fields.String(allow_none=True)
    window = fields.Nested(WindowOut)
    total = Money()
    count = fields.Integer()
    overdue = fields.Nested(CountWeightedOut)
    unscheduled = fields.Nested(CountWeightedOut)
    by_month = fields.List(fields.Nested(KeyWeightedOut))
    by_owner = fields.List(fields.Nested(KeyWeightedOut))
    by_region = fields.List(fields.Nested(KeyWeightedOut))


class SeriesOut(Schema):
    period = fields.String()
    start = fields.Date()
    end = fields.Date()
    value = Money()
    orders = fields.Integer()
    mom = Rate()
    yoy = Rate()


class SalesGroupOut(Schema):
    key = fields.String(allow_none=True)
    label = fields.String(allow_none=True)
    total = Money()
    orders = fields.Integer()
    series = fields.List(fields.Nested(SeriesOut))


class SalesOut(Schema):
    currency = fields.String()
    period = fields.String()
    start = fields.Date()
    end = fields.Date()
    by = fields.String(allow_none=True)
    owner = fields.String(allow_none=True)
    region = fields.String(allow_none=True)
    series = fields.List(fields.Nested(SeriesOut))
    total = Money()
    orders = fields.Integer()
    groups = fields.List(fields.Nested(SalesGroupOut))


class ContributionOut(Schema):
    period = fields.String()
    revenue = Money()
    cost = Money()
    contribution = Money()
    margin_rate = Rate()
    orders = fields.Integer()


class CustomerContributionOut(ContributionOut):
    customer_id = fields.String()
    number = fields.String(allow_none=True)
    name = fields.String(allow_none=True)
    cost_unknown_lines = fields.Integer()
    periods = fields.List(fields.Nested(ContributionOut))


class ProfitOut(Schema):
    currency = fields.String()
    period = fields.String()
    start = fields.Date()
    end = fields.Date()
    recognition = fields.String()
    owner = fields.String(allow_none=True)
    region = fields.String(allow_none=True)
    customers = fields.List(fields.Nested(CustomerContributionOut))
    totals = fields.Nested(ContributionOut)
    by_period = fields.List(fields.Nested(ContributionOut))


class BucketOut(Schema):
    bucket = fields.String()
    amount = Money()
    invoices = fields.Integer()


class OwnerAgeingOut(Schema):
    owner = fields.String(allow_none=True)
    buckets = fields.List(fields.Nested(BucketOut))
    total = Money()
    invoices = fields.Integer()


class AgeingOut(Schema):
    as_of = fields.Date()
    currency = fields.String()
    owner = fields.String(allow_none=True)
    region = fields.String(allow_none=True)
    buckets = fields.List(fields.Nested(BucketOut))
    total = Money()
    invoices = fields.Integer()
    by_owner = fields.List(fields.Nested(OwnerAgeingOut))


class ArrearsInvoiceOut(Schema):
    number = fields.String()
    order_number = fields.String()
    issue_date = fields.Date()
    due_date = fields.Date()
    amount = Money()
    outstanding = Money()
    days_overdue = fields.Integer()
    dunning_level = fields.Integer()


class ArrearsCustomerOut(Schema):
    customer_id = fields.String()
    number = fields.String()
    name = fields.String()
    amount = Money()
    days_overdue = fields.Integer()
    dunning_level = fields.Integer()
    dunning_label = fields.String()
    dunning_label_zh = fields.String()
    invoices = fields.List(fields.Nested(ArrearsInvoiceOut))


class ArrearsOwnerOut(Schema):
    owner = fields.String(allow_none=True)
    customers = fields.List(fields.Nested(ArrearsCustomerOut))
    total = Money()


class ArrearsOut(Schema):
    as_of = fields.Date()
    currency = fields.String()
    owner = fields.String(allow_none=True)
    region = fields.String(allow_none=True)
    owners = fields.List(fields.Nested(ArrearsOwnerOut))
    total = Money()
