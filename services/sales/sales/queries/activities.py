"""Reading activities: a rep's agenda (today and overdue) and searches.

Days are the office's (Asia/Shanghai): "today" is the office's today.
"""
from sqlalchemy import func, select

from guanxi_common import access
from guanxi_common.clock import OFFICE_TZ, utcnow
from guanxi_common.errors import NotFound, domain_rules
from sales.adapters.models import Activity, CustomerReplica
from sales.adapters.repository import find_customer, find_opportunity
from sales.domain import activities as rules

AGENDA_VIEWERS = ("sales_manager",)  # may see another rep's agenda (and admin)


def agenda(session, actor, owner_id=None, now=None):
    """A rep's open activities due today (office day) and overdue ones, earliest first."""
    owner = owner_id or actor.user_id
    if owner != actor.user_id:
        access.ensure_role(actor, *AGENDA_VIEWERS, action="see another rep's activities")
    now = now or utcnow()
    today = rules.office_day(now, OFFICE_TZ)
    _, end = rules.day_bounds(today, OFFICE_TZ)
    rows = session.scalars(select(Activity).where(
        Activity.owner_id == owner, Activity.done_at.is_(None), Activity.due_at.isnot(None),
        Activity.due_at < end)).all()
    with domain_rules():
        lists = rules.today_and_overdue(rows, now, OFFICE_TZ)
    return {"owner_id": owner, "date": today, "today": lists.today, "overdue": lists.overdue}


def list_activities(session, actor, criteria):
    """Activities the actor may see matching every criterion, newest first, paged."""
    page, size = criteria.get("page", 1), criteria.get("page_size", 50)
    empty = {"items": [], "total": 0, "page": page, "page_size": size}
    stmt = select(Activity)
    scope = access.search_scope(actor)
    if scope is not None:
        if scope.get("nothing"):
            return empty
        if "province" in scope:
            stmt = stmt.join(CustomerReplica, CustomerReplica.id == Activity.customer_id) \
                .where(CustomerReplica.province == scope["province"])
        if "owner_or_pool" in scope:
            stmt = stmt.where(Activity.owner_id == scope["owner_or_pool"])
    if criteria.get("owner_id"):
        stmt = stmt.where(Activity.owner_id == criteria["owner_id"])
    if criteria.get("kind"):
        stmt = stmt.where(Activity.kind == criteria["kind"])
    if criteria.get("open") is not None:
        stmt = stmt.where(Activity.done_at.is_(None) if criteria["open"] else Activity.done_at.isnot(None))
    if criteria.get("due_from"):
        stmt = stmt.where(Activity.due_at >= criteria["due_from"])
    if criteria.get("due_to"):
        stmt = stmt.where(Activity.due_at < criteria["due_to"])
    try:
        if criteria.get("customer"):
            stmt = stmt.where(Activity.customer_id == find_customer(session, criteria["customer"]).id)
        if criteria.get("opportunity"):
            opportunity = find_opportunity(session, criteria["opportunity"])
            stmt = stmt.where(Activity.opportunity_id == opportunity.id)
    except NotFound:
        return empty
    total = session.scalar(select(func.count()).select_from(stmt.subquery()))
    items = session.scalars(stmt.order_by(Activity.created_at.desc(), Activity.id)
                            .limit(size).offset((page - 1) * size)).all()
    return {"items": items, "total": total, "page": page, "page_size": size}
