"""HTTP schemas of the sales endpoints (``gateway.api.sales`` and ``gateway.api.reports``).

The sales service's contract (``guanxi_common.contracts.sales``) is the schema of every
body, query and answer here, so a request is refused at the edge with the field errors the
service would give, and the OpenAPI document describes what the service takes and gives.
What this module adds is HTTP only:

- bodies without what travels elsewhere (the ``Idempotency-Key`` header, not a field) and
  the bodies of endpoints whose RPC takes plain arguments (``QuoteAcceptSchema``);
- query strings: text, so a number is parsed rather than required as a JSON integer, and
  ``active`` of the product list is ``true``/``false``/``all``;
- answers (:func:`http_view`): the contract's output schemas, dumped again over the JSON the
  RPC returned (they pass dates and times through), with decimals padded to the places the
  contract declares (``"0.13"`` right after a create reads ``"0.1300"`` like every later
  read) and components named as the API has always named them (``Order``, ``QuoteLine``).

What a view sends on is :func:`wire` of the loaded body: decimals as written (``"10"``
stays ``"10"``, so an idempotent retry hashes the same), times and dates ISO.
"""
import copy
import functools
from datetime import date as _date
from datetime import datetime as _datetime
from decimal import Decimal

from marshmallow import fields, validate

from guanxi_common.contracts.fields import StrictSchema
from guanxi_common.contracts.sales import activities, billing, opportunities, orders, products
from guanxi_common.contracts.sales import quotes, reports

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


def _field_view(field):
    if isinstance(field, fields.Nested) and isinstance(field.nested, type):
        view = copy.deepcopy(field)
        view.nested = http_view(field.nested)
        return view
    if isinstance(field, fields.List) and isinstance(field.inner, fields.Nested):
        view = copy.deepcopy(field)
        view.inner = _field_view(field.inner)
        return view
    if isinstance(field, fields.Decimal) and field.places is None and "places" in field.metadata:
        view = copy.deepcopy(field)
        view.places = Decimal((0, (1,), -field.metadata["places"]))
        return view
    return field


@functools.lru_cache(maxsize=None)
def http_view(contract_schema):
    """The answer schema of a contract output schema ``<Name>Out``: ``<Name>Schema``
    (component ``<Name>``), its decimals padded to their declared places, its nested
    schemas viewed the same way."""
    overrides = {key: view for key, field in contract_schema._declared_fields.items()
                 if (view := _field_view(field)) is not field}
    name = contract_schema.__name__.removesuffix("Out") + "Schema"
    return type(name, (contract_schema,), {"__doc__": contract_schema.__doc__, **overrides})


# ---- products ---------------------------------------------------------------------------

ProductCreateSchema = products.ProductCreateSchema
ProductUpdateSchema = products.ProductUpdateSchema
PRODUCT_PAGE_MAX = products.PRODUCT_PAGE_MAX


class ProductQuerySchema(products.ProductFilters):
    active = fields.String(load_default="true", validate=validate.OneOf(["true", "false", "all"]),
                           metadata={"description": "Active products (default), inactive "
                                                    "ones, or all."})


ProductSchema = http_view(products.ProductOut)

# ---- pipeline and opportunities ---------------------------------------------------------

StageSchema = http_view(opportunities.StageOut)
OpportunityCreateSchema = opportunities.OpportunityCreateSchema
OpportunityQuerySchema = opportunities.OpportunityFilters
StageMoveSchema = opportunities.StageMoveSchema
LoseSchema = opportunities.LoseSchema
OpportunitySummarySchema = http_view(opportunities.OpportunitySummaryOut)
OpportunitySchema = http_view(opportunities.OpportunityOut)

# ---- quotes -----------------------------------------------------------------------------

QuoteCreateSchema = quotes.QuoteCreateSchema


class PartnersSchema(quotes.QuotePartnersIn):
    """Who receives, is billed for and pays the order (customer numbers or ids)."""


class QuoteAcceptSchema(StrictSchema):
    partners = fields.Nested(PartnersSchema, allow_none=True,
                             metadata={"description": "Parties of the order other than the "
                                                      "quote's customer (default: itself)."})


QuoteSchema = http_view(quotes.QuoteOut)
QuoteAcceptanceSchema = http_view(quotes.QuoteAcceptanceOut)

# ---- orders -----------------------------------------------------------------------------


class OrderCreateSchema(orders.PlaceOrderSchema):
    """The order; a retry key travels as the ``Idempotency-Key`` header."""

    class Meta(orders.PlaceOrderSchema.Meta):
        exclude = ("idempotency_key",)


OrderLinesSchema = orders.OrderLinesSchema
OrderQuerySchema = orders.OrderFilters
ReasonSchema = orders.ReasonSchema
CloseSchema = orders.CloseSchema
OrderSchema = http_view(orders.OrderOut)
OrderSummarySchema = http_view(orders.OrderSummaryOut)

# ---- invoices and payments --------------------------------------------------------------

InvoiceCreateSchema = billing.InvoiceCreateSchema
InvoiceQuerySchema = billing.InvoiceFilters


class PaymentCreateSchema(billing.PaymentSchema):
    """The payment; a retry key travels as the ``Idempotency-Key`` header."""

    class Meta(billing.PaymentSchema.Meta):
        exclude = ("idempotency_key",)


PaymentSchema = http_view(billing.PaymentOut)
InvoiceSchema = http_view(billing.InvoiceOut)
InvoiceDetailSchema = http_view(billing.InvoiceDetailOut)

# ---- activities -------------------------------------------------------------------------


class ActivityCreateSchema(activities.ActivityLogSchema):
    """Plan an activity (``due_at``) or log one already done (``done_at`` + ``outcome``)."""


ActivityCompleteSchema = activities.ActivityCompleteSchema


class VisitPlanCreateSchema(activities.VisitPlanIn):
    """Visits for one office day of a rep's plan."""


ActivityQuerySchema = activities.ActivityFilters
AgendaQuerySchema = activities.AgendaIn
ActivitySchema = http_view(activities.ActivityOut)
VisitPlanSchema = http_view(activities.VisitPlanOut)
AgendaSchema = http_view(activities.AgendaOut)

# ---- reports ----------------------------------------------------------------------------

FunnelQuerySchema = reports.FunnelArgs


class ForecastQuerySchema(reports.ForecastArgs):
    # a query string is text: "6" is six months (the RPC takes a JSON integer)
    months = fields.Integer(load_default=reports.DEFAULT_FORECAST_MONTHS,
                            validate=validate.Range(min=1, max=reports.MAX_FORECAST_MONTHS),
                            metadata={"description": "Default 6."})


SalesQuerySchema = reports.SalesArgs
ProfitQuerySchema = reports.ProfitArgs
ReceivablesQuerySchema = reports.ReceivablesArgs

FunnelReportSchema = http_view(reports.FunnelReportOut)
ForecastReportSchema = http_view(reports.ForecastReportOut)
SalesReportSchema = http_view(reports.SalesReportOut)
ProfitReportSchema = http_view(reports.ProfitReportOut)
AgeingReportSchema = http_view(reports.AgeingReportOut)
ArrearsReportSchema = http_view(reports.ArrearsReportOut)


def report_arguments(query_schema, query):
    """The keyword arguments of a report RPC: the loaded query dumped back to JSON by its
    contract schema (a period key as its key, dates ISO)."""
    return query_schema().dump(query)

