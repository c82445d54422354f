from decimal import Decimal

import pytest

from customer.domain.lifecycle import (
    CREDIT_POLICIES,
    DEFAULT_TIER,
    STATUSES,
    TIERS,
    LifecycleRuleError,
    check_credit_limit,
    check_credit_policy,
    check_editable,
    check_initial_status,
    check_tier,
    check_transition,
    credit_check,
)

ALLOWED = {
    ("prospect", "active"), ("prospect", "lost"), ("prospect", "blocked"),
    ("active", "lost"), ("active", "blocked"),
    ("lost", "active"), ("lost", "blocked"),
    ("blocked", "prospect"), ("blocked", "active"), ("blocked", "lost"),
}
PUBLIC = ("prospect", "active", "lost", "blocked")


def code_of(func, *args, **kwargs):
    with pytest.raises(LifecycleRuleError) as info:
        func(*args, **kwargs)
    return info.value.code


@pytest.mark.parametrize("old", PUBLIC)
@pytest.mark.parametrize("new", PUBLIC)
def test_public_transition_table(old, new):
    if old == new or (old, new) in ALLOWED:
        check_transition(old, new)
    else:
        assert code_of(check_transition, old, new) == "transition_not_allowed"


def test_active_cannot_go_back_to_prospect():
    assert code_of(check_transition, "active", "prospect") == "transition_not_allowed"


@pytest.mark.parametrize("status", ["merged", "erased"])
def test_internal_statuses_need_the_operation(status):
    assert code_of(check_transition, "active", status) == "internal_status"
    check_transition("active", status, internal=True)
    check_transition("blocked", status, internal=True)


def test_merged_and_erased_are_terminal():
    for new in PUBLIC:
        assert code_of(check_transition, "merged", new) == "terminal_status"
        assert code_of(check_transition, "erased", new, internal=True) == "terminal_status"
    check_transition("merged", "erased", internal=True)  # a merged person's data can still be erased
    assert code_of(check_transition, "erased", "merged", internal=True) == "terminal_status"


def test_unknown_statuses():
    assert code_of(check_transition, "active", "deleted") == "unknown_status"
    assert code_of(check_transition, "ACTIVE", "lost") == "unknown_status"
    assert set(STATUSES) == {"prospect", "active", "lost", "blocked", "merged", "erased"}


def test_initial_status():
    check_initial_status("prospect")
    check_initial_status("active")
    assert code_of(check_initial_status, "lost") == "invalid_initial_status"
    assert code_of(check_initial_status, "merged") == "invalid_initial_status"
    assert code_of(check_initial_status, "new") == "unknown_status"


def test_editable():
    for status in PUBLIC:
        check_editable(status)
    assert code_of(check_editable, "merged") == "customer_merged"
    assert code_of(check_editable, "erased") == "customer_erased"


def test_tiers():
    assert TIERS == ("A", "B", "C") and DEFAULT_TIER == "C"
    for tier in ("A", "B", "C", None):
        check_tier(tier)
    assert code_of(check_tier, "D") == "unknown_tier"
    assert code_of(check_tier, "a") == "unknown_tier"


def test_credit_policies():
    assert CREDIT_POLICIES == ("none", "warn", "block")
    check_credit_policy("warn")
    assert code_of(check_credit_policy, "strict") == "unknown_credit_policy"


def test_credit_limit_validation():
    assert check_credit_limit("1000.50", "CNY") == Decimal("1000.50")
    assert check_credit_limit(Decimal(0), "USD") == Decimal(0)
    for amount, currency in ((1000.5, "CNY"), ("-1", "CNY"), ("abc", "CNY"), ("NaN", "CNY"),
                             ("Infinity", "CNY"), ("100", "cny"), ("100", "RMB¥"), ("100", None)):
        assert code_of(check_credit_limit, amount, currency) == "invalid_credit_limit", (amount, currency)


def test_credit_check():
    limit = Decimal("10000")
    assert credit_check("none", limit, Decimal("9000"), Decimal("5000")) == "ok"
    assert credit_check("warn", limit, Decimal("5000"), Decimal("5000")) == "ok"  # exactly at the limit
    assert credit_check("warn", limit, Decimal("5000"), Decimal("5000.01")) == "warn"
    assert credit_check("block", limit, Decimal("9000"), Decimal("1000.01")) == "block"
    assert credit_check("block", None, Decimal("0"), Decimal("0.01")) == "block"
    assert credit_check("none", None, Decimal("0"), Decimal("99")) == "ok"
    assert code_of(credit_check, "maybe", limit, Decimal(0), Decimal(1)) == "unknown_credit_policy"
