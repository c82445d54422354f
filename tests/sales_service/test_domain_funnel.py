from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from sales.domain.errors import DomainRuleError
from sales.domain.funnel import (
    DEFAULT_PIPELINE,
    Stage,
    check_lost_reason,
    check_pipeline,
    check_stage_move,
    forecast,
    funnel,
    get_stage,
    initial_stage,
    period_change,
    period_series,
    shift_month,
    weighted_amount,
)

D = Decimal
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def day(n):
    return T0 + timedelta(days=n)


def opp(stage, amount, history, status=None):
    record = {"stage": stage, "amount": D(amount), "stage_history": [(code, day(n)) for code, n in history]}
    if status:
        record["status"] = status
    return record


# Ten opportunities on the default pipeline (lead, qualified, proposal, negotiation, won; lost aside).
TEN = [
    opp("won", "100000", [("lead", 0), ("qualified", 10), ("proposal", 20), ("negotiation", 30), ("won", 40)], "won"),
    opp("won", "50000", [("lead", 0), ("qualified", 5), ("proposal", 15), ("negotiation", 20), ("won", 30)], "won"),
    opp("lost", "80000", [("lead", 0), ("qualified", 4), ("proposal", 14), ("lost", 24)], "lost"),
    opp("lost", "20000", [("lead", 0), ("lost", 6)], "lost"),
    opp("negotiation", "60000", [("lead", 0), ("qualified", 8), ("proposal", 18), ("negotiation", 26)], "open"),
    opp("proposal", "40000", [("lead", 0), ("qualified", 6), ("proposal", 12)], "open"),
    opp("qualified", "30000", [("lead", 0), ("qualified", 2)], "open"),
    opp("lead", "10000", [("lead", 0)], "open"),
    opp("lead", "15000", [("lead", 0)], "open"),
    opp("won", "25000", [("lead", 0), ("proposal", 10), ("won", 20)], "won"),  # skipped qualified
]


def code_of(func, *args, **kwargs):
    with pytest.raises(DomainRuleError) as info:
        func(*args, **kwargs)
    return info.value.code


def test_default_pipeline_is_valid_and_ordered():
    check_pipeline(DEFAULT_PIPELINE)
    assert [(s.code, s.probability) for s in DEFAULT_PIPELINE] == [
        ("lead", D("0.1")), ("qualified", D("0.2")), ("proposal", D("0.5")), ("negotiation", D("0.7")),
        ("won", D("1.0")), ("lost", D("0.0"))]
    assert initial_stage(DEFAULT_PIPELINE).code == "lead"


def test_invalid_pipelines():
    lead, won, lost = (get_stage(DEFAULT_PIPELINE, c) for c in ("lead", "won", "lost"))
    assert code_of(check_pipeline, [lead, lead, won, lost]) == "invalid_pipeline"
    assert code_of(check_pipeline, [lead, won]) == "invalid_pipeline"
    assert code_of(check_pipeline, [lead, Stage("won", "Won", 50, D("0.9"), is_won=True), lost]) == "invalid_pipeline"
    assert code_of(check_pipeline, [Stage("x", "X", 1, D("1.2")), won, lost]) == "probability_out_of_range"


def test_stage_moves():
    assert check_stage_move(DEFAULT_PIPELINE, "lead", "proposal") is True
    assert check_stage_move(DEFAULT_PIPELINE, "negotiation", "qualified") is True  # back is fine
    assert check_stage_move(DEFAULT_PIPELINE, "proposal", "lost") is True
    assert check_stage_move(DEFAULT_PIPELINE, "lead", "lead") is False
    assert check_stage_move(DEFAULT_PIPELINE, "won", "won") is False


@pytest.mark.parametrize("old,new", [("won", "negotiation"), ("lost", "lead"), ("lost", "won"), ("won", "lost")])
def test_no_reopening(old, new):
    assert code_of(check_stage_move, DEFAULT_PIPELINE, old, new) == "stage_closed"


def test_unknown_stage_codes():
    assert code_of(check_stage_move, DEFAULT_PIPELINE, "lead", "demo") == "unknown_stage"
    assert code_of(check_stage_move, DEFAULT_PIPELINE, "demo", "lead") == "unknown_stage"


def test_losing_needs_a_reason():
    lost, won = get_stage(DEFAULT_PIPELINE, "lost"), get_stage(DEFAULT_PIPELINE, "won")
    assert code_of(check_lost_reason, lost, "  ") == "lost_reason_required"
    assert check_lost_reason(lost, " price ") == "price"
    assert check_lost_reason(won, None) is None


def test_weighted_amount():
    assert weighted_amount(D("100000"), D("0.7")) == D("70000.00")
    assert weighted_amount(D("333.33"), D("0.15")) == D("50.00")  # 49.9995 half up
    assert code_of(weighted_amount, D("1"), D("1.5")) == "probability_out_of_range"
    assert code_of(weighted_amount, D("1"), 0.5) == "invalid_number"


def test_funnel_counts_and_values_per_current_stage():
    stages = funnel(TEN, DEFAULT_PIPELINE)["stages"]
    assert list(stages) == ["lead", "qualified", "proposal", "negotiation", "won", "lost"]
    assert stages == {
        "lead": {"count": 2, "value": D("25000.00"), "weighted_value": D("2500.00")},
        "qualified": {"count": 1, "value": D("30000.00"), "weighted_value": D("6000.00")},
        "proposal": {"count": 1, "value": D("40000.00"), "weighted_value": D("20000.00")},
        "negotiation": {"count": 1, "value": D("60000.00"), "weighted_value": D("42000.00")},
        "won": {"count": 3, "value": D("175000.00"), "weighted_value": D("175000.00")},
        "lost": {"count": 2, "value": D("100000.00"), "weighted_value": D("0.00")},
    }


def test_funnel_conversion_from_stage_histories():
    report = funnel(TEN, DEFAULT_PIPELINE)
    # furthest stage reached: lead for all 10; qualified+ for 7 (the skipper counts); proposal+ 6;
    # negotiation+ 4; won 3.  The lost-at-proposal one reached lead..proposal.
    assert report["reached"] == {"lead": 10, "qualified": 7, "proposal": 6, "negotiation": 4, "won": 3}
    assert report["conversion"] == [
        {"from": "lead", "to": "qualified", "rate": D("0.7000")},
        {"from": "qualified", "to": "proposal", "rate": D("0.8571")},     # 6/7
        {"from": "proposal", "to": "negotiation", "rate": D("0.6667")},   # 4/6
        {"from": "negotiation", "to": "won", "rate": D("0.7500")},        # 3/4
    ]


def test_funnel_win_rate_and_status_counts():
    report = funnel(TEN, DEFAULT_PIPELINE)
    assert (report["open"], report["won"], report["lost"]) == (5, 3, 2)
    assert report["win_rate"] == D("0.6000")  # 3 / (3 + 2)
    assert report["unknown_stage"] == 0


def test_funnel_average_days_per_stage_over_finished_stays():
    # lead: 10+5+4+6+8+6+2+10 = 51 over 8 -> 6.375 -> 6.38; qualified: 10+10+10+10+6 = 46 / 5;
    # proposal: 10+5+10+8+10 = 43 / 5; negotiation: 10+10 = 20 / 2
    assert funnel(TEN, DEFAULT_PIPELINE)["avg_days"] == {
        "lead": D("6.38"), "qualified": D("9.20"), "proposal": D("8.60"), "negotiation": D("10.00")}


def test_funnel_average_days_counting_open_stays_up_to_as_of():
    # open stays up to day 30: lead +30 +30 (two leads), qualified +28, proposal +18, negotiation +4
    assert funnel(TEN, DEFAULT_PIPELINE, as_of=day(30))["avg_days"] == {
        "lead": D("11.10"), "qualified": D("12.33"), "proposal": D("10.17"), "negotiation": D("8.00")}


def test_repeated_stays_are_summed_per_opportunity():
    back_and_forth = opp("won", "1000", [("lead", 0), ("qualified", 2), ("proposal", 5), ("qualified", 7),
                                         ("proposal", 10), ("won", 12)])
    report = funnel([back_and_forth])
    assert report["avg_days"] == {"lead": D("2.00"), "qualified": D("6.00"), "proposal": D("4.00"),
                                  "negotiation": None}
    assert report["reached"] == {"lead": 1, "qualified": 1, "proposal": 1, "negotiation": 1, "won": 1}
    assert report["win_rate"] == D("1.0000")  # won by its stage, no status given


def test_partial_days_and_unsorted_history():
    record = {"stage": "qualified", "amount": D("10"),
              "stage_history": [("qualified", T0 + timedelta(hours=36)), ("lead", T0)]}
    assert funnel([record])["avg_days"]["lead"] == D("1.50")


def test_unknown_codes_are_ignored_and_counted():
    records = [{"stage": "retired", "amount": D("5"), "stage_history": [("retired", day(0))]},
               opp("lead", "1", [("demo", 0), ("lead", 1)])]
    report = funnel(records)
    assert report["unknown_stage"] == 1
    assert report["reached"]["lead"] == 1 and report["stages"]["lead"]["count"] == 1
    assert report["avg_days"]["lead"] is None


def test_empty_funnel_has_no_rates():
    report = funnel([])
    assert report["win_rate"] is None
    assert all(step["rate"] is None for step in report["conversion"])


def test_forecast_by_month_owner_and_region():
    records = [
        {"expected_close": date(2026, 3, 15), "amount": D("100000"), "probability": D("0.5"),
         "owner": "rep-1", "region": "广东"},
        {"expected_close": date(2026, 3, 31), "amount": D("40000"), "probability": D("0.25"),
         "owner": "rep-2", "region": "广东"},
        {"expected_close": date(2026, 4, 1), "amount": D("20000"), "probability": None, "stage": "negotiation",
         "owner": "rep-1", "region": "浙江"},
        {"expected_close": None, "amount": D("10000"), "probability": D("0.1"), "owner": "rep-2", "region": "浙江"},
    ]
    result = forecast(records)
    assert result["by_month"] == {"2026-03": D("60000.00"), "2026-04": D("14000.00"), "unscheduled": D("1000.00")}
    assert list(result["by_month"]) == ["2026-03", "2026-04", "unscheduled"]
    assert result["by_owner"] == {"rep-1": D("64000.00"), "rep-2": D("11000.00")}
    assert result["by_region"] == {"广东": D("60000.00"), "浙江": D("15000.00")}
    assert result["total"] == D("75000.00")


@pytest.mark.parametrize("current,previous,change", [
    (D("125"), D("100"), D("0.2500")), (D("80"), D("100"), D("-0.2000")), (D("0"), D("100"), D("-1.0000")),
    (D("1"), D("3"), D("-0.6667")), (D("-50"), D("-100"), D("0.5000")), (D("100"), D("0"), None),
])
def test_period_change(current, previous, change):
    assert period_change(current, previous) == change


def test_month_arithmetic():
    assert shift_month("2026-01", -1) == "2025-12"
    assert shift_month("2025-12", 1) == "2026-01"
    assert shift_month("2026-03", -12) == "2025-03"


def test_period_series_month_on_month_and_year_on_year():
    series = period_series({"2025-03": D("100"), "2026-02": D("200"), "2026-03": D("250")})
    assert series == [
        {"period": "2025-03", "value": D("100"), "mom": None, "yoy": None},
        {"period": "2026-02", "value": D("200"), "mom": None, "yoy": None},
        {"period": "2026-03", "value": D("250"), "mom": D("0.2500"), "yoy": D("1.5000")},
    ]
