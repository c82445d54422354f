"""RPC entrypoints of the sales reports (mixin composed into the sales service).

Each method takes keyword arguments (a missing or null argument takes its default),
validates them (``ValidationFailed`` naming the argument), computes the report with
``sales.queries.reports`` as the caller (record-level scope) and returns it dumped: money and
ratios as Decimal strings, dates ISO.  The contract is in docs/rpc/sales.md.
"""
from guanxi_common.contracts.sales.reports import (AgeingReportOut, ArrearsReportOut,
                                                   ForecastArgs, ForecastReportOut, FunnelArgs,
                                                   FunnelReportOut, ProfitArgs, ProfitReportOut,
                                                   ReceivablesArgs, SalesArgs, SalesReportOut)
from guanxi_common.validation import load
from sales.entrypoints import api
from sales.queries import reports


def _args(schema, **given):
    return load(schema, {name: value for name, value in given.items() if value is not None},
                field="arguments")


class ReportEntrypoints:
    """funnel_report, forecast_report, sales_report, profit_contribution,
    receivables_ageing, arrears_list."""

    @api
    def funnel_report(self, owner=None, region=None, period=None, currency=None):
        args = _args(FunnelArgs(), owner=owner, region=region, period=period, currency=currency)
        return FunnelReportOut().dump(reports.funnel_report(self.uow.session, self.uow.actor, **args))

    @api
    def forecast_report(self, months=None, by=None, owner=None, region=None, as_of=None, currency=None):
        args = _args(ForecastArgs(), months=months, by=by, owner=owner, region=region, as_of=as_of,
                     currency=currency)
        return ForecastReportOut().dump(reports.forecast_report(self.uow.session, self.uow.actor, **args))

    @api
    def sales_report(self, start=None, end=None, period=None, by=None, owner=None, region=None,
                     currency=None):
        args = _args(SalesArgs(), start=start, end=end, period=period, by=by, owner=owner,
                     region=region, currency=currency)
        return SalesReportOut().dump(reports.sales_report(self.uow.session, self.uow.actor, **args))

    @api
    def profit_contribution(self, start=None, end=None, period=None, owner=None, region=None,
                            currency=None):
        args = _args(ProfitArgs(), start=start, end=end, period=period, owner=owner, region=region,
                     currency=currency)
        return ProfitReportOut().dump(reports.profit_contribution(self.uow.session, self.uow.actor, **args))

    @api
    def receivables_ageing(self, as_of=None, owner=None, region=None, currency=None):
        args = _args(ReceivablesArgs(), as_of=as_of, owner=owner, region=region, currency=currency)
        return AgeingReportOut().dump(reports.receivables_ageing(self.uow.session, self.uow.actor, **args))

    @api
    def arrears_list(self, owner=None, as_of=None, region=None, currency=None):
        args = _args(ReceivablesArgs(), as_of=as_of, owner=owner, region=region, currency=currency)
        return ArrearsReportOut().dump(reports.arrears_list(self.uow.session, self.uow.actor, **args))
