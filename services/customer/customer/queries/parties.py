"""Reads of one customer: the record and its history."""
import json

from sqlalchemy import func, select

from customer import access
from customer.adapters import records, repository as repo
from customer.adapters.models import HistoryEntry
from guanxi_common.contracts.customer import HistoryEntrySchema
from guanxi_common.errors import NotFound

HISTORY_ENTRIES = HistoryEntrySchema(many=True)


def get(session, actor, ref):
    found = records.load(session, repo.ref_condition(ref))
    if found is None:
        raise NotFound(f"customer {ref} not found", {"customer": ref})
    record, owner_id, province, _ = found
    if not access.can_read(actor, owner_id, province):
        raise access.hidden(ref)
    return record


def history(session, actor, ref, page=1, page_size=50):
    customer = repo.get_customer(session, ref, full=False)
    if not actor.has_role("auditor"):
        access.ensure_read(actor, customer, ref)
    stmt = select(HistoryEntry).where(HistoryEntry.customer_id == customer.id)
    total = session.scalar(select(func.count()).select_from(stmt.subquery()))
    rows = session.scalars(stmt.order_by(HistoryEntry.id.desc()).limit(page_size)
                           .offset((page - 1) * page_size)).all()
    items = HISTORY_ENTRIES.dump(rows)
    for item in items:
        for key in ("old_value", "new_value"):
            item[key] = json.loads(item[key]) if item[key] is not None else None
    return {"customer": customer.number, "items": items, "total": total, "page": page,
            "page_size": page_size}
