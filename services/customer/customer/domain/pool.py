"""The customer pool (公海): claiming, releasing and the automatic return.

Why: customers without an owner are shared; a rep may hold only so many, must follow
up or lose the customer back to the pool, and may not grab back a customer straight
after losing or dropping it (otherwise the return rule is a formality).

Times are ``datetime``s of one kind (all aware, normally UTC); a "day" is 24 hours.
A customer is due for return once ``follow_up_days`` full days have passed since the
later of its last follow-up and the moment its owner got it; with neither known it is
not returned (missing data never takes a customer away).  A manager's assignment is not
a claim: it ignores the limit and the cool-down.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from collections.abc import Hashable

from guanxi_common.rules import DomainRuleError


class PoolRuleError(DomainRuleError):
    """codes: not_in_pool, claim_limit_reached, cooldown, not_owner."""


@dataclass(frozen=True)
class PoolPolicy:
    max_claims_per_rep: int
    follow_up_days: int
    reclaim_cooldown_days: int

    def __post_init__(self):
        if self.max_claims_per_rep < 1:
            raise ValueError("max_claims_per_rep must be at least 1")
        if self.follow_up_days < 1:
            raise ValueError("follow_up_days must be at least 1")
        if self.reclaim_cooldown_days < 0:
            raise ValueError("reclaim_cooldown_days cannot be negative")


def cooldown_ends_at(released_at: datetime | None, policy: PoolPolicy) -> datetime | None:
    """When the last owner may claim again (None: no cool-down running)."""
    if released_at is None:
        return None
    return released_at + timedelta(days=policy.reclaim_cooldown_days)


def can_claim(customer_owner: Hashable | None, rep_id: Hashable, rep_current_count: int,
              last_owner: Hashable | None, released_at: datetime | None, now: datetime,
              policy: PoolPolicy) -> None:
    """Raise ``PoolRuleError`` unless ``rep_id`` may claim the customer now."""
    if customer_owner is not None:
        who = "you" if customer_owner == rep_id else "another rep"
        raise PoolRuleError("not_in_pool", f"the customer is not in the pool: it is owned by {who}")
    ends = cooldown_ends_at(released_at, policy)
    if last_owner is not None and last_owner == rep_id and ends is not None and now < ends:
        raise PoolRuleError("cooldown", f"you owned this customer until {released_at.isoformat()}; "
                                        f"you may claim it again from {ends.isoformat()}")
    if rep_current_count >= policy.max_claims_per_rep:
        raise PoolRuleError("claim_limit_reached",
                            f"you already own {rep_current_count} customers (limit {policy.max_claims_per_rep})")


def can_release(customer_owner: Hashable | None, rep_id: Hashable) -> None:
    """A rep releases only a customer they own."""
    if customer_owner is None:
        raise PoolRuleError("not_in_pool", "the customer is already in the pool")
    if customer_owner != rep_id:
        raise PoolRuleError("not_owner", "only the owner can release a customer to the pool")


def return_cutoff(now: datetime, policy: PoolPolicy) -> datetime:
    """Owned customers whose last activity is at or before this instant are due (for queries)."""
    return now - timedelta(days=policy.follow_up_days)


def due_for_return(owner: Hashable | None, last_follow_up_at: datetime | None, owned_since: datetime | None,
                   now: datetime, policy: PoolPolicy) -> bool:
    """Whether an owned customer goes back to the pool for lack of follow-up."""
    if owner is None:
        return False
    known = [t for t in (last_follow_up_at, owned_since) if t is not None]
    if not known:
        return False
    return max(known) <= return_cutoff(now, policy)
