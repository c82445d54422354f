"""The sales reports on a real database (SQLite and PostgreSQL), without the broker: known
opportunities, orders, invoices and payments put in directly through the models, and
the exact figures the reports give for them."""
import itertools
import uuid
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from guanxi_common.context import Actor
from guanxi_common.errors import Forbidden, ValidationFailed
from guanxi_common.validation import load
from sales.queries import reports
from sales.domain.funnel import DEFAULT_PIPELINE
from sales.adapters.models import (Invoice, Opportunity, Order, OrderLine, Payment, PipelineStage, Product,
                          StageChange)
from guanxi_common.contracts.sales.reports import FunnelArgs, SalesArgs

from sales_testkit import ADMIN, MANAGER, REP, REP2, add_customer

D = Decimal
_seq = itertools.count(1)
AS_OF = date(2025, 6, 30)


def utc(year, month, day, hour=4, minute=0):
    return datetime(year, month, day, hour, minute, tzinfo=timezone.utc)


def add_pipeline(session):
    """The default pipeline (the migration stores it too: only what is missing is added)."""
    for stage in DEFAULT_PIPELINE:
        if session.get(PipelineStage, stage.code) is None:
            session.add(PipelineStage(code=stage.code, name=stage.name, position=stage.order,
                                      probability=stage.probability, is_won=stage.is_won,
                                      is_lost=stage.is_lost))
    session.flush()


def add_opportunity(session, customer, amount, history, *, owner, region="广东", expected_close=None):
    """``history``: [(stage code, entered_at)]; the last entry is the current stage."""
    n = next(_seq)
    stage = history[-1][0]
    status = {"won": "won", "lost": "lost"}.get(stage, "open")
    opp = Opportunity(id=str(uuid.uuid4()), number=f"OP-2025-{n:06d}", customer_id=customer.id,
                      owner_id=owner, title=f"商机 {n}", amount=D(amount), currency="CNY",
                      expected_close=expected_close, stage_code=stage, status=status,
                      lost_reason="价格太高" if status == "lost" else None,
                      closed_at=history[-1][1] if status != "open" else None, region=region,
                      created_at=history[0][1], updated_at=history[-1][1])
    opp.stage_history = [StageChange(stage_code=code, entered_at=at, actor_id=owner) for code, at in history]
    session.add(opp)
    session.flush()
    return opp


def add_product(session, sku, price, cost):
    now = utc(2024, 1, 1)
    product = Product(id=str(uuid.uuid4()), sku=sku, name=f"产品 {sku}", unit="pcs", currency="CNY",
                      list_price=D(price), unit_cost=None if cost is None else D(cost),
                      tax_rate=D("0.13"), active=True, created_at=now, updated_at=now)
    session.add(product)
    session.flush()
    return product


def add_order(session, customer, lines, *, at, status, owner=None, region="广东"):
    """``lines``: [(product, quantity, unit price)]; net = quantity x price, tax 13 %."""
    n = next(_seq)
    order = Order(id=str(uuid.uuid4()), number=f"SO-{at.year}-{n:06d}", sold_to_id=customer.id,
                  ship_to_id=customer.id, bill_to_id=customer.id, payer_id=customer.id,
                  owner_id=owner or customer.owner_id, region=region, currency="CNY", status=status,
                  net=D(0), tax=D(0), gross=D(0), cost=D(0), margin=D(0), credit_outcome="pass",
                  ordered_at=at, created_by="admin-1", created_at=at, updated_at=at)
    for position, (product, quantity, price) in enumerate(lines, 1):
        net = D(quantity) * D(price)
        tax = (net * D("0.13")).quantize(D("0.01"))
        cost = D(quantity) * product.unit_cost if product.unit_cost is not None else D(0)
        order.lines.append(OrderLine(position=position, product_id=product.id, sku=product.sku,
                                     description=product.name, quantity=D(quantity), unit_price=D(price),
                                     discount=D(0), tax_rate=D("0.13"), unit_cost=product.unit_cost,
                                     net=net, tax=tax, gross=net + tax, cost=cost, margin=net - cost))
        order.net += net
        order.tax += tax
        order.gross += net + tax
        order.cost += cost
    order.margin = order.net - order.cost
    session.add(order)
    session.flush()
    return order


def add_invoice(session, order, issued, *, terms=30, amount=None, paid="0"):
    n = next(_seq)
    amount = D(amount) if amount is not None else order.gross
    invoice = Invoice(id=str(uuid.uuid4()), number=f"INV-{issued.year}-{n:06d}", order_id=order.id,
                      customer_id=order.payer_id, owner_id=order.owner_id, currency="CNY",
                      amount=amount, paid_amount=D(paid), outstanding=amount - D(paid), issue_date=issued,
                      terms_days=terms, due_date=issued + timedelta(days=terms),
                      status="paid" if amount == D(paid) else ("open" if D(paid) == 0 else "partially_paid"),
                      created_at=utc(issued.year, issued.month, issued.day))
    session.add(invoice)
    session.flush()
    if D(paid):
        session.add(Payment(id=str(uuid.uuid4()), number=f"PAY-{issued.year}-{n:06d}", invoice_id=invoice.id,
                            customer_id=order.payer_id, amount=D(paid), currency="CNY",
                            received_at=utc(issued.year, issued.month, issued.day) + timedelta(days=5),
                            method="bank", created_by="admin-1", created_at=utc(2025, 1, 1)))
        session.flush()
    return invoice


def stage(report, code):
    return next(s for s in report["stages"] if s["code"] == code)


# ---- funnel --------------------------------------------------------------------------------------

T0 = utc(2025, 1, 6, 2)  # 10:00 in Shanghai


def seed_funnel(session):
    add_pipeline(session)
    c1 = add_customer(session, owner_id="rep-1", province="广东")
    c2 = add_customer(session, owner_id="rep-2", province="广东")
    c3 = add_customer(session, owner_id="rep-3", province="北京")
    day = lambda n: T0 + timedelta(days=n)  # noqa: E731
    add_opportunity(session, c1, "100000", [("lead", T0), ("qualified", day(2)), ("proposal", day(5)),
                                            ("won", day(10))], owner="rep-1")
    add_opportunity(session, c1, "50000", [("lead", T0), ("qualified", day(4)), ("lost", day(6))],
                    owner="rep-1")
    # jumped from lead to proposal: it still counts as having passed qualified
    add_opportunity(session, c2, "80000", [("lead", T0), ("proposal", day(3))], owner="rep-2")
    # created 2025-01-31 17:00 UTC = 1 February 01:00 in Shanghai: February business
    add_opportunity(session, c3, "20000", [("lead", utc(2025, 1, 31, 17))], owner="rep-3", region="北京")
    add_opportunity(session, c1, "30000", [("lead", T0), ("qualified", day(1)), ("negotiation", day(8))],
                    owner="rep-1")


def test_funnel_counts_values_conversion_days_and_win_rate(sales_uow):
    uow = sales_uow(ADMIN)
    seed_funnel(uow.session)
    report = reports.funnel_report(uow.session, ADMIN)

    per_stage = {s["code"]: (s["count"], s["value"], s["weighted_value"]) for s in report["stages"]}
    assert per_stage == {"lead": (1, D("20000.00"), D("2000.00")), "qualified": (0, D("0.00"), D("0.00")),
                         "proposal": (1, D("80000.00"), D("40000.00")),
                         "negotiation": (1, D("30000.00"), D("21000.00")),
                         "won": (1, D("100000.00"), D("100000.00")), "lost": (1, D("50000.00"), D("0.00"))}
    assert [s["code"] for s in report["stages"]] == ["lead", "qualified", "proposal", "negotiation", "won", "lost"]
    assert {s["code"]: s["reached"] for s in report["stages"]} == {
        "lead": 5, "qualified": 4, "proposal": 3, "negotiation": 2, "won": 1, "lost": None}
    assert [(c["from"], c["to"], c["rate"]) for c in report["conversion"]] == [
        ("lead", "qualified", D("0.8000")), ("qualified", "proposal", D("0.7500")),
        ("proposal", "negotiation", D("0.6667")), ("negotiation", "won", D("0.5000"))]
    # finished stays only: lead 2, 4, 3, 1 days; qualified 3, 2, 7; proposal 5; negotiation none yet
    assert {s["code"]: s["avg_days"] for s in report["stages"]} == {
        "lead": D("2.50"), "qualified": D("4.00"), "proposal": D("5.00"), "negotiation": None,
        "won": None, "lost": None}
    assert (report["open"], report["won"], report["lost"], report["win_rate"]) == (3, 1, 1, D("0.5000"))
    assert report["total"] == {"count": 5, "value": D("280000.00"), "weighted_value": D("163000.00")}


def test_funnel_by_period_in_office_time_and_by_owner_and_scope(sales_uow):
    uow = sales_uow(ADMIN)
    seed_funnel(uow.session)
    january = reports.funnel_report(uow.session, ADMIN, period="2025-01")
    assert january["period"] == {"key": "2025-01", "start": date(2025, 1, 1), "end": date(2025, 1, 31)}
    assert january["total"]["count"] == 4 and stage(january, "lead")["count"] == 0
    assert stage(january, "lead")["reached"] == 4 and january["conversion"][0]["rate"] == D("1.0000")
    february = reports.funnel_report(uow.session, ADMIN, period="2025-02")
    assert february["total"] == {"count": 1, "value": D("20000.00"), "weighted_value": D("2000.00")}
    assert february["win_rate"] is None  # nothing closed: no rate rather than 0
    assert reports.funnel_report(uow.session, ADMIN, period="2025-Q1")["total"]["count"] == 5

    # a rep sees their own opportunities only, whatever they ask for
    mine = reports.funnel_report(uow.session, REP)
    assert mine["owner"] == "rep-1" and mine["total"]["count"] == 3
    assert {s["code"]: s["reached"] for s in mine["stages"]} == {
        "lead": 3, "qualified": 3, "proposal": 2, "negotiation": 2, "won": 1, "lost": None}
    assert (mine["won"], mine["lost"], mine["win_rate"]) == (1, 1, D("0.5000"))
    assert reports.funnel_report(uow.session, ADMIN, owner="rep-1")["stages"] == mine["stages"]
    with pytest.raises(Forbidden):
        reports.funnel_report(uow.session, REP, owner="rep-2")
    # a manager sees their region
    region = reports.funnel_report(uow.session, MANAGER)
    assert region["region"] == "广东" and region["total"]["count"] == 4
    with pytest.raises(Forbidden):
        reports.funnel_report(uow.session, MANAGER, region="北京")
    with pytest.raises(Forbidden):
        reports.funnel_report(uow.session, Actor(user_id="nobody", roles=frozenset({"guest"})))


def test_funnel_uses_the_configured_pipeline(sales_uow):
    uow = sales_uow(ADMIN)
    seed_funnel(uow.session)
    uow.session.get(PipelineStage, "proposal").probability = D("0.4")
    uow.session.flush()
    report = reports.funnel_report(uow.session, ADMIN)
    assert stage(report, "proposal")["weighted_value"] == D("32000.00")
    assert stage(report, "proposal")["probability"] == D("0.4")


# ---- forecast ------------------------------------------------------------------------------------

def test_weighted_forecast_by_month_owner_and_region(sales_uow):
    uow = sales_uow(ADMIN)
    session = uow.session
    add_pipeline(session)
    c1 = add_customer(session, owner_id="rep-1", province="广东")
    c2 = add_customer(session, owner_id="rep-2", province="广东")
    c3 = add_customer(session, owner_id="rep-3", province="北京")
    at = utc(2025, 1, 10)
    add_opportunity(session, c2, "80000", [("lead", at), ("proposal", at)], owner="rep-2",
                    expected_close=date(2025, 4, 20))                                   # 0.5 → 40000
    add_opportunity(session, c3, "20000", [("lead", at)], owner="rep-3", region="北京",
                    expected_close=date(2025, 3, 31))                                   # 0.1 → 2000
    add_opportunity(session, c1, "30000", [("lead", at), ("negotiation", at)], owner="rep-1",
                    expected_close=date(2025, 3, 5))                                    # 0.7 → 21000
    add_opportunity(session, c1, "10000", [("lead", at), ("qualified", at)], owner="rep-1")  # unscheduled
    add_opportunity(session, c2, "40000", [("lead", at), ("negotiation", at)], owner="rep-2",
                    expected_close=date(2025, 1, 20))                                   # overdue 28000
    add_opportunity(session, c1, "60000", [("lead", at), ("proposal", at)], owner="rep-1",
                    expected_close=date(2025, 9, 1))                                    # after the window
    add_opportunity(session, c1, "99000", [("lead", at), ("won", at)], owner="rep-1",
                    expected_close=date(2025, 3, 10))                                   # closed: not forecast

    report = reports.forecast_report(session, ADMIN, months=3, as_of=date(2025, 3, 15))
    assert report["window"] == {"start": date(2025, 3, 1), "end": date(2025, 5, 31)}
    assert report["by_month"] == [{"key": "2025-03", "weighted": D("23000.00")},
                                  {"key": "2025-04", "weighted": D("40000.00")},
                                  {"key": "2025-05", "weighted": D("0.00")}]
    assert report["by_owner"] == [{"key": "rep-1", "weighted": D("21000.00")},
                                  {"key": "rep-2", "weighted": D("40000.00")},
                                  {"key": "rep-3", "weighted": D("2000.00")}]
    assert {r["key"]: r["weighted"] for r in report["by_region"]} == {"北京": D("2000.00"),
                                                                      "广东": D("61000.00")}
    assert (report["total"], report["count"]) == (D("63000.00"), 3)
    assert report["overdue"] == {"count": 1, "weighted": D("28000.00")}
    assert report["unscheduled"] == {"count": 1, "weighted": D("2000.00")}

    only_months = reports.forecast_report(session, ADMIN, months=3, by=("month",), as_of=date(2025, 3, 15))
    assert "by_owner" not in only_months and "by_region" not in only_months
    mine = reports.forecast_report(session, REP, months=12, as_of=date(2025, 3, 15))
    assert [r["key"] for r in mine["by_owner"]] == ["rep-1"]
    assert mine["total"] == D("51000.00")  # 21000 in March + 30000 in September
    assert mine["unscheduled"] == {"count": 1, "weighted": D("2000.00")}


# ---- sales and profit ----------------------------------------------------------------------------

def seed_orders(session):
    """Two years of orders; nets: 2024-03 1000, 2024-04 1000, 2025-02 400, 2025-03 2200,
    2025-04 1000 (cancelled and credit-held orders do not count)."""
    c1 = add_customer(session, owner_id="rep-1", province="广东", name="广州甲公司")
    c2 = add_customer(session, owner_id="rep-2", province="广东", name="深圳乙公司")
    c3 = add_customer(session, owner_id="rep-3", province="北京", name="北京丙公司")
    p1 = add_product(session, "P-001", "100", "60")
    p2 = add_product(session, "P-002", "50", "30")
    p3 = add_product(session, "SVC-01", "200", None)  # a service without a known unit cost
    s1 = add_order(session, c1, [(p1, 10, "100")], at=utc(2024, 3, 10), status="paid")
    s2 = add_order(session, c2, [(p2, 20, "50")], at=utc(2024, 4, 15), status="closed")
    # 2025-02-28 16:30 UTC is 1 March 00:30 in Shanghai: March business
    s3 = add_order(session, c1, [(p1, 15, "100"), (p3, 1, "200")], at=utc(2025, 2, 28, 16, 30),
                   status="invoiced")
    add_order(session, c3, [(p2, 10, "50")], at=utc(2025, 3, 20), status="shipped", region="北京")
    add_order(session, c1, [(p1, 5, "100"), (p2, 10, "50")], at=utc(2025, 4, 10), status="confirmed")
    add_order(session, c1, [(p1, 100, "100")], at=utc(2025, 4, 12), status="cancelled")
    add_order(session, c2, [(p2, 100, "50")], at=utc(2025, 4, 20), status="credit_hold")
    add_order(session, c2, [(p2, 8, "50")], at=utc(2025, 2, 10), status="confirmed")
    add_invoice(session, s1, date(2024, 3, 20), paid="1130.00")
    add_invoice(session, s2, date(2024, 4, 25), paid="1130.00")
    add_invoice(session, s3, date(2025, 3, 5), paid="921.00")  # gross 1921.00
    return {"c1": c1, "c2": c2, "c3": c3, "p1": p1, "p2": p2, "p3": p3}


def rows(series):
    return [(s["period"], s["value"], s["orders"], s["mom"], s["yoy"]) for s in series]


def test_sales_by_month_with_month_on_month_and_year_on_year(sales_uow):
    uow = sales_uow(ADMIN)
    seed_orders(uow.session)
    report = reports.sales_report(uow.session, ADMIN, start=date(2025, 1, 1), end=date(2025, 4, 30))
    assert rows(report["series"]) == [
        ("2025-01", D("0.00"), 0, None, None),
        ("2025-02", D("400.00"), 1, None, None),                     # from 0: no growth rate
        ("2025-03", D("2200.00"), 2, D("4.5000"), D("1.2000")),
        ("2025-04", D("1000.00"), 1, D("-0.5455"), D("0.0000")),
    ]
    assert (report["total"], report["orders"]) == (D("3600.00"), 4)
    assert report["series"][2]["start"] == date(2025, 3, 1) and report["series"][2]["end"] == date(2025, 3, 31)
    assert "groups" not in report

    by_owner = reports.sales_report(uow.session, ADMIN, start=date(2025, 1, 1), end=date(2025, 4, 30),
                                    by="owner")
    assert [(g["key"], g["total"], g["orders"]) for g in by_owner["groups"]] == [
        ("rep-1", D("2700.00"), 2), ("rep-3", D("500.00"), 1), ("rep-2", D("400.00"), 1)]
    rep1 = by_owner["groups"][0]["series"]
    assert rows(rep1)[2:] == [("2025-03", D("1700.00"), 1, None, D("0.7000")),
                              ("2025-04", D("1000.00"), 1, D("-0.4118"), None)]

    by_product = reports.sales_report(uow.session, ADMIN, start=date(2025, 1, 1), end=date(2025, 4, 30),
                                      by="product")
    products = {g["label"]: g for g in by_product["groups"]}
    assert {label: g["total"] for label, g in products.items()} == {
        "P-001 产品 P-001": D("2000.00"), "P-002 产品 P-002": D("1400.00"), "SVC-01 产品 SVC-01": D("200.00")}
    assert rows(products["P-001 产品 P-001"]["series"])[2][4] == D("0.5000")   # March: 1500 vs 1000
    assert rows(products["P-002 产品 P-002"]["series"])[3][4] == D("-0.5000")  # April: 500 vs 1000
    assert by_product["total"] == D("3600.00") and by_product["orders"] == 4

    by_region = reports.sales_report(uow.session, ADMIN, start=date(2025, 1, 1), end=date(2025, 4, 30),
                                     by="region")
    assert [(g["key"], g["total"]) for g in by_region["groups"]] == [("广东", D("3100.00")),
                                                                     ("北京", D("500.00"))]


def test_sales_by_quarter_and_scope(sales_uow):
    uow = sales_uow(ADMIN)
    seed_orders(uow.session)
    quarters = reports.sales_report(uow.session, ADMIN, start=date(2025, 2, 15), end=date(2025, 5, 1),
                                    period="quarter")
    assert (quarters["start"], quarters["end"]) == (date(2025, 1, 1), date(2025, 6, 30))  # whole quarters
    assert rows(quarters["series"]) == [("2025-Q1", D("2600.00"), 3, None, D("1.6000")),
                                        ("2025-Q2", D("1000.00"), 1, D("-0.6154"), D("0.0000"))]
    years = reports.sales_report(uow.session, ADMIN, start=date(2024, 1, 1), end=date(2025, 12, 31),
                                 period="year")
    assert rows(years["series"]) == [("2024", D("2000.00"), 2, None, None),
                                     ("2025", D("3600.00"), 4, D("0.8000"), D("0.8000"))]

    span = dict(start=date(2025, 1, 1), end=date(2025, 4, 30))
    assert reports.sales_report(uow.session, REP, **span)["total"] == D("2700.00")
    assert reports.sales_report(uow.session, REP2, **span)["total"] == D("400.00")
    assert reports.sales_report(uow.session, MANAGER, **span)["total"] == D("3100.00")
    assert [g["key"] for g in reports.sales_report(uow.session, REP, by="owner", **span)["groups"]] == ["rep-1"]
    with pytest.raises(Forbidden):
        reports.sales_report(uow.session, REP, owner="rep-2", **span)


def test_profit_contribution_per_customer_per_period_at_invoice(sales_uow):
    uow = sales_uow(ADMIN)
    seed = seed_orders(uow.session)
    report = reports.profit_contribution(uow.session, ADMIN, start=date(2024, 1, 1), end=date(2025, 12, 31))
    assert report["recognition"] == "invoice"
    c1, c2 = report["customers"]  # biggest contribution first; the shipped order is not revenue yet
    assert (c1["number"], c1["name"], c2["number"]) == (seed["c1"].number, "广州甲公司", seed["c2"].number)
    assert [(p["period"], p["revenue"], p["cost"], p["contribution"], p["margin_rate"], p["orders"])
            for p in c1["periods"]] == [
        ("2024-03", D("1000.00"), D("600.00"), D("400.00"), D("0.4000"), 1),
        ("2025-03", D("1700.00"), D("900.00"), D("800.00"), D("0.4706"), 1)]
    assert (c1["revenue"], c1["cost"], c1["contribution"], c1["margin_rate"], c1["orders"]) == (
        D("2700.00"), D("1500.00"), D("1200.00"), D("0.4444"), 2)
    assert c1["cost_unknown_lines"] == 1  # the service line: its margin is overstated
    assert [(p["period"], p["contribution"]) for p in c2["periods"]] == [("2024-04", D("400.00"))]
    assert c2["cost_unknown_lines"] == 0
    assert (report["totals"]["revenue"], report["totals"]["cost"], report["totals"]["contribution"]) == (
        D("3700.00"), D("2100.00"), D("1600.00"))
    assert len(report["by_period"]) == 24
    assert {p["period"]: p["contribution"] for p in report["by_period"] if p["orders"]} == {
        "2024-03": D("400.00"), "2024-04": D("400.00"), "2025-03": D("800.00")}

    years = reports.profit_contribution(uow.session, ADMIN, start=date(2024, 1, 1), end=date(2025, 12, 31),
                                        period="year")
    assert [(p["period"], p["revenue"], p["contribution"]) for p in years["customers"][0]["periods"]] == [
        ("2024", D("1000.00"), D("400.00")), ("2025", D("1700.00"), D("800.00"))]
    theirs = reports.profit_contribution(uow.session, REP2, start=date(2024, 1, 1), end=date(2025, 12, 31))
    assert [c["number"] for c in theirs["customers"]] == [seed["c2"].number]


# ---- receivables ---------------------------------------------------------------------------------

def seed_receivables(session):
    """Invoices as of 2025-06-30 (due date → days overdue → bucket, dunning level)."""
    p = add_product(session, "P-AR", "100", "50")
    c1 = add_customer(session, owner_id="rep-1", province="广东", name="欠款一号")
    c2 = add_customer(session, owner_id="rep-1", province="广东", name="欠款二号")
    c3 = add_customer(session, owner_id="rep-2", province="广东", name="欠款三号")
    c4 = add_customer(session, owner_id="rep-3", province="北京", name="欠款四号")

    def invoice(customer, due, amount, paid="0", region="广东", issued=None):
        order = add_order(session, customer, [(p, 1, "100")], at=utc(2025, 1, 2), status="invoiced",
                          region=region)
        issued = issued or due - timedelta(days=30)
        return add_invoice(session, order, issued, terms=(due - issued).days, amount=amount, paid=paid)

    made = {
        "A1": invoice(c1, date(2025, 7, 15), "1000.00"),                 # not yet due: 0-30
        "A2": invoice(c1, date(2025, 6, 30), "500.00"),                  # due today: 0-30, not overdue
        "A3": invoice(c1, date(2025, 5, 31), "800.00", paid="500.00"),   # 30 days: 0-30, reminder
        "A4": invoice(c2, date(2025, 5, 30), "2000.00"),                 # 31 days: 31-60, second notice
        "A5": invoice(c2, date(2025, 4, 1), "700.00"),                   # 90 days: 61-90, final notice
        "A6": invoice(c3, date(2025, 3, 31), "4000.00"),                 # 91 days: 90+
        "A7": invoice(c4, date(2025, 1, 15), "123.45", region="北京"),   # 166 days: 90+
        "A8": invoice(c3, date(2025, 1, 1), "900.00", paid="900.00"),    # paid: not a receivable
        "A9": invoice(c1, date(2025, 8, 1), "999.00", issued=date(2025, 7, 2)),  # issued after as_of
    }
    return {"c1": c1, "c2": c2, "c3": c3, "c4": c4, **made}


def buckets(report_buckets):
    return [(b["bucket"], b["amount"], b["invoices"]) for b in report_buckets]


def test_receivables_ageing_buckets(sales_uow):
    uow = sales_uow(ADMIN)
    seed_receivables(uow.session)
    report = reports.receivables_ageing(uow.session, ADMIN, as_of=AS_OF)
    assert buckets(report["buckets"]) == [("0-30", D("1800.00"), 3), ("31-60", D("2000.00"), 1),
                                          ("61-90", D("700.00"), 1), ("90+", D("4123.45"), 2)]
    assert (report["total"], report["invoices"]) == (D("8623.45"), 7)
    assert [(o["owner"], [b["amount"] for b in o["buckets"]], o["total"]) for o in report["by_owner"]] == [
        ("rep-1", [D("1800.00"), D("2000.00"), D("700.00"), D("0.00")], D("4500.00")),
        ("rep-2", [D("0.00"), D("0.00"), D("0.00"), D("4000.00")], D("4000.00")),
        ("rep-3", [D("0.00"), D("0.00"), D("0.00"), D("123.45")], D("123.45"))]

    mine = reports.receivables_ageing(uow.session, REP, as_of=AS_OF)
    assert buckets(mine["buckets"]) == [("0-30", D("1800.00"), 3), ("31-60", D("2000.00"), 1),
                                        ("61-90", D("700.00"), 1), ("90+", D("0.00"), 0)]
    assert [o["owner"] for o in mine["by_owner"]] == ["rep-1"]
    region = reports.receivables_ageing(uow.session, MANAGER, as_of=AS_OF)
    assert region["buckets"][3]["amount"] == D("4000.00") and region["total"] == D("8500.00")
    # a month later everything has moved on by a bucket or so
    later = reports.receivables_ageing(uow.session, ADMIN, as_of=date(2025, 7, 31))
    assert buckets(later["buckets"]) == [("0-30", D("1999.00"), 2), ("31-60", D("500.00"), 1),
                                         ("61-90", D("2300.00"), 2), ("90+", D("4823.45"), 3)]


def test_arrears_list_per_owner_with_dunning_levels(sales_uow):
    uow = sales_uow(ADMIN)
    seed = seed_receivables(uow.session)
    report = reports.arrears_list(uow.session, ADMIN, as_of=AS_OF)
    assert [o["owner"] for o in report["owners"]] == ["rep-1", "rep-2", "rep-3"]
    rep1 = report["owners"][0]
    assert rep1["total"] == D("3000.00")
    assert [(c["number"], c["amount"], c["days_overdue"], c["dunning_level"], c["dunning_label"],
             c["dunning_label_zh"]) for c in rep1["customers"]] == [
        (seed["c2"].number, D("2700.00"), 90, 3, "final notice", "最后催款通知"),
        (seed["c1"].number, D("300.00"), 30, 1, "reminder", "付款提醒")]
    assert [(i["number"], i["outstanding"], i["days_overdue"], i["dunning_level"])
            for i in rep1["customers"][0]["invoices"]] == [
        (seed["A5"].number, D("700.00"), 90, 3), (seed["A4"].number, D("2000.00"), 31, 2)]
    assert rep1["customers"][1]["invoices"][0]["amount"] == D("800.00")
    assert [(c["name"], c["amount"], c["days_overdue"], c["dunning_level"])
            for o in report["owners"][1:] for c in o["customers"]] == [
        ("欠款三号", D("4000.00"), 91, 3), ("欠款四号", D("123.45"), 166, 3)]
    assert report["total"] == D("7123.45")

    assert [o["owner"] for o in reports.arrears_list(uow.session, REP2, as_of=AS_OF)["owners"]] == ["rep-2"]
    assert reports.arrears_list(uow.session, ADMIN, owner="rep-1", as_of=AS_OF)["total"] == D("3000.00")
    with pytest.raises(Forbidden):
        reports.arrears_list(uow.session, REP, owner="rep-2", as_of=AS_OF)
    # nothing is overdue before the first due date
    assert reports.arrears_list(uow.session, ADMIN, as_of=date(2025, 1, 15))["owners"] == []


# ---- arguments -----------------------------------------------------------------------------------

def test_bad_arguments_name_the_field():
    with pytest.raises(ValidationFailed) as err:
        load(SalesArgs(), {"start": "2025-01-01", "end": "2025-03-31", "period": "week"})
    assert list(err.value.details) == ["period"]
    with pytest.raises(ValidationFailed) as err:
        load(SalesArgs(), {"start": "2025-05-01", "end": "2025-03-31"})
    assert list(err.value.details) == ["end"]
    with pytest.raises(ValidationFailed) as err:
        load(SalesArgs(), {"start": "2025-01-01", "end": "not a date", "by": "colour"})
    assert set(err.value.details) == {"end", "by"}
    with pytest.raises(ValidationFailed) as err:
        load(FunnelArgs(), {"period": "2025-13"})
    assert list(err.value.details) == ["period"]
    assert load(FunnelArgs(), {"period": "2025-Q3"})["period"].first == date(2025, 7, 1)
