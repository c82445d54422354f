"""Reading the pipeline and opportunities.

Who sees what: a sales rep their own opportunities, managers those of their region
(``Opportunity.region`` = the customer's province when the opportunity was created),
admins, auditors and the system all of them.
"""
from sqlalchemy import func, select

from guanxi_common import access
from guanxi_common.errors import NotFound
from sales.access import ensure_opportunity_read
from sales.adapters.models import Opportunity
from sales.adapters.repository import find_customer, find_opportunity, stage_rows


def pipeline(session):
    """The pipeline's stages by position."""
    return stage_rows(session)


def get_opportunity(session, actor, ref):
    opportunity = find_opportunity(session, ref)
    ensure_opportunity_read(actor, opportunity)
    return opportunity


def list_opportunities(session, actor, criteria):
    """Opportunities the actor may see matching every criterion, newest first, paged."""
    page, size = criteria.get("page", 1), criteria.get("page_size", 50)
    stmt = select(Opportunity)
    scope = access.search_scope(actor)
    if scope is not None:
        if scope.get("nothing"):
            return {"items": [], "total": 0, "page": page, "page_size": size}
        if "province" in scope:
            stmt = stmt.where(Opportunity.region == scope["province"])
        if "owner_or_pool" in scope:
            stmt = stmt.where(Opportunity.owner_id == scope["owner_or_pool"])
    if criteria.get("owner_id"):
        stmt = stmt.where(Opportunity.owner_id == criteria["owner_id"])
    if criteria.get("stage"):
        stmt = stmt.where(Opportunity.stage_code == criteria["stage"])
    if criteria.get("status"):
        stmt = stmt.where(Opportunity.status == criteria["status"])
    if criteria.get("region"):
        stmt = stmt.where(Opportunity.region == criteria["region"])
    if criteria.get("customer"):
        try:
            customer = find_customer(session, criteria["customer"])
        except NotFound:
            return {"items": [], "total": 0, "page": page, "page_size": size}
        stmt = stmt.where(Opportunity.customer_id == customer.id)
    total = session.scalar(select(func.count()).select_from(stmt.subquery()))
    items = session.scalars(stmt.order_by(Opportunity.created_at.desc(), Opportunity.number.desc())
                            .limit(size).offset((page - 1) * size)).all()
    return {"items": items, "total": total, "page": page, "page_size": size}

