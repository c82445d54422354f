"""The report entrypoints in a Nameko container on the real broker: the figures of
test_reports' known data over RPC (money and ratios as Decimal strings, dates ISO), the
caller's scope from the context data, and typed errors across the wire."""
import pytest

from guanxi_common.errors import Forbidden, ValidationFailed
from sales.entrypoints.reports import ReportEntrypoints

from sales_testkit import ADMIN, MANAGER, REP, sales_serving, sales_session
from test_reports import seed_funnel, seed_orders

SalesUnderTest = sales_serving(ReportEntrypoints)


@pytest.fixture
def sales_config(migrated_service_config):
    return migrated_service_config("sales")


@pytest.fixture
def known_data(sales_config):
    """test_reports' opportunities and two years of orders, invoices and payments."""
    with sales_session(sales_config["DB_URIS"]["sales"]) as session:
        seed_funnel(session)
        seed = seed_orders(session)
        return {name: seed[name].number for name in ("c1", "c2")}


@pytest.fixture
def sales_service(container_factory, sales_config, known_data):
    container = container_factory(SalesUnderTest, sales_config)
    container.start()
    return container


def test_reports_over_rpc(sales_service, known_data, rpc_client):
    sales = rpc_client(ADMIN).sales

    funnel = sales.funnel_report()
    assert [(s["code"], s["count"], s["value"], s["weighted_value"], s["reached"], s["avg_days"])
            for s in funnel["stages"]] == [
        ("lead", 1, "20000.00", "2000.00", 5, "2.50"), ("qualified", 0, "0.00", "0.00", 4, "4.00"),
        ("proposal", 1, "80000.00", "40000.00", 3, "5.00"),
        ("negotiation", 1, "30000.00", "21000.00", 2, None),
        ("won", 1, "100000.00", "100000.00", 1, None), ("lost", 1, "50000.00", "0.00", None, None)]
    assert funnel["conversion"][0] == {"from": "lead", "to": "qualified", "rate": "0.8000"}
    assert funnel["win_rate"] == "0.5000" and funnel["period"] is None
    january = sales.funnel_report(period="2025-01")
    assert january["period"] == {"key": "2025-01", "start": "2025-01-01", "end": "2025-01-31"}
    assert january["total"] == {"count": 4, "value": "260000.00", "weighted_value": "161000.00"}

    forecast = sales.forecast_report(months=3, as_of="2025-03-15")
    assert forecast["unscheduled"] == {"count": 3, "weighted": "63000.00"}
    assert [m["key"] for m in forecast["by_month"]] == ["2025-03", "2025-04", "2025-05"]
    assert forecast["window"] == {"start": "2025-03-01", "end": "2025-05-31"}

    monthly = sales.sales_report(start="2025-01-01", end="2025-04-30", by="owner")
    assert monthly["series"][2] == {"period": "2025-03", "start": "2025-03-01", "end": "2025-03-31",
                                    "value": "2200.00", "orders": 2, "mom": "4.5000", "yoy": "1.2000"}
    assert monthly["series"][1]["mom"] is None and monthly["total"] == "3600.00"
    assert [(g["key"], g["total"]) for g in monthly["groups"]] == [
        ("rep-1", "2700.00"), ("rep-3", "500.00"), ("rep-2", "400.00")]

    profit = sales.profit_contribution(start="2024-01-01", end="2025-12-31", period="year")
    assert profit["recognition"] == "invoice"
    assert [(c["number"], c["revenue"], c["cost"], c["contribution"], c["margin_rate"])
            for c in profit["customers"]] == [
        (known_data["c1"], "2700.00", "1500.00", "1200.00", "0.4444"),
        (known_data["c2"], "1000.00", "600.00", "400.00", "0.4000")]

    # only the March 2025 invoice is open: 1921.00 less 921.00 paid, due 2025-04-04
    ageing = sales.receivables_ageing(as_of="2025-06-30")
    assert ageing["buckets"] == [{"bucket": "0-30", "amount": "0.00", "invoices": 0},
                                 {"bucket": "31-60", "amount": "0.00", "invoices": 0},
                                 {"bucket": "61-90", "amount": "1000.00", "invoices": 1},
                                 {"bucket": "90+", "amount": "0.00", "invoices": 0}]
    arrears = sales.arrears_list(as_of="2025-06-30")
    (owner,) = arrears["owners"]
    (customer,) = owner["customers"]
    assert (owner["owner"], customer["number"], customer["amount"], customer["days_overdue"],
            customer["dunning_level"], customer["dunning_label_zh"]) == (
        "rep-1", known_data["c1"], "1000.00", 87, 3, "最后催款通知")
    assert customer["invoices"][0]["due_date"] == "2025-04-04"


def test_scope_and_errors_over_rpc(sales_service, known_data, rpc_client):
    rep = rpc_client(REP).sales
    mine = rep.sales_report(start="2025-01-01", end="2025-04-30")
    assert (mine["owner"], mine["total"]) == ("rep-1", "2700.00")
    assert rpc_client(MANAGER).sales.sales_report(start="2025-01-01", end="2025-04-30")["total"] == "3100.00"
    with pytest.raises(Forbidden):
        rep.arrears_list(owner="rep-2")

    with pytest.raises(ValidationFailed) as err:
        rep.sales_report(start="2025-01-01", end="2025-04-30", period="week")
    assert list(err.value.details) == ["period"]
    with pytest.raises(ValidationFailed) as err:
        rep.funnel_report(period="2025-13")
    assert list(err.value.details) == ["period"]
    with pytest.raises(ValidationFailed) as err:
        rep.profit_contribution(end="2025-04-30")
    assert list(err.value.details) == ["start"]
    with pytest.raises(ValidationFailed) as err:
        rep.forecast_report(months=0, by=["month", "colour"])
    assert set(err.value.details) == {"months", "by.1"}
    with pytest.raises(ValidationFailed) as err:
        rep.receivables_ageing(as_of="30/06/2025")
    assert list(err.value.details) == ["as_of"]
