"""Order lifecycle, partner functions and who may order.

Lifecycle (every move is recorded by the service with actor and time):

    credit_hold -> confirmed (released by a credit manager, with a reason) | cancelled
    confirmed   -> shipped | cancelled
    shipped     -> invoiced
    invoiced    -> paid
    paid        -> closed
    closed, cancelled: final

Why: once goods have left (shipped) an order cannot simply be cancelled — that is a
return or a credit note, a document of its own; and an order is closed only when it is
paid, so closing never hides an unpaid receivable.  A move to the state the order is
already in is refused too (``transition_not_allowed``): confirming a confirmed order is
a stale command, and accepting it would record and announce a transition that did not
happen.  A new order starts on credit hold when the credit check says "hold", else
confirmed (a "warn" confirms the order; the warning is recorded).  One move is not in
``TRANSITIONS`` because no user may ask for it: a confirmed order whose value rises
past the limit under policy "block" goes back on credit hold — the credit re-check does
that (``CREDIT_REHOLD``, see ``is_credit_rehold``), never a status change request.

Partner functions (SAP's 售达方/送达方/收票方/付款方): an order names a sold-to, ship-to,
bill-to and payer party, and each party must hold the role of the same name in the
customer replica.  Ship-to, bill-to and payer default to the sold-to where the sold-to
holds that role; otherwise the caller must name a party holding it.

Who may order: prospects and active customers.  Blocked (冻结) and lost customers are
refused, and so are merged (order on the survivor instead) and erased ones.
"""

from collections.abc import Hashable, Iterable, Mapping

from guanxi_common.contracts.enums import ORDER_STATES
from guanxi_common.contracts.enums import PARTNER_FUNCTIONS as _PARTNER_FUNCTIONS

from .errors import DomainRuleError

CREDIT_HOLD, CONFIRMED, SHIPPED, INVOICED, PAID, CLOSED, CANCELLED = STATES = ORDER_STATES
TRANSITIONS = {
    CREDIT_HOLD: frozenset({CONFIRMED, CANCELLED}),
    CONFIRMED: frozenset({SHIPPED, CANCELLED}),
    SHIPPED: frozenset({INVOICED}),
    INVOICED: frozenset({PAID}),
    PAID: frozenset({CLOSED}),
    CLOSED: frozenset(),
    CANCELLED: frozenset(),
}
FINAL_STATES = frozenset(state for state, targets in TRANSITIONS.items() if not targets)
CANCELLABLE_STATES = frozenset({CREDIT_HOLD, CONFIRMED})
# Lines (and so the value) may change only before shipping; a rise re-runs the credit check.
EDITABLE_STATES = frozenset({CREDIT_HOLD, CONFIRMED})
# Orders whose value counts as credit exposure: open and not yet invoiced (once invoiced,
# the invoice's outstanding amount counts instead, so nothing is counted twice).
EXPOSURE_STATES = frozenset({CREDIT_HOLD, CONFIRMED, SHIPPED})
RELEASE = (CREDIT_HOLD, CONFIRMED)
CREDIT_REHOLD = (CONFIRMED, CREDIT_HOLD)  # only by the credit re-check of a value rise

SOLD_TO, SHIP_TO, BILL_TO, PAYER = PARTNER_FUNCTIONS = _PARTNER_FUNCTIONS
PARTNER_LABELS = {
    SOLD_TO: ("Sold-to party", "售达方"),
    SHIP_TO: ("Ship-to party", "送达方"),
    BILL_TO: ("Bill-to party", "收票方"),
    PAYER: ("Payer", "付款方"),
}

ORDERABLE_CUSTOMER_STATUSES = frozenset({"prospect", "active"})


class OrderRuleError(DomainRuleError):
    """codes: unknown_state, transition_not_allowed, order_not_editable, unknown_credit_outcome,
    release_reason_required, unknown_partner_function, partner_role_missing, customer_blocked,
    customer_lost, customer_merged, customer_erased, customer_cannot_order."""


def _known(state: str) -> None:
    if state not in STATES:
        raise OrderRuleError("unknown_state", f"unknown order state {state!r}; one of {', '.join(STATES)}")


def check_transition(old: str, new: str) -> None:
    """Raise ``OrderRuleError('transition_not_allowed')`` unless ``old -> new`` is in ``TRANSITIONS``."""
    _known(old)
    _known(new)
    if old == new:
        raise OrderRuleError("transition_not_allowed", f"the order is already {old}",
                             {"from": old, "to": new})
    if new not in TRANSITIONS[old]:
        allowed = ", ".join(sorted(TRANSITIONS[old])) or "nothing (final state)"
        raise OrderRuleError("transition_not_allowed",
                             f"an order cannot go from {old} to {new}; from {old} it can go to {allowed}",
                             {"from": old, "to": new})


def is_release(old: str, new: str) -> bool:
    """Whether the move is a credit release (needs a credit manager and a reason)."""
    return (old, new) == RELEASE


def is_credit_rehold(old: str, new: str, credit_outcome: str) -> bool:
    """Whether ``old -> new`` is the re-hold a "hold" outcome of a value rise calls for."""
    return (old, new) == CREDIT_REHOLD and credit_outcome == "hold"


def check_release_reason(reason: str | None) -> str:
    """A release is audited: the reason is required; returned stripped."""
    text = (reason or "").strip()
    if not text:
        raise OrderRuleError("release_reason_required", "releasing an order from credit hold needs a reason")
    return text


def check_editable(state: str) -> None:
    """Lines and amounts change only before shipping."""
    _known(state)
    if state not in EDITABLE_STATES:
        raise OrderRuleError("order_not_editable", f"a {state} order cannot be changed",
                             {"state": state})


def initial_state(credit_outcome: str) -> str:
    """credit_hold after a "hold" decision, confirmed after "pass" or "warn"."""
    if credit_outcome == "hold":
        return CREDIT_HOLD
    if credit_outcome in ("pass", "warn"):
        return CONFIRMED
    raise OrderRuleError("unknown_credit_outcome", f"unknown credit outcome {credit_outcome!r}; pass, warn or hold")


def partner_role_violations(roles_by_function: Mapping[str, Iterable[str] | None],
                            party_refs: Mapping[str, Hashable] | None = None) -> list[tuple[str, Hashable | None]]:
    """``[(function, party_ref)]`` for each partner function whose party lacks the role.

    ``roles_by_function`` maps each function to the roles held by the party named for it
    (``None`` or an absent key: no party named, itself a violation); ``party_refs`` maps
    functions to party references for the report (``None`` where not given).  Listed in
    the order of ``PARTNER_FUNCTIONS``.
    """
    unknown = sorted(set(roles_by_function) - set(PARTNER_FUNCTIONS))
    if unknown:
        raise OrderRuleError("unknown_partner_function",
                             f"unknown partner function(s) {', '.join(unknown)}; one of {', '.join(PARTNER_FUNCTIONS)}",
                             {"functions": unknown})
    refs = party_refs or {}
    violations = []
    for function in PARTNER_FUNCTIONS:
        roles = roles_by_function.get(function)
        if roles is None or function not in set(roles):
            violations.append((function, refs.get(function)))
    return violations


def check_partner_roles(roles_by_function: Mapping[str, Iterable[str] | None],
                        party_refs: Mapping[str, Hashable] | None = None,
                        raise_error: bool = True) -> list[tuple[str, Hashable | None]]:
    """Raise ``partner_role_missing`` listing every violation; with ``raise_error=False``
    return the violations instead (``[]`` when all four functions are in order)."""
    violations = partner_role_violations(roles_by_function, party_refs)
    if violations and raise_error:
        parts = []
        for function, ref in violations:
            if roles_by_function.get(function) is None:
                parts.append(f"no {function} party named and none could be defaulted")
            else:
                parts.append(f"{ref if ref is not None else 'the ' + function + ' party'} does not hold the role {function}")
        raise OrderRuleError("partner_role_missing", "; ".join(parts),
                             {"violations": [{"function": f, "party": None if r is None else str(r), "missing_role": f}
                                             for f, r in violations]})
    return violations


def default_partners(sold_to_ref: Hashable, sold_to_roles: Iterable[str]) -> dict[str, Hashable]:
    """The partner functions the sold-to fills itself: sold_to always, and ship_to,
    bill_to, payer where it holds that role.  Missing functions must be named by the caller."""
    roles = set(sold_to_roles)
    partners = {SOLD_TO: sold_to_ref}
    for function in (SHIP_TO, BILL_TO, PAYER):
        if function in roles:
            partners[function] = sold_to_ref
    return partners


def resolve_partners(sold_to_ref: Hashable, sold_to_roles: Iterable[str],
                     named: Mapping[str, Hashable | None] | None = None) -> dict[str, Hashable]:
    """The defaults of ``default_partners`` overridden by the parties the caller named
    (a ``None`` value means "not named").  Check the result with ``check_partner_roles``."""
    partners = default_partners(sold_to_ref, sold_to_roles)
    for function, ref in (named or {}).items():
        if function not in PARTNER_FUNCTIONS:
            raise OrderRuleError("unknown_partner_function",
                                 f"unknown partner function {function!r}; one of {', '.join(PARTNER_FUNCTIONS)}",
                                 {"functions": [function]})
        if ref is not None and function != SOLD_TO:
            partners[function] = ref
    return partners


def check_customer_can_order(status: str, merged=False, erased: bool = False) -> None:
    """Raise unless the customer may place an order.

    ``merged`` is truthy for a merged customer; when it is the survivor's reference (not
    just True) the message names it.  Erased goes first (nothing can be done with an
    erased record), then merged, then the status.
    """
    if erased or status == "erased":
        raise OrderRuleError("customer_erased", "the customer's data was erased; it can no longer order")
    if merged or status == "merged":
        survivor = "" if merged is True or not merged else f" {merged}"
        raise OrderRuleError("customer_merged", f"the customer was merged into another customer{survivor}; "
                                                f"place the order on the survivor",
                             {"merged_into": None if merged is True or not merged else str(merged)})
    if status == "blocked":
        raise OrderRuleError("customer_blocked", "the customer is blocked and cannot order")
    if status == "lost":
        raise OrderRuleError("customer_lost", "the customer is marked lost; win it back (make it active) first")
    if status not in ORDERABLE_CUSTOMER_STATUSES:
        raise OrderRuleError("customer_cannot_order", f"a customer with status {status!r} cannot order")
