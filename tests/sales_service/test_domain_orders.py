import pytest

from sales.domain.errors import DomainRuleError
from sales.domain.orders import (
    EXPOSURE_STATES,
    PARTNER_FUNCTIONS,
    STATES,
    TRANSITIONS,
    OrderRuleError,
    check_customer_can_order,
    check_editable,
    check_partner_roles,
    check_release_reason,
    check_transition,
    default_partners,
    initial_state,
    is_credit_rehold,
    is_release,
    partner_role_violations,
    resolve_partners,
)

ALLOWED = {
    ("credit_hold", "confirmed"), ("credit_hold", "cancelled"),
    ("confirmed", "shipped"), ("confirmed", "cancelled"),
    ("shipped", "invoiced"), ("invoiced", "paid"), ("paid", "closed"),
}
ALL_ROLES = {"sold_to", "ship_to", "bill_to", "payer"}


def error_of(func, *args, **kwargs):
    with pytest.raises(OrderRuleError) as info:
        func(*args, **kwargs)
    assert isinstance(info.value, DomainRuleError) and info.value.message
    return info.value


def code_of(func, *args, **kwargs):
    return error_of(func, *args, **kwargs).code


@pytest.mark.parametrize("old", STATES)
@pytest.mark.parametrize("new", STATES)
def test_transition_table(old, new):
    if (old, new) in ALLOWED:
        assert check_transition(old, new) is None
    else:
        assert code_of(check_transition, old, new) == "transition_not_allowed"


def test_table_and_transitions_agree():
    assert {(old, new) for old, targets in TRANSITIONS.items() for new in targets} == ALLOWED


@pytest.mark.parametrize("state", STATES)
def test_cancellation_only_before_shipping(state):
    if state in ("credit_hold", "confirmed"):
        check_transition(state, "cancelled")
    else:
        assert code_of(check_transition, state, "cancelled") == "transition_not_allowed"


def test_the_happy_path_runs_end_to_end():
    path = ["credit_hold", "confirmed", "shipped", "invoiced", "paid", "closed"]
    for old, new in zip(path, path[1:]):
        check_transition(old, new)


def test_repeating_a_state_is_refused_with_details():
    error = error_of(check_transition, "confirmed", "confirmed")
    assert error.code == "transition_not_allowed" and "already confirmed" in error.message
    assert error.details == {"from": "confirmed", "to": "confirmed"}


def test_skipping_ahead_is_refused():
    assert code_of(check_transition, "confirmed", "invoiced") == "transition_not_allowed"
    assert code_of(check_transition, "credit_hold", "shipped") == "transition_not_allowed"
    assert code_of(check_transition, "invoiced", "closed") == "transition_not_allowed"


def test_unknown_states():
    assert code_of(check_transition, "draft", "confirmed") == "unknown_state"
    assert code_of(check_transition, "confirmed", "delivered") == "unknown_state"


def test_initial_state_follows_the_credit_outcome():
    assert initial_state("hold") == "credit_hold"
    assert initial_state("pass") == "confirmed"
    assert initial_state("warn") == "confirmed"
    assert code_of(initial_state, "block") == "unknown_credit_outcome"


def test_release_needs_a_reason():
    assert is_release("credit_hold", "confirmed") and not is_release("confirmed", "shipped")
    assert check_release_reason("  paid in advance ") == "paid in advance"
    assert code_of(check_release_reason, "   ") == "release_reason_required"
    assert code_of(check_release_reason, None) == "release_reason_required"


def test_re_hold_only_by_the_credit_re_check():
    assert code_of(check_transition, "confirmed", "credit_hold") == "transition_not_allowed"
    assert is_credit_rehold("confirmed", "credit_hold", "hold")
    assert not is_credit_rehold("confirmed", "credit_hold", "warn")
    assert not is_credit_rehold("shipped", "credit_hold", "hold")


def test_only_unshipped_orders_are_editable():
    check_editable("credit_hold")
    check_editable("confirmed")
    for state in ("shipped", "invoiced", "paid", "closed", "cancelled"):
        assert code_of(check_editable, state) == "order_not_editable"


def test_exposure_counts_open_orders_not_yet_invoiced():
    assert EXPOSURE_STATES == {"credit_hold", "confirmed", "shipped"}


def test_partners_holding_their_roles_pass():
    roles = {"sold_to": ALL_ROLES, "ship_to": {"ship_to"}, "bill_to": {"bill_to", "payer"}, "payer": {"payer"}}
    assert check_partner_roles(roles) == []


def test_a_partner_without_its_role_is_refused_with_details():
    roles = {"sold_to": ALL_ROLES, "ship_to": {"sold_to"}, "bill_to": ALL_ROLES, "payer": {"bill_to"}}
    refs = {"sold_to": "C1", "ship_to": "C2", "bill_to": "C1", "payer": "C3"}
    error = error_of(check_partner_roles, roles, refs)
    assert error.code == "partner_role_missing"
    assert error.details == {"violations": [
        {"function": "ship_to", "party": "C2", "missing_role": "ship_to"},
        {"function": "payer", "party": "C3", "missing_role": "payer"},
    ]}
    assert "C2 does not hold the role ship_to" in error.message
    assert check_partner_roles(roles, refs, raise_error=False) == [("ship_to", "C2"), ("payer", "C3")]


def test_a_missing_partner_function_is_a_violation():
    roles = {"sold_to": {"sold_to"}, "ship_to": {"ship_to"}, "payer": {"payer"}}
    assert partner_role_violations(roles) == [("bill_to", None)]
    assert "no bill_to party" in error_of(check_partner_roles, roles).message
    assert partner_role_violations({**roles, "bill_to": None}) == [("bill_to", None)]


def test_a_sold_to_needs_the_sold_to_role_too():
    roles = {function: {"ship_to", "bill_to", "payer"} for function in PARTNER_FUNCTIONS}
    assert partner_role_violations(roles, {"sold_to": "C9"}) == [("sold_to", "C9")]


def test_unknown_partner_function():
    assert code_of(partner_role_violations, {"end_user": {"end_user"}}) == "unknown_partner_function"


def test_partners_default_to_the_sold_to_where_it_holds_the_role():
    assert default_partners("C1", ALL_ROLES) == {"sold_to": "C1", "ship_to": "C1", "bill_to": "C1", "payer": "C1"}
    assert default_partners("C1", {"sold_to", "payer"}) == {"sold_to": "C1", "payer": "C1"}


def test_named_partners_override_the_defaults():
    partners = resolve_partners("C1", ALL_ROLES, {"ship_to": "C2", "bill_to": None})
    assert partners == {"sold_to": "C1", "ship_to": "C2", "bill_to": "C1", "payer": "C1"}
    # a sold-to without the payer role and no payer named: the check catches the gap
    partial = resolve_partners("C1", {"sold_to", "ship_to", "bill_to"})
    assert "payer" not in partial
    roles = {function: ALL_ROLES for function in partial}
    assert partner_role_violations(roles, partial) == [("payer", None)]
    assert code_of(resolve_partners, "C1", ALL_ROLES, {"carrier": "C5"}) == "unknown_partner_function"


@pytest.mark.parametrize("status", ["prospect", "active"])
def test_prospects_and_active_customers_may_order(status):
    assert check_customer_can_order(status, False, False) is None


@pytest.mark.parametrize("status,code", [("blocked", "customer_blocked"), ("lost", "customer_lost"),
                                         ("merged", "customer_merged"), ("erased", "customer_erased"),
                                         ("archived", "customer_cannot_order")])
def test_other_statuses_are_refused(status, code):
    assert code_of(check_customer_can_order, status, False, False) == code


def test_merged_and_erased_flags_win_over_the_status():
    assert code_of(check_customer_can_order, "active", True, False) == "customer_merged"
    assert code_of(check_customer_can_order, "active", True, True) == "customer_erased"
    assert code_of(check_customer_can_order, "blocked", False, True) == "customer_erased"
    error = error_of(check_customer_can_order, "active", "C00000002", False)
    assert "C00000002" in error.message and error.details == {"merged_into": "C00000002"}
