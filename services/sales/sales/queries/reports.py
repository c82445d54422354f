"""Sales reports: funnel, forecast, sales by period, profit contribution, receivables.

Queries over the sales database; the arithmetic (funnel, weighted forecast, growth,
ageing buckets, dunning levels) is the domain's (``sales.domain.funnel`` and
``sales.domain.receivables``), so a figure means the same wherever it is shown.

Choices, and why:
- **Who sees what** (``guanxi_common.access.search_scope``): a sales rep sees only their
  own figures (records they own), a manager or regional office their region, admins,
  the system and auditors everything.  An explicit ``owner`` or ``region`` filter
  outside the caller's scope is refused (``Forbidden``) rather than silently answered
  with nothing; a role that may read no sales records at all is refused too.
- **Calendar**: periods are the office's calendar (Asia/Shanghai): an order placed at
  2025-02-28 16:30 UTC (00:30 on 1 March in Shanghai) is March business.  A report
  covers whole periods: ``start``/``end`` select every period containing a day from
  ``start`` to ``end``, so a month is never compared with a part of a month.
- **Money** is Decimal, per currency: each report is in one ``currency`` (default CNY)
  and leaves records in other currencies out rather than adding yuan to dollars.
- **Sales** are order nets (tax is not revenue) of orders that stand: confirmed,
  shipped, invoiced, paid, closed — not those on credit hold (not yet accepted) or
  cancelled — dated by when the order was placed.  Month-on-month (``mom``) compares a
  period with the one before it (the previous quarter for quarterly figures), ``yoy``
  with the same period a year before; both are ``None`` when the earlier figure is 0.
- **Profit contribution** recognises revenue at the **invoice** (the usual choice and
  what Chinese VAT accounting books): an order counts in the period of its invoice's
  issue date, with its lines' net as revenue and their cost (unit cost snapshot x
  quantity) as cost.  Shipped but not invoiced orders are not revenue yet; cancelled
  orders never have an invoice.  Lines without a known unit cost are counted
  (``cost_unknown_lines``) so the ABC analysis knows where the margin is overstated.
  Contribution is per sold-to customer (the buyer), which is what the ABC analysis ranks.
- **Receivables**: outstanding amounts as recorded now, aged as of ``as_of`` (default:
  today in the office); invoices issued after ``as_of`` are left out.  Ageing and
  arrears belong to the invoice's owner (the rep who sold); a region is the order's.
- **Funnel**: a ``period`` ('2025', '2025-Q1', '2025-03') selects the opportunities
  created in it (a cohort), followed through their whole stage history; the pipeline
  is the configured one (``pipeline_stages``, ``sales.adapters.repository.load_pipeline``).
- **Forecast**: open opportunities whose expected close falls in the window of
  ``months`` months starting with the month of ``as_of``; open ones whose expected close
  has already passed (``overdue``) and those without one (``unscheduled``) are reported
  beside the window, not hidden in it.
"""
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import case, distinct, func, null, select

from guanxi_common import access
from guanxi_common.clock import OFFICE_TZ, utcnow
from guanxi_common.contracts.sales.periods import (MAX_PERIODS, PERIODS, Period,  # noqa: F401
                                                   add_periods, make_period, parse_period_key,
                                                   period_key, period_start, periods_between)
from guanxi_common.contracts.sales.reports import DEFAULT_CURRENCY, FORECAST_GROUPINGS
from guanxi_common.errors import Forbidden
from sales.adapters.models import (CustomerReplica, Invoice, Opportunity, Order, OrderLine, Product,
                                   StageChange)
from sales.adapters.repository import load_pipeline
from sales.domain import funnel as funnel_rules
from sales.domain import receivables as receivable_rules
from sales.domain.activities import day_bounds, office_day
from sales.domain.money import ZERO, money, ratio

#: Orders whose value counts as sales: accepted and not cancelled.
SALES_STATES = ("confirmed", "shipped", "invoiced", "paid", "closed")
RECOGNITION = "invoice"
_PER_YEAR = {"month": 12, "quarter": 4, "year": 1}


# ---- the office calendar -----------------------------------------------------------------------

def office_midnight(day: date, tz=OFFICE_TZ) -> datetime:
    """The UTC moment an office day starts (for comparisons with stored UTC times)."""
    return day_bounds(day, tz)[0]


def today(tz=OFFICE_TZ) -> date:
    return office_day(utcnow(), tz)


def _bucket(column, periods, bound=lambda day: day):
    """A CASE naming the period of ``column``; callers restrict rows to the periods' span."""
    return case(*[(column < bound(p.after), p.key) for p in periods], else_=None)


# ---- who sees what -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Scope:
    owner: str | None = None
    region: str | None = None

    def apply(self, stmt, owner_column, region_column):
        if self.owner is not None:
            stmt = stmt.where(owner_column == self.owner)
        if self.region is not None:
            stmt = stmt.where(region_column == self.region)
        return stmt


def report_scope(actor, owner=None, region=None) -> Scope:
    """The filters of a report: the caller's own ``owner``/``region`` within what they may see."""
    scope = access.search_scope(actor)
    if scope is None:
        return Scope(owner, region)
    if scope.get("nothing"):
        raise Forbidden(f"{actor.user_id} may not see sales reports", {"roles": sorted(actor.roles)})
    if "province" in scope:
        if region is not None and region != scope["province"]:
            raise Forbidden(f"{actor.user_id} may see the figures of {scope['province']} only",
                            {"region": region})
        return Scope(owner, scope["province"])
    if owner is not None and owner != actor.user_id:
        raise Forbidden(f"{actor.user_id} may see their own figures only", {"owner": owner})
    return Scope(actor.user_id, region)


# ---- funnel and forecast -------------------------------------------------------------------------

def funnel_report(session, actor, owner=None, region=None, period=None, currency=DEFAULT_CURRENCY):
    """Count, value and weighted value per stage, stage-to-stage conversion, average days
    per stage and win rate (``sales.domain.funnel.funnel``) over the opportunities in scope.

    ``period``: a key ('2025', '2025-Q1', '2025-03') or a ``Period``; the opportunities
    created in it (office calendar)."""
    scope = report_scope(actor, owner, region)
    if isinstance(period, str):
        period = parse_period_key(period)
    pipeline = load_pipeline(session)

    chosen = scope.apply(select(Opportunity.id).where(Opportunity.currency == currency),
                         Opportunity.owner_id, Opportunity.region)
    if period is not None:
        chosen = chosen.where(Opportunity.created_at >= office_midnight(period.first),
                              Opportunity.created_at < office_midnight(period.after))
    chosen = chosen.subquery()
    records = {}
    for oid, stage, amount, status in session.execute(
            select(Opportunity.id, Opportunity.stage_code, Opportunity.amount, Opportunity.status)
            .where(Opportunity.id.in_(select(chosen.c.id)))):
        records[oid] = {"stage": stage, "amount": Decimal(amount), "status": status, "stage_history": []}
    for oid, stage, entered in session.execute(
            select(StageChange.opportunity_id, StageChange.stage_code, StageChange.entered_at)
            .where(StageChange.opportunity_id.in_(select(chosen.c.id)))
            .order_by(StageChange.opportunity_id, StageChange.entered_at, StageChange.id)):
        records[oid]["stage_history"].append((stage, entered))

    figures = funnel_rules.funnel(records.values(), pipeline)
    stages = []
    for stage in sorted(pipeline, key=lambda s: s.order):
        row = figures["stages"][stage.code]
        stages.append({"code": stage.code, "name": stage.name, "position": stage.order,
                       "probability": stage.probability, "is_won": stage.is_won, "is_lost": stage.is_lost,
                       "count": row["count"], "value": row["value"],
                       "weighted_value": row["weighted_value"],
                       "reached": figures["reached"].get(stage.code),
                       "avg_days": figures["avg_days"].get(stage.code)})
    return {"currency": currency, "owner": scope.owner, "region": scope.region,
            "period": _period_out(period),
            "stages": stages, "conversion": figures["conversion"],
            "open": figures["open"], "won": figures["won"], "lost": figures["lost"],
            "win_rate": figures["win_rate"], "unknown_stage": figures["unknown_stage"],
            "total": {"count": len(records),
                      "value": money(sum((s["value"] for s in stages), ZERO)),
                      "weighted_value": money(sum((s["weighted_value"] for s in stages), ZERO))}}


def forecast_report(session, actor, months=6, by=FORECAST_GROUPINGS, owner=None, region=None,
                    as_of=None, currency=DEFAULT_CURRENCY):
    """Weighted forecast (amount x stage probability, ``sales.domain.funnel.forecast``) of the
    open opportunities by expected close month, owner and region (``by`` chooses which)."""
    scope = report_scope(actor, owner, region)
    as_of = as_of or today()
    first = period_start(as_of, "month")
    window = [make_period(add_periods(first, "month", n), "month") for n in range(months)]
    pipeline = load_pipeline(session)

    stmt = scope.apply(select(Opportunity.stage_code, Opportunity.amount, Opportunity.expected_close,
                              Opportunity.owner_id, Opportunity.region)
                       .where(Opportunity.status == funnel_rules.OPEN, Opportunity.currency == currency),
                       Opportunity.owner_id, Opportunity.region)
    inside, overdue, unscheduled = [], [], []
    for stage, amount, close, owner_id, region_ in session.execute(
            stmt.where((Opportunity.expected_close.is_(None))
                       | (Opportunity.expected_close < window[-1].after))):
        record = {"stage": stage, "amount": Decimal(amount), "expected_close": close,
                  "owner": owner_id, "region": region_}
        if close is None:
            unscheduled.append(record)
        elif close < first:
            overdue.append(record)
        else:
            inside.append(record)

    figures = funnel_rules.forecast(inside, pipeline)
    result = {"currency": currency, "as_of": as_of, "months": months, "owner": scope.owner,
              "region": scope.region, "window": {"start": first, "end": window[-1].last},
              "total": figures["total"], "count": len(inside),
              "overdue": {"count": len(overdue), "weighted": funnel_rules.forecast(overdue, pipeline)["total"]},
              "unscheduled": {"count": len(unscheduled),
                              "weighted": funnel_rules.forecast(unscheduled, pipeline)["total"]}}
    if "month" in by:
        result["by_month"] = [{"key": p.key, "weighted": money(figures["by_month"].get(p.key, ZERO))}
                              for p in window]
    if "owner" in by:
        result["by_owner"] = [{"key": k, "weighted": money(v)} for k, v in figures["by_owner"].items()]
    if "region" in by:
        result["by_region"] = [{"key": k, "weighted": money(v)} for k, v in figures["by_region"].items()]
    return result


# ---- sales by period -----------------------------------------------------------------------------

def _series(periods, values, counts, period):
    """Figures per period with the change on the period before and on a year before."""
    per_year = _PER_YEAR[period]
    series = []
    for p in periods:
        value = values.get(p.key, ZERO)
        previous = values.get(period_key(add_periods(p.first, period, -1), period), ZERO)
        year_ago = values.get(period_key(add_periods(p.first, period, -per_year), period), ZERO)
        series.append({"period": p.key, "start": p.first, "end": p.last, "value": money(value),
                       "orders": counts.get(p.key, 0),
                       "mom": funnel_rules.period_change(value, previous),
                       "yoy": funnel_rules.period_change(value, year_ago)})
    return series


def _sales_figures(session, scope, span, currency, by=None):
    """``{(group, period key): (net, orders)}`` of the orders that count as sales (group
    None without ``by``), summed in SQL; a product's figure is the net of its lines."""
    lower, upper = office_midnight(span[0].first), office_midnight(span[-1].after)
    if by == "product":
        inner = select(OrderLine.net.label("amount"), OrderLine.product_id.label("grp")) \
            .select_from(OrderLine).join(Order, OrderLine.order_id == Order.id)
    else:
        group = {"owner": Order.owner_id, "region": Order.region}.get(by)
        inner = select(Order.net.label("amount"),
                       (group if group is not None else null()).label("grp"))
    inner = scope.apply(
        inner.add_columns(_bucket(Order.ordered_at, span, office_midnight).label("period"),
                          Order.id.label("order_id"))
        .where(Order.status.in_(SALES_STATES), Order.currency == currency,
               Order.ordered_at >= lower, Order.ordered_at < upper),
        Order.owner_id, Order.region).subquery()
    rows = session.execute(select(inner.c.grp, inner.c.period, func.sum(inner.c.amount),
                                  func.count(distinct(inner.c.order_id)))
                           .group_by(inner.c.grp, inner.c.period))
    return {(grp, key): (money(total or ZERO), n) for grp, key, total, n in rows}


def sales_report(session, actor, start, end, period="month", by=None, owner=None, region=None,
                 currency=DEFAULT_CURRENCY):
    """Sales (order nets, see module doc) per period from ``start`` to ``end`` with
    month-on-month and year-on-year change, in total and, with ``by``, per owner, product
    or region."""
    scope = report_scope(actor, owner, region)
    periods = periods_between(start, end, period)
    per_year = _PER_YEAR[period]
    # a year before the first period too, for the year-on-year change
    lookback = [make_period(add_periods(periods[0].first, period, n), period)
                for n in range(-per_year, 0)]
    span = lookback + periods

    figures = _sales_figures(session, scope, span, currency)
    values = {key: total for (_, key), (total, _) in figures.items()}
    counts = {key: n for (_, key), (_, n) in figures.items()}
    series = _series(periods, values, counts, period)
    result = {"currency": currency, "period": period, "start": periods[0].first, "end": periods[-1].last,
              "by": by, "owner": scope.owner, "region": scope.region, "series": series,
              "total": money(sum((s["value"] for s in series), ZERO)),
              "orders": sum(s["orders"] for s in series)}
    if by is not None:
        group_values, group_counts = {}, {}
        for (grp, key), (total, n) in _sales_figures(session, scope, span, currency, by).items():
            group_values.setdefault(grp, {})[key] = total
            group_counts.setdefault(grp, {})[key] = n
        labels = _product_labels(session, group_values) if by == "product" else {}
        groups = []
        for grp, by_period in group_values.items():
            grp_series = _series(periods, by_period, group_counts[grp], period)
            total = money(sum((s["value"] for s in grp_series), ZERO))
            if total == 0 and not any(s["orders"] for s in grp_series):
                continue  # sold only in the look-back year
            groups.append({"key": grp, "label": labels.get(grp, grp), "total": total,
                           "orders": sum(s["orders"] for s in grp_series), "series": grp_series})
        groups.sort(key=lambda g: (-g["total"], g["key"] is None, str(g["key"])))
        result["groups"] = groups
    return result


def _product_labels(session, ids):
    if not ids:
        return {}
    return {pid: f"{sku} {name}" for pid, sku, name in session.execute(
        select(Product.id, Product.sku, Product.name).where(Product.id.in_(list(ids))))}


# ---- profit contribution -------------------------------------------------------------------------

def profit_contribution(session, actor, start, end, period="month", owner=None, region=None,
                        currency=DEFAULT_CURRENCY):
    """Revenue, cost and contribution (revenue - cost) per sold-to customer per period,
    revenue recognised at the invoice's issue date (see module doc), biggest contributors first."""
    scope = report_scope(actor, owner, region)
    periods = periods_between(start, end, period)
    inner = scope.apply(
        select(_bucket(Invoice.issue_date, periods).label("period"), Order.sold_to_id.label("customer_id"),
               Order.id.label("order_id"), OrderLine.net.label("net"), OrderLine.cost.label("cost"),
               case((OrderLine.unit_cost.is_(None), 1), else_=0).label("unknown"))
        .select_from(Invoice).join(Order, Invoice.order_id == Order.id)
        .join(OrderLine, OrderLine.order_id == Order.id)
        .where(Order.currency == currency, Order.status != "cancelled",
               Invoice.issue_date >= periods[0].first, Invoice.issue_date < periods[-1].after),
        Order.owner_id, Order.region).subquery()
    rows = session.execute(
        select(inner.c.customer_id, inner.c.period, func.sum(inner.c.net), func.sum(inner.c.cost),
               func.count(distinct(inner.c.order_id)), func.sum(inner.c.unknown))
        .group_by(inner.c.customer_id, inner.c.period)).all()

    customers, by_period = {}, {p.key: {"revenue": ZERO, "cost": ZERO, "orders": 0} for p in periods}
    order = {p.key: i for i, p in enumerate(periods)}
    for customer_id, key, revenue, cost, orders, unknown in rows:
        revenue, cost = money(revenue or ZERO), money(cost or ZERO)
        entry = customers.setdefault(customer_id, {"customer_id": customer_id, "periods": [],
                                                   "cost_unknown_lines": 0})
        entry["periods"].append(_contribution(revenue, cost, orders, period=key))
        entry["cost_unknown_lines"] += int(unknown or 0)
        figures = by_period[key]
        figures["revenue"] += revenue
        figures["cost"] += cost
        figures["orders"] += orders

    names = {}
    if customers:
        names = {cid: (number, name) for cid, number, name in session.execute(
            select(CustomerReplica.id, CustomerReplica.number, CustomerReplica.name)
            .where(CustomerReplica.id.in_(list(customers))))}
    result_customers = []
    for customer_id, entry in customers.items():
        entry["periods"].sort(key=lambda p: order[p["period"]])
        revenue = money(sum((p["revenue"] for p in entry["periods"]), ZERO))
        cost = money(sum((p["cost"] for p in entry["periods"]), ZERO))
        number, name = names.get(customer_id, (None, None))
        result_customers.append(dict(
            _contribution(revenue, cost, sum(p["orders"] for p in entry["periods"])),
            customer_id=customer_id, number=number, name=name, periods=entry["periods"],
            cost_unknown_lines=entry["cost_unknown_lines"]))
    result_customers.sort(key=lambda c: (-c["contribution"], c["number"] or ""))
    totals = _contribution(money(sum((f["revenue"] for f in by_period.values()), ZERO)),
                           money(sum((f["cost"] for f in by_period.values()), ZERO)),
                           sum(f["orders"] for f in by_period.values()))
    return {"currency": currency, "period": period, "start": periods[0].first, "end": periods[-1].last,
            "recognition": RECOGNITION, "owner": scope.owner, "region": scope.region,
            "customers": result_customers, "totals": totals,
            "by_period": [_contribution(money(by_period[p.key]["revenue"]), money(by_period[p.key]["cost"]),
                                        by_period[p.key]["orders"], period=p.key) for p in periods]}


def _contribution(revenue, cost, orders, **extra):
    contribution = money(revenue - cost)
    return dict(extra, revenue=revenue, cost=cost, contribution=contribution,
                margin_rate=ratio(contribution, revenue), orders=orders)


# ---- receivables ---------------------------------------------------------------------------------

def _receivables(scope, stmt, as_of, currency):
    stmt = stmt.where(Invoice.outstanding > 0, Invoice.currency == currency, Invoice.issue_date <= as_of)
    if scope.owner is not None:
        stmt = stmt.where(Invoice.owner_id == scope.owner)
    if scope.region is not None:
        stmt = stmt.where(Invoice.order_id.in_(select(Order.id).where(Order.region == scope.region)))
    return stmt


def _buckets(pairs, as_of):
    """Domain ageing of ``[(outstanding, due_date, invoices)]`` with the invoice count per bucket."""
    sums = receivable_rules.ageing(((amount, due) for amount, due, _ in pairs), as_of)
    counts = dict.fromkeys(receivable_rules.BUCKETS, 0)
    for _, due, n in pairs:
        counts[receivable_rules.ageing_bucket(due, as_of)] += n
    return [{"bucket": b, "amount": sums[b], "invoices": counts[b]} for b in receivable_rules.BUCKETS]


def receivables_ageing(session, actor, as_of=None, owner=None, region=None, currency=DEFAULT_CURRENCY):
    """Outstanding receivables by age (0-30, 31-60, 61-90, 90+ days past due), in total and
    per owner.  Summed per due date in SQL, bucketed by ``sales.domain.receivables.ageing``."""
    scope = report_scope(actor, owner, region)
    as_of = as_of or today()
    rows = session.execute(_receivables(
        scope, select(Invoice.owner_id, Invoice.due_date, func.sum(Invoice.outstanding), func.count()),
        as_of, currency).group_by(Invoice.owner_id, Invoice.due_date)).all()
    per_owner, everything = {}, []
    for owner_id, due, amount, n in rows:
        pair = (money(amount), due, n)
        per_owner.setdefault(owner_id, []).append(pair)
        everything.append(pair)
    buckets = _buckets(everything, as_of)
    by_owner = []
    for owner_id in sorted(per_owner, key=lambda o: (o is None, o or "")):
        owner_buckets = _buckets(per_owner[owner_id], as_of)
        by_owner.append({"owner": owner_id, "buckets": owner_buckets,
                         "total": money(sum((b["amount"] for b in owner_buckets), ZERO)),
                         "invoices": sum(b["invoices"] for b in owner_buckets)})
    return {"as_of": as_of, "currency": currency, "owner": scope.owner, "region": scope.region,
            "buckets": buckets, "total": money(sum((b["amount"] for b in buckets), ZERO)),
            "invoices": sum(b["invoices"] for b in buckets), "by_owner": by_owner}


def arrears_list(session, actor, owner=None, as_of=None, region=None, currency=DEFAULT_CURRENCY):
    """The collection list: per owner, the customers with overdue invoices — amount overdue,
    days overdue and dunning level of the oldest (``sales.domain.receivables``) — most
    overdue first, each with its invoices."""
    scope = report_scope(actor, owner, region)
    as_of = as_of or today()
    stmt = _receivables(scope, select(Invoice.owner_id, Invoice.customer_id, CustomerReplica.number,
                                      CustomerReplica.name, Invoice.number, Order.number, Invoice.issue_date,
                                      Invoice.due_date, Invoice.amount, Invoice.outstanding)
                        .join(CustomerReplica, Invoice.customer_id == CustomerReplica.id)
                        .join(Order, Invoice.order_id == Order.id),
                        as_of, currency).where(Invoice.due_date < as_of)
    items = [{"owner": row[0], "customer_id": row[1], "customer_number": row[2], "customer_name": row[3],
              "number": row[4], "order_number": row[5], "issue_date": row[6], "due_date": row[7],
              "amount": money(row[8]), "outstanding": money(row[9])}
             for row in session.execute(stmt.order_by(Invoice.owner_id, Invoice.due_date, Invoice.number))]
    items.sort(key=lambda item: (item["owner"] is None, item["owner"] or ""))
    owners = []
    for owner_id, entries in receivable_rules.collection_list(items, as_of).items():
        customers = {}
        for entry in entries:  # most overdue first, so a customer's first entry is its oldest
            customer = customers.setdefault(entry["customer_id"], {
                "customer_id": entry["customer_id"], "number": entry["customer_number"],
                "name": entry["customer_name"], "amount": ZERO, "days_overdue": entry["days_overdue"],
                "dunning_level": entry["dunning_level"], "dunning_label": entry["dunning_label"],
                "dunning_label_zh": receivable_rules.dunning_label(entry["dunning_level"], "zh"),
                "invoices": []})
            customer["amount"] = money(customer["amount"] + entry["outstanding"])
            customer["invoices"].append({key: entry[key] for key in (
                "number", "order_number", "issue_date", "due_date", "amount", "outstanding",
                "days_overdue", "dunning_level")})
        ranked = sorted(customers.values(), key=lambda c: (-c["days_overdue"], -c["amount"], c["number"]))
        owners.append({"owner": owner_id, "customers": ranked,
                       "total": money(sum((c["amount"] for c in ranked), ZERO))})
    return {"as_of": as_of, "currency": currency, "owner": scope.owner, "region": scope.region,
            "owners": owners, "total": money(sum((o["total"] for o in owners), ZERO))}


def _period_out(period):
    if period is None:
        return None
    return {"key": period.key, "start": period.first, "end": period.last}
