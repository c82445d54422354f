from datetime import datetime, timedelta, timezone

import pytest

from guanxi_common.rules import DomainRuleError
from customer.domain.pool import (
    PoolPolicy,
    PoolRuleError,
    can_claim,
    can_release,
    cooldown_ends_at,
    due_for_return,
    return_cutoff,
)

POLICY = PoolPolicy(max_claims_per_rep=3, follow_up_days=30, reclaim_cooldown_days=7)
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)
DAY = timedelta(days=1)


def claim_error(**overrides):
    args = dict(customer_owner=None, rep_id="rep-1", rep_current_count=0, last_owner=None,
                released_at=None, now=NOW, policy=POLICY)
    args.update(overrides)
    with pytest.raises(PoolRuleError) as info:
        can_claim(**args)
    assert isinstance(info.value, DomainRuleError) and info.value.message
    return info.value.code


def test_a_pool_customer_can_be_claimed():
    assert can_claim(None, "rep-1", 2, None, None, NOW, POLICY) is None
    assert can_claim(None, "rep-1", 0, "rep-2", NOW, NOW, POLICY) is None  # another rep's cool-down is not mine


def test_owned_customers_are_not_in_the_pool():
    assert claim_error(customer_owner="rep-2") == "not_in_pool"
    assert claim_error(customer_owner="rep-1") == "not_in_pool"


def test_claim_limit():
    assert claim_error(rep_current_count=3) == "claim_limit_reached"
    assert claim_error(rep_current_count=10) == "claim_limit_reached"
    can_claim(None, "rep-1", 2, None, None, NOW, POLICY)


def test_last_owner_waits_for_the_cooldown():
    released = NOW - 7 * DAY + timedelta(seconds=1)
    assert claim_error(last_owner="rep-1", released_at=released) == "cooldown"
    assert claim_error(last_owner="rep-1", released_at=NOW) == "cooldown"
    can_claim(None, "rep-1", 0, "rep-1", NOW - 7 * DAY, NOW, POLICY)  # exactly 7 days: allowed again
    assert cooldown_ends_at(NOW, POLICY) == NOW + 7 * DAY
    assert cooldown_ends_at(None, POLICY) is None


def test_no_cooldown_policy():
    policy = PoolPolicy(max_claims_per_rep=3, follow_up_days=30, reclaim_cooldown_days=0)
    can_claim(None, "rep-1", 0, "rep-1", NOW, NOW, policy)


def test_release():
    can_release("rep-1", "rep-1")
    with pytest.raises(PoolRuleError) as info:
        can_release("rep-2", "rep-1")
    assert info.value.code == "not_owner"
    with pytest.raises(PoolRuleError) as info:
        can_release(None, "rep-1")
    assert info.value.code == "not_in_pool"


def test_due_for_return_after_n_days_without_follow_up():
    owned = NOW - 100 * DAY
    assert due_for_return("rep-1", NOW - 30 * DAY, owned, NOW, POLICY)
    assert due_for_return("rep-1", NOW - 31 * DAY, owned, NOW, POLICY)
    assert not due_for_return("rep-1", NOW - 29 * DAY, owned, NOW, POLICY)
    assert not due_for_return("rep-1", NOW - 30 * DAY + timedelta(seconds=1), owned, NOW, POLICY)


def test_a_fresh_owner_gets_the_full_period():
    # old follow-ups by the previous owner do not count against the new one
    assert not due_for_return("rep-1", NOW - 90 * DAY, NOW - 5 * DAY, NOW, POLICY)
    assert not due_for_return("rep-1", None, NOW - 5 * DAY, NOW, POLICY)
    assert due_for_return("rep-1", None, NOW - 30 * DAY, NOW, POLICY)


def test_pool_customers_and_unknown_dates_never_return():
    assert not due_for_return(None, NOW - 90 * DAY, NOW - 90 * DAY, NOW, POLICY)
    assert not due_for_return("rep-1", None, None, NOW, POLICY)


def test_return_cutoff_agrees_with_due_for_return():
    cutoff = return_cutoff(NOW, POLICY)
    assert cutoff == NOW - 30 * DAY
    assert due_for_return("rep-1", cutoff, cutoff, NOW, POLICY)
    assert not due_for_return("rep-1", cutoff + timedelta(microseconds=1), cutoff, NOW, POLICY)


@pytest.mark.parametrize("kwargs", [
    dict(max_claims_per_rep=0, follow_up_days=30, reclaim_cooldown_days=7),
    dict(max_claims_per_rep=3, follow_up_days=0, reclaim_cooldown_days=7),
    dict(max_claims_per_rep=3, follow_up_days=30, reclaim_cooldown_days=-1),
])
def test_policy_is_validated(kwargs):
    with pytest.raises(ValueError):
        PoolPolicy(**kwargs)
