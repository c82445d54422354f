"""Credit check of an order against the customer's credit limit.

Why: selling on credit to a customer who already owes more than the company allows is
the risk the credit limit (信用额度) caps.  The rules:

- exposure = value (gross) of the customer's open orders not yet invoiced + its unpaid
  invoices (outstanding amounts); the order being checked is added to that.  Which
  orders are "open" is listed in :data:`sales.domain.orders.EXPOSURE_STATES` (orders on
  credit hold count too: each may still be released, so ignoring them would let a
  customer exceed the limit by placing several orders at once).
- The limit is the customer's own; exposure *equal* to the limit is allowed, one cent
  over is not.
- Policy ``none`` never checks (outcome ``pass``); ``warn`` accepts the order and the
  service records the warning (outcome ``warn``); ``block`` puts the order on credit
  hold (outcome ``hold``) for a credit manager to release or for cancellation.
- A customer with policy warn/block but no limit (None) is treated as having a limit
  of 0: no credit has been granted, so every order with a value is over.  This matches
  the customer service's own ``credit_check``.
- When an order's value rises the check runs again (``check_increase``): a decrease or
  an unchanged value always passes, since only the increase adds exposure; a rise is
  checked with the order's new value on top of everything else, so a rise while the
  customer is already over the limit warns / holds too.
"""

from dataclasses import dataclass
from decimal import Decimal

from guanxi_common.contracts.enums import CREDIT_OUTCOMES, CREDIT_POLICIES

from .errors import DomainRuleError
from .money import ZERO, money, to_decimal

NONE, WARN, BLOCK = POLICIES = CREDIT_POLICIES
PASS, WARNED, HOLD = OUTCOMES = CREDIT_OUTCOMES


class CreditRuleError(DomainRuleError):
    """codes: unknown_credit_policy, invalid_credit_limit, amount_negative, invalid_number."""


@dataclass(frozen=True)
class Exposure:
    """What the customer owes or has ordered before this order."""

    open_orders: Decimal
    unpaid_invoices: Decimal

    @property
    def total(self) -> Decimal:
        return money(self.open_orders) + money(self.unpaid_invoices)


@dataclass(frozen=True)
class CreditDecision:
    outcome: str                 # "pass", "warn" or "hold"
    exposure_after: Decimal      # exposure including this order
    limit: Decimal | None        # the limit applied (0 for warn/block without one; as given for none)
    headroom: Decimal | None     # limit - exposure_after (negative: over by that much); None without a limit
    reason: str                  # for people and the order's audit trail

    @property
    def over_limit(self) -> bool:
        return self.headroom is not None and self.headroom < 0


def _amount(value, field: str) -> Decimal:
    try:
        amount = money(value)
    except DomainRuleError as error:
        raise CreditRuleError(error.code, f"{field}: {error.message}") from None
    if amount < 0:
        raise CreditRuleError("amount_negative", f"{field} cannot be negative ({amount})")
    return amount


def _exposure_total(exposure) -> Decimal:
    if isinstance(exposure, Exposure):
        return _amount(exposure.open_orders, "open_orders") + _amount(exposure.unpaid_invoices, "unpaid_invoices")
    return _amount(exposure, "exposure")


def check_policy(policy: str) -> None:
    if policy not in POLICIES:
        raise CreditRuleError("unknown_credit_policy", f"unknown credit policy {policy!r}; one of {', '.join(POLICIES)}")


def effective_limit(policy: str, credit_limit) -> Decimal | None:
    """The limit the check applies: 0 for warn/block without a limit; as given for none."""
    check_policy(policy)
    if credit_limit is None:
        return None if policy == NONE else ZERO
    try:
        limit = to_decimal(credit_limit, "credit_limit")
    except DomainRuleError as error:
        raise CreditRuleError("invalid_credit_limit", error.message) from None
    if limit < 0:
        raise CreditRuleError("invalid_credit_limit", f"a credit limit cannot be negative ({limit})")
    return money(limit)


def check_credit(policy: str, credit_limit: Decimal | None, exposure: Exposure, order_amount: Decimal) -> CreditDecision:
    """Decide an order of ``order_amount`` on top of ``exposure`` (an ``Exposure`` or a total)."""
    limit = effective_limit(policy, credit_limit)
    after = _exposure_total(exposure) + _amount(order_amount, "order_amount")
    headroom = None if limit is None else limit - after
    if policy == NONE:
        return CreditDecision(PASS, after, limit, headroom, "credit policy 'none': no credit check")
    if headroom >= 0:
        return CreditDecision(PASS, after, limit, headroom,
                              f"exposure {after} is within the credit limit {limit}")
    over = f"exposure {after} exceeds the credit limit {limit} by {-headroom}"
    if policy == WARN:
        return CreditDecision(WARNED, after, limit, headroom, over + "; accepted with a warning (policy 'warn')")
    return CreditDecision(HOLD, after, limit, headroom, over + "; order on credit hold (policy 'block')")


def check_increase(policy: str, credit_limit: Decimal | None, exposure_without_this_order: Exposure,
                   old_amount: Decimal, new_amount: Decimal) -> CreditDecision:
    """Re-check an order whose value changes from ``old_amount`` to ``new_amount``.

    ``exposure_without_this_order`` must not include the order itself.  A decrease or an
    unchanged value passes (the figures are still reported); a rise is decided like a new
    order of ``new_amount``.
    """
    old = _amount(old_amount, "old_amount")
    new = _amount(new_amount, "new_amount")
    if new > old:
        decision = check_credit(policy, credit_limit, exposure_without_this_order, new)
        return CreditDecision(decision.outcome, decision.exposure_after, decision.limit, decision.headroom,
                              f"order value rises from {old} to {new}: {decision.reason}")
    limit = effective_limit(policy, credit_limit)
    after = _exposure_total(exposure_without_this_order) + new
    headroom = None if limit is None else limit - after
    return CreditDecision(PASS, after, limit, headroom,
                          f"order value does not rise ({old} -> {new}): no new credit needed")
