"""Commands of the customer pool: claim, release, assign, follow-ups and the sweep that
returns customers nobody followed up. The rules are customer.domain.pool's; the policy
(claim limit, follow-up days, cooldown) comes from customer.dependencies."""
from datetime import timedelta

from sqlalchemy import func, or_, select

from customer import access
from customer.adapters import repository as repo
from customer.adapters.models import Customer
from customer.application.changes import TERMINAL, emit, ensure_live, record_change, snapshot
from customer.domain import pool
from guanxi_common.clock import utcnow
from guanxi_common.contracts.roles import CUSTOMER_HOLDERS
from guanxi_common.engine import serialize_on
from guanxi_common.errors import BusinessRuleViolation, domain_rules


def _owned_count(session, owner_id):
    return session.scalar(select(func.count()).select_from(Customer).where(
        Customer.owner_id == owner_id, Customer.status.notin_(TERMINAL)))


def _set_owner(uow, customer, owner_id, action, reason=None, now=None):
    """``action`` is the code (claimed, released, assigned, no_follow_up); ``reason`` free text."""
    old = customer.owner_id
    before = snapshot(customer)
    now = now or utcnow()
    if old and not owner_id:
        customer.last_owner_id, customer.released_at = old, now
    customer.owner_id = owner_id
    customer.owned_since = now if owner_id else None
    customer.last_follow_up_at = None
    record_change(uow, customer, before, action, reason)
    emit(uow, "customer.owner_changed", customer,
         {"old_owner_id": old, "new_owner_id": owner_id, "reason": action, "note": reason})
    return customer


def claim(uow, ref, policy, now=None):
    actor = uow.actor
    access.ensure_role(actor, *CUSTOMER_HOLDERS, action="claim from the pool")
    customer = repo.get_customer(uow.session, ref, for_update=True)
    access.ensure_read(actor, customer, ref)  # an owned customer out of scope: as if missing
    ensure_live(customer)
    # Two claims by one rep on different customers must not both see the count below the
    # limit: they queue on the rep (the row lock above only covers the customer).
    serialize_on(uow.session, f"pool-claims:{actor.user_id}")
    with domain_rules(customer=customer.number):
        pool.can_claim(customer.owner_id, actor.user_id, _owned_count(uow.session, actor.user_id),
                       customer.last_owner_id, customer.released_at, now or utcnow(), policy)
    access.ensure_write(actor, customer, ref)  # a manager claims only in their region
    return _set_owner(uow, customer, actor.user_id, "claimed", now=now)


def release(uow, ref, reason=None):
    customer = repo.get_customer(uow.session, ref, for_update=True)
    access.ensure_read(uow.actor, customer, ref)
    ensure_live(customer)
    if customer.owner_id is None:
        raise BusinessRuleViolation(f"customer {customer.number} is already in the pool",
                                    {"rule": "not_owned"})
    if customer.owner_id != uow.actor.user_id:
        access.ensure_role(uow.actor, "sales_manager", action="release another rep's customer")
        access.ensure_write(uow.actor, customer, ref)
    return _set_owner(uow, customer, None, "released", reason)


def assign(uow, ref, owner_id):
    """The service knows no users: that ``owner_id`` names an active user who may hold this
    customer is checked by the caller that knows them (the gateway, before it calls)."""
    access.ensure_role(uow.actor, "sales_manager", action="assign a customer")
    customer = repo.get_customer(uow.session, ref, for_update=True)
    access.ensure_write(uow.actor, customer, ref)
    ensure_live(customer)
    if customer.owner_id == owner_id:
        return customer
    return _set_owner(uow, customer, owner_id, "assigned" if owner_id else "released")


def record_follow_up(uow, ref, occurred_at, authorize=True):
    """A logged activity restarts the pool clock; older news never moves it back.

    ``authorize=False`` for ``activity.logged`` events: a fact sales reports, not a request.
    """
    if authorize:
        access.ensure_role(uow.actor, "sales_rep", "sales_manager", action="record a follow-up")
    customer = repo.get_customer(uow.session, ref, full=False)
    if authorize:
        access.ensure_write(uow.actor, customer, ref)
    if customer.merged_into_id:
        customer = repo.get_customer(uow.session, customer.merged_into_id, full=False)
    last = customer.last_follow_up_at
    if last is None or occurred_at > last:
        customer.last_follow_up_at = occurred_at
    return customer


def return_idle_customers(uow, policy, now=None, batch=500):
    """Owned customers with no follow-up for ``follow_up_days`` go back to the pool."""
    access.ensure_role(uow.actor, "sales_manager", action="return idle customers to the pool")
    now = now or utcnow()
    cutoff = now - timedelta(days=policy.follow_up_days)
    stmt = (select(Customer).where(
        Customer.owner_id.isnot(None), Customer.status.notin_(TERMINAL),
        or_(Customer.last_follow_up_at < cutoff,
            Customer.last_follow_up_at.is_(None) & (Customer.owned_since < cutoff)))
        .limit(batch).with_for_update(skip_locked=True))  # replicas sweep disjoint rows
    returned = []
    for customer in uow.session.scalars(stmt).all():
        if pool.due_for_return(customer.owner_id, customer.last_follow_up_at,
                               customer.owned_since, now, policy):
            _set_owner(uow, customer, None, "no_follow_up", now=now)
            returned.append(customer.number)
    return returned
