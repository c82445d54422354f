"""Activities (calls, visits, meetings, tasks), visit plans, and a rep's today/overdue lists.

An activity is planned (a due time) and later completed with an outcome, or logged when
it is already done (``done_at`` and an outcome). Completing or logging a done activity
emits ``activity.logged`` in the same transaction — the customer service restarts the
customer's pool follow-up clock from it (``CustomerService.on_activity_logged``). A
cancelled activity did not happen: it emits nothing (``domain.activities.counts_as_follow_up``).

``activity.logged`` data (exactly these keys)::

    {"customer_id": "<replica id = the customer's id>", "occurred_at": "<done_at, UTC ISO 8601>",
     "activity_id": "…", "user_id": "<owner who did it>", "kind": "call|visit|meeting|task",
     "outcome": "completed|no_answer|follow_up|not_interested|rescheduled"}

Days are the office's (Asia/Shanghai): a visit plan is for one office day, a planned visit
without a time is due by the end of that day, and "today" is the office's today.
"""
import uuid
from datetime import timedelta, timezone

from sqlalchemy import select

from guanxi_common.clock import OFFICE_TZ, utcnow
from guanxi_common.errors import BusinessRuleViolation, ValidationFailed, domain_rules
from sales.access import ensure_activity_write, ensure_write
from sales.adapters.models import Activity, VisitPlan
from sales.adapters.repository import find_activity, find_customer, find_opportunity
from sales.application.opportunities import ensure_customer_usable, owner_for
from sales.domain import activities as rules

#: how far ahead of the server's clock a "done" time may be (clock skew of phones)
FUTURE_TOLERANCE = timedelta(minutes=5)


def _check_done_at(done_at, now):
    if done_at > now + FUTURE_TOLERANCE:
        raise BusinessRuleViolation("an activity cannot be done in the future",
                                    {"rule": "done_in_future", "field": "done_at"})


def _linked_opportunity(session, ref, customer):
    if not ref:
        return None
    opportunity = find_opportunity(session, ref)
    if opportunity.customer_id != customer.id:
        raise BusinessRuleViolation(f"opportunity {opportunity.number} is for another customer",
                                    {"rule": "opportunity_customer_mismatch",
                                     "opportunity": opportunity.number})
    return opportunity.id


def _customer_for_work(session, actor, ref):
    customer = find_customer(session, ref)
    ensure_write(actor, customer)
    ensure_customer_usable(customer)
    return customer


def emit_logged(uow, activity):
    """``activity.logged`` for a done activity that counts as following up the customer."""
    if activity.done_at is None or not rules.counts_as_follow_up(activity.outcome):
        return None
    return uow.emit("activity.logged", "activity", activity.id, {
        "customer_id": activity.customer_id,
        "occurred_at": activity.done_at.astimezone(timezone.utc).isoformat(),
        "activity_id": activity.id, "user_id": activity.owner_id,
        "kind": activity.kind, "outcome": activity.outcome})


def log_activity(uow, data):
    """Plan an activity (``due_at``) or log one already done (``done_at`` + outcome)."""
    session, actor = uow.session, uow.actor
    now = utcnow()
    done_at = data.get("done_at")
    if done_at is None and data.get("due_at") is None:
        raise ValidationFailed("say when the activity is due or when it was done",
                               {"due_at": ["due_at or done_at is required"]})
    with domain_rules():
        rules.check_kind(data["kind"])
        rules.check_outcome(data.get("outcome"), done=done_at is not None)
    if done_at is not None:
        _check_done_at(done_at, now)
    customer = _customer_for_work(session, actor, data["customer"])
    activity = Activity(
        id=str(uuid.uuid4()), kind=data["kind"], customer_id=customer.id,
        owner_id=owner_for(actor, data.get("owner_id")), subject=data["subject"].strip(),
        due_at=data.get("due_at"), done_at=done_at, outcome=data.get("outcome"),
        notes=data.get("notes"), created_at=now,
        opportunity_id=_linked_opportunity(session, data.get("opportunity"), customer))
    session.add(activity)
    session.flush()
    emit_logged(uow, activity)
    return activity


def complete_activity(uow, activity_id, data):
    """Record the outcome of a planned activity (done now unless ``done_at`` says when)."""
    session = uow.session
    activity = find_activity(session, activity_id, for_update=True)
    ensure_activity_write(session, uow.actor, activity)
    if activity.done_at is not None:
        raise BusinessRuleViolation(f"activity {activity.id} is already done",
                                    {"rule": "activity_already_done", "activity": activity.id})
    now = utcnow()
    done_at = data.get("done_at") or now
    _check_done_at(done_at, now)
    with domain_rules():
        rules.check_outcome(data.get("outcome"), done=True)
    activity.done_at, activity.outcome = done_at, data["outcome"]
    if data.get("notes") is not None:
        activity.notes = data["notes"]
    session.flush()
    emit_logged(uow, activity)
    return activity


# ---- visit plans ----------------------------------------------------------------------------

def _plan_dict(session, plan):
    visits = session.scalars(select(Activity).where(Activity.visit_plan_id == plan.id)
                             .order_by(Activity.due_at, Activity.created_at)).all()
    return {"id": plan.id, "owner_id": plan.owner_id, "plan_date": plan.plan_date,
            "notes": plan.notes, "created_at": plan.created_at, "visits": visits}


def plan_visits(uow, data):
    """Add visits to a rep's plan for one office day (the plan is made on first use).
    → the plan with all its visits, earliest first."""
    session, actor = uow.session, uow.actor
    owner = owner_for(actor, data.get("owner_id"))
    day = data["date"]
    start, end = rules.day_bounds(day, OFFICE_TZ)
    now = utcnow()
    plan = session.scalars(select(VisitPlan).where(VisitPlan.owner_id == owner,
                                                   VisitPlan.plan_date == day)).first()
    if plan is None:
        plan = VisitPlan(id=str(uuid.uuid4()), owner_id=owner, plan_date=day, created_at=now)
        session.add(plan)
    if data.get("notes") is not None:
        plan.notes = data["notes"]
    for index, visit in enumerate(data["visits"]):
        due_at = visit.get("due_at") or end - timedelta(seconds=1)
        if not start <= due_at < end:
            raise BusinessRuleViolation(f"visit {index + 1} is not on {day}",
                                        {"rule": "visit_outside_plan_day",
                                         "field": f"visits.{index}.due_at"})
        customer = _customer_for_work(session, actor, visit["customer"])
        session.add(Activity(
            id=str(uuid.uuid4()), kind=rules.VISIT, customer_id=customer.id, owner_id=owner,
            subject=(visit.get("subject") or f"拜访 {customer.name}")[:200], due_at=due_at,
            notes=visit.get("notes"), visit_plan_id=plan.id, created_at=now,
            opportunity_id=_linked_opportunity(session, visit.get("opportunity"), customer)))
    session.flush()
    return _plan_dict(session, plan)
