"""How every command records a change: the version bump, a history line per changed field
and the event, all in the caller's unit of work; and the guards every command shares."""
import json

from customer.adapters import records
from customer.adapters.models import HistoryEntry
from customer.domain import history
from guanxi_common.clock import utcnow
from guanxi_common.errors import BusinessRuleViolation

#: the statuses that end a record's life: nothing but erasure changes it afterwards
TERMINAL = ("merged", "erased")


def snapshot(customer):
    return records.dump(customer)


def as_json(value):
    return None if value is None else json.dumps(value, ensure_ascii=False, default=str)


def record_history(uow, customer, action, changes, reason=None):
    at = utcnow()
    for change in changes:
        uow.session.add(HistoryEntry(
            customer_id=customer.id, version=customer.version, action=action, field=change.field,
            old_value=as_json(change.old), new_value=as_json(change.new),
            actor_id=uow.actor.user_id, request_id=uow.actor.request_id, reason=reason,
            changed_at=at))


def emit(uow, event_type, customer, data):
    return uow.emit(event_type, "customer", customer.id, data, number=customer.number,
                    version=customer.version)


def record_change(uow, customer, before, action, reason=None):
    """Bump the version, write history and emit ``customer.updated`` if anything changed
    since the snapshot ``before``; returns the changes."""
    after = snapshot(customer)
    changes = history.diff(comparable(before), comparable(after))
    if not changes:
        return []
    customer.version += 1
    customer.updated_at = utcnow()
    uow.session.flush()
    record_history(uow, customer, action, changes, reason)
    data = {"changed_fields": sorted({c.field.split(".")[0] for c in changes}),
            "customer": snapshot(customer)}
    emit(uow, "customer.updated", customer, data)
    return changes


def comparable(record):
    return {k: v for k, v in record.items() if k not in ("version", "updated_at", "created_at")}


def ensure_live(customer):
    if customer.status in TERMINAL:
        detail = {"rule": f"customer_{customer.status}", "customer": customer.number}
        if customer.merged_into_id:
            detail["merged_into"] = customer.merged_into.number
        raise BusinessRuleViolation(f"customer {customer.number} is {customer.status}", detail)
