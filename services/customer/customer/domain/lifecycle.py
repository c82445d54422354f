"""Lifecycle status, tier and credit policy of a customer.

Why: reports, the pool and the sales side all read the status, so only meaningful
moves are allowed; "merged" and "erased" are set by the merge and erase operations,
never by an ordinary update, and end the record's life.

Statuses and allowed moves (same status -> same status is always a no-op):
    prospect -> active, lost, blocked
    active   -> lost, blocked
    lost     -> active (won back), blocked
    blocked  -> prospect, active, lost (unblocked to whatever it really is)
    any of these -> merged, erased       (internal only: merge / erase)
    merged   -> erased                   (internal only: a merged person's data may be erased)
    erased   -> nothing
New customers start as prospect or active.

Tiers follow the ABC classification of the seed documents (客户A/B/C): A = key account
(重点客户), B = important (重要客户), C = standard (普通客户, the default).  Marketing's
computed ABC score may suggest a tier; the tier itself is master data set by people.

Credit policy decides what an order beyond the credit limit does: "none" (no check),
"warn" (accept with a warning) or "block" (refuse).  Exposure = open (unpaid) amounts
plus the new order, compared with the limit; a warn/block customer without a limit is
treated as having a limit of 0.
"""

import re
from decimal import Decimal, InvalidOperation

from guanxi_common.contracts.enums import (CREDIT_POLICIES, CUSTOMER_STATUSES, CUSTOMER_TIERS,
                                          INTERNAL_CUSTOMER_STATUSES, PUBLIC_CUSTOMER_STATUSES)
from guanxi_common.rules import DomainRuleError

PROSPECT, ACTIVE, LOST, BLOCKED = PUBLIC_CUSTOMER_STATUSES
MERGED, ERASED = INTERNAL_CUSTOMER_STATUSES
PUBLIC_STATUSES = PUBLIC_CUSTOMER_STATUSES
INTERNAL_STATUSES = INTERNAL_CUSTOMER_STATUSES
STATUSES = CUSTOMER_STATUSES
INITIAL_STATUSES = (PROSPECT, ACTIVE)
DEFAULT_STATUS = PROSPECT
TRANSITIONS = {
    PROSPECT: frozenset({ACTIVE, LOST, BLOCKED}),
    ACTIVE: frozenset({LOST, BLOCKED}),
    LOST: frozenset({ACTIVE, BLOCKED}),
    BLOCKED: frozenset({PROSPECT, ACTIVE, LOST}),
    MERGED: frozenset(),
    ERASED: frozenset(),
}
INTERNAL_TRANSITIONS = {status: frozenset({MERGED, ERASED}) for status in PUBLIC_STATUSES}
INTERNAL_TRANSITIONS.update({MERGED: frozenset({ERASED}), ERASED: frozenset()})

TIERS = CUSTOMER_TIERS
TIER_LABELS = {
    "A": ("Key account", "重点客户"),
    "B": ("Important", "重要客户"),
    "C": ("Standard", "普通客户"),
}
DEFAULT_TIER = "C"

CREDIT_NONE, CREDIT_WARN, CREDIT_BLOCK = CREDIT_POLICIES
DEFAULT_CREDIT_POLICY = CREDIT_NONE
DEFAULT_CURRENCY = "CNY"
_CURRENCY = re.compile(r"[A-Z]{3}")


class LifecycleRuleError(DomainRuleError):
    """codes: unknown_status, invalid_initial_status, internal_status, terminal_status,
    transition_not_allowed, customer_merged, customer_erased, unknown_tier,
    unknown_credit_policy, invalid_credit_limit."""


def _known(status: str) -> None:
    if status not in STATUSES:
        raise LifecycleRuleError("unknown_status", f"unknown status {status!r}; one of {', '.join(PUBLIC_STATUSES)}")


def check_initial_status(status: str) -> None:
    _known(status)
    if status not in INITIAL_STATUSES:
        raise LifecycleRuleError("invalid_initial_status", f"a new customer is {' or '.join(INITIAL_STATUSES)}")


def check_transition(old: str, new: str, internal: bool = False) -> None:
    """Raise ``LifecycleRuleError`` unless ``old -> new`` is allowed (``internal``: merge/erase)."""
    _known(old)
    _known(new)
    if old == new:
        return
    if new in INTERNAL_STATUSES and not internal:
        operation = {MERGED: "merge", ERASED: "erase"}[new]
        raise LifecycleRuleError("internal_status", f"{new!r} is set only by the {operation} operation")
    allowed = TRANSITIONS[old] | (INTERNAL_TRANSITIONS[old] if internal else frozenset())
    if new not in allowed:
        code = "terminal_status" if old in INTERNAL_STATUSES else "transition_not_allowed"
        raise LifecycleRuleError(code, f"status cannot change from {old} to {new}")


def check_editable(status: str) -> None:
    """Merged and erased records are read-only."""
    if status == MERGED:
        raise LifecycleRuleError("customer_merged", "the customer was merged into another; edit the survivor")
    if status == ERASED:
        raise LifecycleRuleError("customer_erased", "the customer's personal data was erased")


def check_tier(tier: str | None) -> None:
    if tier is not None and tier not in TIERS:
        raise LifecycleRuleError("unknown_tier", f"unknown tier {tier!r}; one of {', '.join(TIERS)}")


def check_credit_policy(policy: str) -> None:
    if policy not in CREDIT_POLICIES:
        raise LifecycleRuleError("unknown_credit_policy",
                                 f"unknown credit policy {policy!r}; one of {', '.join(CREDIT_POLICIES)}")


def check_credit_limit(amount, currency: str) -> Decimal:
    """A credit limit as a non-negative Decimal with an ISO 4217 currency code."""
    if isinstance(amount, float) or isinstance(amount, bool):
        raise LifecycleRuleError("invalid_credit_limit", "money is a Decimal or a string, never a float")
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        raise LifecycleRuleError("invalid_credit_limit", f"{amount!r} is not an amount") from None
    if not value.is_finite() or value < 0:
        raise LifecycleRuleError("invalid_credit_limit", "a credit limit is a finite amount of 0 or more")
    if not isinstance(currency, str) or not _CURRENCY.fullmatch(currency):
        raise LifecycleRuleError("invalid_credit_limit", f"currency {currency!r} is not an ISO 4217 code like CNY")
    return value


def credit_check(policy: str, credit_limit: Decimal | None, open_amount: Decimal, order_amount: Decimal) -> str:
    """"ok", "warn" or "block" for an order of ``order_amount`` on top of ``open_amount``."""
    check_credit_policy(policy)
    if policy == CREDIT_NONE:
        return "ok"
    limit = credit_limit if credit_limit is not None else Decimal(0)
    if open_amount + order_amount <= limit:
        return "ok"
    return CREDIT_WARN if policy == CREDIT_WARN else CREDIT_BLOCK
