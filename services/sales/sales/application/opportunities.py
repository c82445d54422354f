"""The pipeline and opportunities (the application layer of the funnel).

The pipeline is data (``pipeline_stages``): migration 0002 loads the domain's
``DEFAULT_PIPELINE``, admins change it with ``define_stage``. An opportunity starts in the
first open stage, moves between stages under ``domain.funnel.check_stage_move`` (won and
lost are final), records every stage it enters with time and actor, and emits
``opportunity.stage_changed`` on every move plus ``opportunity.won`` / ``opportunity.lost``
when it closes — all in the caller's transaction.

The reads are ``sales.queries.opportunities``.
"""
import uuid

from guanxi_common import access
from guanxi_common.clock import utcnow
from guanxi_common.errors import BusinessRuleViolation, domain_rules
from sales.access import ensure_opportunity_write, ensure_write
from sales.adapters.document_numbers import next_number
from sales.adapters.models import Opportunity, PipelineStage, StageChange
from sales.adapters.repository import (OPPORTUNITY_PREFIX, find_customer, find_opportunity,
                                       load_pipeline, opportunities_in_stage)
from sales.domain import funnel
from sales.domain.money import money

NUMBER_PREFIX = OPPORTUNITY_PREFIX
PIPELINE_ROLES = ()  # admin only
ASSIGNERS = ("sales_manager",)  # may create opportunities owned by someone else (and admin)
DEAD_CUSTOMER = ("merged", "erased")


def ensure_customer_usable(customer):
    """New sales work (opportunities, quotes, activities) needs a live customer."""
    if customer.erased or customer.status == "erased":
        raise BusinessRuleViolation(f"customer {customer.number} is erased",
                                    {"rule": "customer_erased", "customer": customer.number})
    if customer.merged_into_id or customer.status == "merged":
        raise BusinessRuleViolation(f"customer {customer.number} was merged; use the survivor",
                                    {"rule": "customer_merged", "customer": customer.number,
                                     "merged_into": customer.merged_into_id})


def owner_for(actor, requested):
    """The owner of new work: the actor, or whom a manager/admin names. Sales knows no
    users: that the named one exists, is active and may hold the work is the gateway's
    check (it holds the users), made before it calls."""
    if requested in (None, actor.user_id):
        return actor.user_id
    access.ensure_role(actor, *ASSIGNERS, action="assign work to someone else")
    return requested


# ---- pipeline -------------------------------------------------------------------------------

def _closing_stage(pipeline, won):
    stages = [s for s in sorted(pipeline, key=lambda s: s.order) if (s.is_won if won else s.is_lost)]
    if not stages:
        raise BusinessRuleViolation("the pipeline has no " + ("won" if won else "lost") + " stage",
                                    {"rule": "invalid_pipeline"})
    return stages[0]


def define_stage(uow, data):
    """Add a stage or change one (admins). The whole pipeline must stay valid, and a stage
    with opportunities in it keeps its won/lost meaning."""
    session = uow.session
    access.ensure_role(uow.actor, *PIPELINE_ROLES, action="configure the sales pipeline")
    row = session.get(PipelineStage, data["code"])
    if row is not None and (row.is_won, row.is_lost) != (data["is_won"], data["is_lost"]):
        in_use = opportunities_in_stage(session, row.code)
        if in_use:
            raise BusinessRuleViolation(f"stage {row.code} has {in_use} opportunities; "
                                        f"its won/lost meaning cannot change",
                                        {"rule": "stage_in_use", "stage": row.code})
    if row is None:
        row = PipelineStage(code=data["code"])
        session.add(row)
    row.name, row.position, row.probability = data["name"].strip(), data["position"], data["probability"]
    row.is_won, row.is_lost = data["is_won"], data["is_lost"]
    session.flush()
    with domain_rules():
        funnel.check_pipeline(load_pipeline(session))
    return row


# ---- opportunities --------------------------------------------------------------------------

def _enter(uow, opportunity, stage_code, at):
    opportunity.stage_history.append(StageChange(stage_code=stage_code, entered_at=at,
                                                 actor_id=uow.actor.user_id))


def create_opportunity(uow, data):
    session, actor = uow.session, uow.actor
    customer = find_customer(session, data["customer"])
    ensure_write(actor, customer, data["customer"])
    ensure_customer_usable(customer)
    owner = owner_for(actor, data.get("owner_id"))
    pipeline = load_pipeline(session)
    if not any(not s.is_closed for s in pipeline):
        raise BusinessRuleViolation("the pipeline has no open stage", {"rule": "invalid_pipeline"})
    first = funnel.initial_stage(pipeline)
    now = utcnow()
    opportunity = Opportunity(
        id=str(uuid.uuid4()), number=next_number(session, NUMBER_PREFIX, now),
        customer_id=customer.id, owner_id=owner, title=data["title"].strip(), amount=data["amount"],
        currency=data.get("currency") or "CNY", expected_close=data.get("expected_close"),
        source_campaign_id=data.get("source_campaign_id"), source_text=data.get("source_text"),
        stage_code=first.code, status=funnel.OPEN, region=customer.province, version=1,
        created_at=now, updated_at=now)
    session.add(opportunity)
    _enter(uow, opportunity, first.code, now)
    session.flush()
    return opportunity


def _event_base(opportunity):
    return {"opportunity_id": opportunity.id, "number": opportunity.number,
            "customer_id": opportunity.customer_id, "owner_id": opportunity.owner_id,
            "region": opportunity.region, "amount": str(money(opportunity.amount)),
            "currency": opportunity.currency}


def _emit(uow, event_type, opportunity, data):
    uow.emit(event_type, "opportunity", opportunity.id, data, number=opportunity.number,
             version=opportunity.version)


def move_stage(uow, ref, stage_code, lost_reason=None):
    """Move to ``stage_code``; a won or lost stage closes the opportunity (see win/lose).
    Moving to the stage it is already in changes nothing and emits nothing."""
    session = uow.session
    opportunity = find_opportunity(session, ref, for_update=True)
    ensure_opportunity_write(uow.actor, opportunity)
    pipeline = load_pipeline(session)
    with domain_rules():
        moved = funnel.check_stage_move(pipeline, opportunity.stage_code, stage_code)
        target = funnel.get_stage(pipeline, stage_code)
        reason = funnel.check_lost_reason(target, lost_reason) if moved else None
    if not moved:
        return opportunity
    old = opportunity.stage_code
    now = utcnow()
    opportunity.stage_code = target.code
    opportunity.version += 1
    opportunity.updated_at = now
    _enter(uow, opportunity, target.code, now)
    if target.is_closed:
        opportunity.status = funnel.WON if target.is_won else funnel.LOST
        opportunity.closed_at = now
        opportunity.lost_reason = reason if target.is_lost else None
    session.flush()
    data = _event_base(opportunity)
    data.update({"from": old, "to": target.code, "probability": str(target.probability),
                 "weighted_amount": str(funnel.weighted_amount(opportunity.amount, target.probability)),
                 "status": opportunity.status, "changed_at": now.isoformat()})
    _emit(uow, "opportunity.stage_changed", opportunity, data)
    if target.is_won:
        _emit(uow, "opportunity.won", opportunity,
              dict(_event_base(opportunity), stage=target.code, won_at=now.isoformat()))
    elif target.is_lost:
        _emit(uow, "opportunity.lost", opportunity,
              dict(_event_base(opportunity), stage=target.code, reason=reason, lost_at=now.isoformat(),
                   lost_from=old))
    return opportunity


def win(uow, ref):
    pipeline = load_pipeline(uow.session)
    return move_stage(uow, ref, _closing_stage(pipeline, won=True).code)


def lose(uow, ref, reason):
    pipeline = load_pipeline(uow.session)
    return move_stage(uow, ref, _closing_stage(pipeline, won=False).code, lost_reason=reason)
