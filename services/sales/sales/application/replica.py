"""The customer replica: sales' own copy of the customer master data, fed by the customer
events and, on first start, by the customer service's export.

Commands on a session or a UnitOfWork; no Nameko here (entrypoints/replica.py wires them
to the broker, ``queries/replica.py`` reads the replica). No record-level authorization either: event handlers run as
the user who caused the event (without roles), and the replica must take every change.

Ordering rules (delivery is at least once and may be out of order):

- ``customer.created`` / ``customer.updated`` carry the full record; it is applied only
  when its version is *newer* than the replica's (equal or older is a redelivery or a
  late event);
- ``customer.owner_changed`` shares the version of the ``customer.updated`` of the same
  change, so it is applied when its version is *at least* the replica's; it does not
  raise the replica's version, so that ``customer.updated`` of the same version is still
  applied when it arrives second (it may carry earlier changes the replica missed). The
  price: an older owner change arriving after a newer one whose ``customer.updated`` is
  still on its way wins for a moment; that ``customer.updated`` (same transaction, so
  always delivered) then sets the right owner. Exact per-field ordering would need an
  owner version column;
- ``customer.merged`` and ``customer.erased`` are applied whatever the version (once, by
  the inbox): a merge re-points the victim's sales records, an erasure must never be
  skipped. Both states are terminal in the customer service, so the replica keeps them
  even when an older snapshot arrives afterwards ("sticky").
"""
import logging

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect

from guanxi_common.clock import utcnow
from guanxi_common.contracts.sales.replica import (CustomerErasedIn, CustomerMergedIn,
                                                   CustomerOwnerChangedIn, CustomerReplicaIn)
from guanxi_common.errors import NotFound, ValidationFailed
from guanxi_common.validation import load
from sales.adapters.customer_client import parse_export_line
from sales.adapters.models import (Activity, CustomerReplica, Invoice, Opportunity, Order, Payment,
                                   Quote)
from sales.adapters.repository import (CATCH_UP_CONSUMER, CATCH_UP_KEY, CATCH_UP_TYPE,
                                       caught_up_at)

log = logging.getLogger(__name__)

#: Every sales column that points at a customer; a merge moves them all to the survivor.
CUSTOMER_REFERENCES = (
    Opportunity.customer_id, Quote.customer_id,
    Order.sold_to_id, Order.ship_to_id, Order.bill_to_id, Order.payer_id,
    Invoice.customer_id, Payment.customer_id, Activity.customer_id,
)


ERASED_TEXT = "[已删除]"


def erased_name(number):
    return f"已删除 {number}"


def _is_number(ref):
    return bool(ref) and ref[:1].upper() == "C" and ref[1:].isdigit()


# ---- records --------------------------------------------------------------------------------

def apply_record(session, record, version=None):
    """Upsert the replica row of ``record`` (a CustomerOut) if ``version`` (default: the
    record's own) is newer than the row's. Returns whether it applied.

    ``merged_into`` is a customer *number* on the wire; it is stored as the survivor's id
    when the replica knows the survivor, else as the number until ``customer.merged``
    (which always follows and names both ids) replaces it.
    """
    data = load(CustomerReplicaIn(), record, field="customer")
    version = data["version"] if version is None else version
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValidationFailed("a customer record needs a positive integer version",
                               {"version": ["must be a positive integer"]})
    row = _locked(session, data["id"])
    if row is None:
        if _insert(session, data, version):
            return True
        row = _locked(session, data["id"])  # a concurrent writer inserted it first
    if version <= row.version:
        log.debug("replica %s: version %s ignored (have %s)", data["number"], version,
                  row.version)
        return False
    _fill(session, row, data, version)
    return True


def _locked(session, customer_id):
    # FOR UPDATE on PostgreSQL keeps two writers from interleaving read-compare-write
    # (SQLite writers are serialised by the unit of work's lock and ignore it).
    return session.scalars(select(CustomerReplica).where(CustomerReplica.id == customer_id)
                           .with_for_update().execution_options(populate_existing=True)).first()


def _values(session, data, version, row=None):
    merged_into = _resolve_merged_into(session, data["merged_into"])
    if merged_into is None and row is not None and data["status"] == "merged":
        merged_into = row.merged_into_id
    values = {key: data[key] for key in ("number", "name", "party_type", "status",
                                         "credit_limit", "credit_currency", "credit_policy",
                                         "owner_id", "province", "city", "tier", "erased")}
    values.update(roles=sorted(set(data["roles"])), merged_into_id=merged_into,
                  version=version, updated_at=utcnow())
    if row is not None:
        _keep_terminal_state(row, values)
    if values["erased"]:
        values["name"] = erased_name(values["number"])
    return values


def _keep_terminal_state(row, values):
    """Merges and erasures are final in the customer service: an older snapshot that
    still shows the customer live (e.g. delivered after ``customer.merged``) must not
    revive it, nor bring personal data back."""
    if row.erased:
        values.update(erased=True, status="erased")
    elif row.status == "merged" and values["status"] != "erased":
        values["status"] = "merged"
        values["merged_into_id"] = values["merged_into_id"] or row.merged_into_id


def _resolve_merged_into(session, ref):
    if not ref:
        return None
    if not _is_number(ref):
        return ref  # already an id
    survivor_id = session.scalar(select(CustomerReplica.id)
                                 .where(CustomerReplica.number == ref.upper()))
    return survivor_id or ref.upper()


def _insert(session, data, version):
    """INSERT … ON CONFLICT DO NOTHING: True when this call created the row."""
    values = {"id": data["id"], **_values(session, data, version)}
    module = pg_dialect if session.get_bind().dialect.name == "postgresql" else sqlite_dialect
    stmt = module.insert(CustomerReplica).values(**values).on_conflict_do_nothing(
        index_elements=["id"])
    return session.execute(stmt).rowcount == 1


def _fill(session, row, data, version):
    for key, value in _values(session, data, version, row).items():
        setattr(row, key, value)
    session.flush()


# ---- events ---------------------------------------------------------------------------------

def apply_event(uow, event):
    """Apply one customer event to the replica (inside the caller's ``with uow:``).

    Returns whether it changed anything. Unknown types are logged and ignored; malformed
    events raise ValidationFailed (the consumer parks them at once).
    """
    if not isinstance(event, dict):
        raise ValidationFailed("an event must be an object", {"_schema": ["must be an object"]})
    handler = EVENT_HANDLERS.get(event.get("type"))
    if handler is None:
        log.warning("customer replica: event type %r ignored (event %s)", event.get("type"),
                    event.get("event_id"))
        return False
    return handler(uow.session, event)


def _aggregate(event, version_required=True):
    agg = event.get("aggregate")
    if not isinstance(agg, dict) or not isinstance(agg.get("id"), str) or not agg["id"]:
        raise ValidationFailed("the event names no customer", {"aggregate.id": ["required"]})
    version = agg.get("version")
    if version is None and not version_required:
        return agg["id"], None
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValidationFailed("the event carries no customer version",
                               {"aggregate.version": ["must be a positive integer"]})
    return agg["id"], version


def _data(event, schema):
    return load(schema, event.get("data"), field="data")


def _on_snapshot(session, event):
    data = event.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("customer"), dict):
        raise ValidationFailed("the event carries no customer record",
                               {"data.customer": ["must be an object"]})
    record = data["customer"]
    agg_id, version = _aggregate(event, version_required=False)
    if record.get("id") != agg_id:
        raise ValidationFailed("the record is not the event's customer",
                               {"data.customer.id": ["must be the aggregate's id"]})
    return apply_record(session, record, version if version is not None
                        else record.get("version"))


def _on_owner_changed(session, event):
    customer_id, version = _aggregate(event)
    data = _data(event, CustomerOwnerChangedIn())
    row = _locked(session, customer_id)
    if row is None:
        # the customer.created/updated that brings the row carries the owner as well
        log.info("customer replica: owner change of unknown customer %s skipped", customer_id)
        return False
    if version < row.version:
        return False
    # same version as the customer.updated of the same change: apply, but leave the
    # version alone so that the customer.updated is still applied if it comes second
    row.owner_id, row.updated_at = data["new_owner_id"], utcnow()
    session.flush()
    return True


def _on_merged(session, event):
    data = _data(event, CustomerMergedIn())
    survivor, victim = data["survivor"], data["victim"]
    if survivor["id"] == victim["id"]:
        raise ValidationFailed("a customer cannot be merged into itself",
                               {"data.victim.id": ["must differ from the survivor"]})
    return merge(session, survivor["id"], victim["id"])


def merge(session, survivor_id, victim_id):
    """Mark the victim merged into the survivor and move every sales record of the victim
    to the survivor (bulk UPDATEs). Not version-gated: the inbox applies it once, and
    repeating it changes nothing. Returns whether the victim was known."""
    victim = _locked(session, victim_id)
    if victim is None:
        # nothing of sales can point at it (foreign keys); its customer.updated (status
        # merged, merged_into) will still arrive and is applied as usual
        log.info("customer replica: merged victim %s unknown, nothing to re-point", victim_id)
        return False
    if session.get(CustomerReplica, survivor_id) is None and _referenced(session, victim_id):
        # the records cannot point at a customer sales does not know yet: retry later
        raise NotFound(f"merge survivor {survivor_id} is not in the sales replica yet",
                       {"survivor": survivor_id})
    for column in CUSTOMER_REFERENCES:
        session.execute(update(column.class_).where(column == victim_id)
                        .values({column.key: survivor_id})
                        .execution_options(synchronize_session="fetch"))
    # earlier victims of this victim now follow the new survivor (one hop to the live one)
    session.execute(update(CustomerReplica)
                    .where(CustomerReplica.merged_into_id.in_((victim_id, victim.number)))
                    .values(merged_into_id=survivor_id)
                    .execution_options(synchronize_session="fetch"))
    victim.merged_into_id = survivor_id
    if not victim.erased:
        victim.status = "merged"
    victim.updated_at = utcnow()
    session.flush()
    return True


def _referenced(session, customer_id):
    return any(session.scalar(select(column).where(column == customer_id).limit(1)) is not None
               for column in CUSTOMER_REFERENCES)


def _on_erased(session, event):
    customer_id, version = _aggregate(event)
    ref = _data(event, CustomerErasedIn())["customer"]
    if ref["id"] != customer_id:
        raise ValidationFailed("the erased customer is not the event's customer",
                               {"data.customer.id": ["must be the aggregate's id"]})
    row = _locked(session, customer_id)
    if row is None:
        # a tombstone at the erasure's version: a late customer.created/updated with the
        # personal data is then older and ignored. Only persons can be erased.
        session.add(CustomerReplica(
            id=customer_id, number=ref["number"], name=erased_name(ref["number"]),
            party_type="person", status="erased", roles=[], credit_currency="CNY",
            credit_policy="none", erased=True, version=version, updated_at=utcnow()))
        session.flush()
        return True
    # Not version-gated: an erasure is never skipped. Number, roles, credit, owner and
    # region stay: orders and invoices still refer to the customer.
    row.name, row.erased, row.status = erased_name(row.number), True, "erased"
    row.city = None
    row.version, row.updated_at = max(row.version, version), utcnow()
    # what reps typed about the person (visit subjects, notes) is personal data too
    session.execute(update(Activity).where(Activity.customer_id == customer_id)
                    .values(subject=ERASED_TEXT, notes=None))
    session.flush()
    return True


EVENT_HANDLERS = {
    "customer.created": _on_snapshot,
    "customer.updated": _on_snapshot,
    "customer.owner_changed": _on_owner_changed,
    "customer.merged": _on_merged,
    "customer.erased": _on_erased,
}


# ---- catch-up from the export ---------------------------------------------------------------

def catch_up(uow, fetch_batch, force=False):
    """Fill the replica from the customer service's export, once.

    ``fetch_batch(after)`` returns a ``customer.export_batch(after, limit, "jsonl")``
    result: ``{"lines": [...], "next_after": int, "done": bool}``. Each record is applied
    with ``apply_record`` at its own version, so records the events already brought (or
    newer ones) win; it is safe to run while events are consumed and to run again.

    The export leaves out merged and erased customers: sales never needs to create orders
    for them, and a later event about one of them carries its full record (an erasure
    makes a tombstone). Sales records can only point at customers the replica holds.

    Each batch commits in its own transaction (``with uow:``), and the batch is fetched
    outside any transaction, so no lock is held during an RPC. The last batch also
    records the catch-up in the inbox; afterwards this returns None at once. A failure
    midway leaves what was committed, and the next run starts again from the beginning.
    Returns the number of records applied (None when it had been done already).
    """
    if not force:
        with uow:
            if caught_up_at(uow.session) is not None:
                return None
    after, applied = 0, 0
    while True:
        batch = fetch_batch(after)
        if not isinstance(batch, dict) or not isinstance(batch.get("lines"), list):
            raise ValidationFailed("the export batch is not an object with lines",
                                   {"batch": ["must be an object with lines"]})
        records = [parse_export_line(line) for line in batch["lines"]]
        next_after, done = batch.get("next_after"), bool(batch.get("done"))
        with uow:
            applied += sum(apply_record(uow.session, record, record.get("version"))
                           for record in records)
            if done or next_after is None or next_after <= after:
                # done; or a batch that does not move on, which would loop forever
                uow.first_delivery(CATCH_UP_KEY, CATCH_UP_CONSUMER, CATCH_UP_TYPE)
                break
        after = next_after
    log.info("customer replica caught up from the export: %d record(s) applied", applied)
    return applied
