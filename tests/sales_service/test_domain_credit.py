from decimal import Decimal

import pytest

from sales.domain.credit import CreditDecision, Exposure, check_credit, check_increase
from sales.domain.errors import DomainRuleError

D = Decimal
LIMIT = D("10000.00")
EXPOSURE = Exposure(open_orders=D("6000.00"), unpaid_invoices=D("3000.00"))


def code_of(func, *args, **kwargs):
    with pytest.raises(DomainRuleError) as info:
        func(*args, **kwargs)
    return info.value.code


@pytest.mark.parametrize("policy", ["warn", "block"])
def test_exactly_at_the_limit_passes(policy):
    decision = check_credit(policy, LIMIT, EXPOSURE, D("1000.00"))
    assert decision == CreditDecision("pass", D("10000.00"), LIMIT, D("0.00"), decision.reason)
    assert not decision.over_limit and "within" in decision.reason


def test_one_cent_over_warns_under_warn():
    decision = check_credit("warn", LIMIT, EXPOSURE, D("1000.01"))
    assert (decision.outcome, decision.exposure_after, decision.headroom) == ("warn", D("10000.01"), D("-0.01"))
    assert decision.over_limit and "0.01" in decision.reason


def test_one_cent_over_holds_under_block():
    decision = check_credit("block", LIMIT, EXPOSURE, D("1000.01"))
    assert (decision.outcome, decision.exposure_after, decision.headroom) == ("hold", D("10000.01"), D("-0.01"))
    assert "hold" in decision.reason


def test_both_open_orders_and_unpaid_invoices_count():
    assert check_credit("block", LIMIT, Exposure(D("9000"), D("0")), D("1000")).outcome == "pass"
    assert check_credit("block", LIMIT, Exposure(D("9000"), D("0.01")), D("1000")).outcome == "hold"
    assert check_credit("block", LIMIT, Exposure(D("0"), D("9000.01")), D("1000")).outcome == "hold"
    assert EXPOSURE.total == D("9000.00")


def test_a_plain_total_works_as_exposure():
    assert check_credit("block", LIMIT, D("9000"), D("1000.01")).outcome == "hold"


def test_policy_none_always_passes():
    decision = check_credit("none", LIMIT, EXPOSURE, D("1000000"))
    assert (decision.outcome, decision.headroom) == ("pass", D("-999000.00"))  # 10000 - (9000 + 1000000)
    unlimited = check_credit("none", None, EXPOSURE, D("1000000"))
    assert (unlimited.outcome, unlimited.limit, unlimited.headroom) == ("pass", None, None)


@pytest.mark.parametrize("policy,outcome", [("warn", "warn"), ("block", "hold")])
def test_no_limit_means_no_credit_under_warn_and_block(policy, outcome):
    decision = check_credit(policy, None, Exposure(D("0"), D("0")), D("0.01"))
    assert (decision.outcome, decision.limit, decision.headroom) == (outcome, D("0"), D("-0.01"))
    assert check_credit(policy, None, Exposure(D("0"), D("0")), D("0")).outcome == "pass"


def test_bad_input_is_refused():
    assert code_of(check_credit, "strict", LIMIT, EXPOSURE, D("1")) == "unknown_credit_policy"
    assert code_of(check_credit, "block", D("-1"), EXPOSURE, D("1")) == "invalid_credit_limit"
    assert code_of(check_credit, "block", LIMIT, EXPOSURE, D("-1")) == "amount_negative"
    assert code_of(check_credit, "block", LIMIT, EXPOSURE, 1.5) == "invalid_number"


def test_a_rise_up_to_the_limit_passes_and_one_cent_more_holds():
    without = Exposure(D("5000"), D("3000"))  # 8000 without the order
    assert check_increase("block", LIMIT, without, D("1500"), D("2000")).outcome == "pass"
    decision = check_increase("block", LIMIT, without, D("1500"), D("2000.01"))
    assert (decision.outcome, decision.exposure_after, decision.headroom) == ("hold", D("10000.01"), D("-0.01"))
    assert "rises from 1500.00 to 2000.01" in decision.reason
    assert check_increase("warn", LIMIT, without, D("1500"), D("2000.01")).outcome == "warn"


def test_a_decrease_passes_even_when_already_over():
    without = Exposure(D("9000"), D("3000"))  # already 12000, over the limit without the order
    decision = check_increase("block", LIMIT, without, D("3000"), D("2500"))
    assert (decision.outcome, decision.exposure_after, decision.headroom) == ("pass", D("14500.00"), D("-4500.00"))
    assert check_increase("block", LIMIT, without, D("3000"), D("3000")).outcome == "pass"


def test_any_rise_while_over_the_limit_holds():
    without = Exposure(D("9000"), D("3000"))
    assert check_increase("block", LIMIT, without, D("100"), D("100.01")).outcome == "hold"
    assert check_increase("none", LIMIT, without, D("100"), D("5000")).outcome == "pass"
