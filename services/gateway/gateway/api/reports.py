"""Report endpoints: ``GET /api/v1/reports/...`` -- the sales service's reports over RPC
(docs/rpc/sales.md#reports).

The query string is checked here with the report argument schemas of the sales contract
(``gateway.api.sales_schemas``: a bad date, period or grouping is a 422 naming the
parameter) and handed to the service as keyword arguments, dumped by the same schema; a
parameter the client left out travels as the contract's default (currency CNY, month
periods, six forecast months) or not at all (``as_of``: today's office date). The
service pins the scope to the caller (a sales rep to their own records, regional roles
to their region; another ``owner``/``region`` is a 403) and echoes the effective
``owner`` and ``region``. Money and ratios are Decimal strings; ratios are ``null``
where there is nothing to divide by.
"""
from flask import Blueprint

from gateway.app import rpc_pool
from gateway.http import endpoint
from gateway.api import sales_schemas as s

blueprint = Blueprint("reports", __name__, url_prefix="/reports")

REPORTS = "reports"


def _report(method, query_schema, query):
    arguments = {name: value for name, value in s.report_arguments(query_schema, query).items()
                 if value is not None}
    with rpc_pool().client() as rpc:
        return getattr(rpc.sales, method)(**arguments)


@endpoint(blueprint, "/funnel", ["GET"], summary="Sales funnel", tags=[REPORTS],
          query=s.FunnelQuerySchema, response=s.FunnelReportSchema)
def funnel(query):
    """Opportunities by current stage with counts, values, weighted values, how many
    reached each stage, conversion between stages, average days and the win rate.
    ``period`` (``2025``, ``2025-Q1``, ``2025-03``): opportunities created in it."""
    return _report("funnel_report", s.FunnelQuerySchema, query)


@endpoint(blueprint, "/forecast", ["GET"], summary="Weighted forecast", tags=[REPORTS],
          query=s.ForecastQuerySchema, response=s.ForecastReportSchema)
def forecast(query):
    """Open opportunities weighted by their stage's probability over ``months`` whole
    months from the month of ``as_of``; ``by`` (repeatable) picks the groupings."""
    return _report("forecast_report", s.ForecastQuerySchema, query)


@endpoint(blueprint, "/sales", ["GET"], summary="Sales by period", tags=[REPORTS],
          query=s.SalesQuerySchema, response=s.SalesReportSchema)
def sales(query):
    """Order net per period from ``start`` to ``end`` (whole periods), with
    period-on-period (``mom``) and year-on-year (``yoy``) growth; ``by`` adds groups."""
    return _report("sales_report", s.SalesQuerySchema, query)


@endpoint(blueprint, "/profit", ["GET"], summary="Profit contribution by customer",
          tags=[REPORTS], query=s.ProfitQuerySchema, response=s.ProfitReportSchema)
def profit(query):
    """Revenue recognised at the invoice, cost from the order lines' cost snapshots."""
    return _report("profit_contribution", s.ProfitQuerySchema, query)


@endpoint(blueprint, "/receivables-ageing", ["GET"], summary="Receivables ageing",
          tags=[REPORTS], query=s.ReceivablesQuerySchema, response=s.AgeingReportSchema)
def receivables_ageing(query):
    """Outstanding invoices in the buckets 0-30, 31-60, 61-90 and 90+ days past due."""
    return _report("receivables_ageing", s.ReceivablesQuerySchema, query)


@endpoint(blueprint, "/arrears", ["GET"], summary="Arrears list with dunning levels",
          tags=[REPORTS], query=s.ReceivablesQuerySchema, response=s.ArrearsReportSchema)
def arrears(query):
    """Overdue invoices by owner and customer, most days overdue first."""
    return _report("arrears_list", s.ReceivablesQuerySchema, query)
