"""The stored customer record: what ``get`` answers, kept in the same transaction.

Assembling a record takes six child queries and a marshmallow dump; ``get`` is the most
frequent call (every 360 view), so the dump is stored on the row whenever a customer or
one of its child rows changes, and ``get`` reads one row. A hook on the session does it,
so no write path can forget (every unit of work of the service runs on
:class:`CustomerSession`); rows loaded in bulk without a record fall back to assembly.
"""
import json

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from customer.adapters.models import Customer
from guanxi_common.contracts.customer import CustomerRecordSchema

RECORD = CustomerRecordSchema()
#: record fields read straight off the row (or, for addresses and financials, its children)
_COLUMNS = tuple(name for name in RECORD.fields if name not in (
    "in_pool", "tags", "roles", "phones", "emails", "merged_into", "erased"))


def record_of(customer):
    """The customer record (CustomerRecordSchema) of a row, before dumping."""
    record = {name: getattr(customer, name) for name in _COLUMNS}
    record.update(
        in_pool=customer.owner_id is None and customer.status not in ("merged", "erased"),
        tags=sorted(t.tag for t in customer.tags),
        roles=sorted(r.role_code for r in customer.roles),
        phones=_contacts(customer, "phone"), emails=_contacts(customer, "email"),
        merged_into=customer.merged_into.number if customer.merged_into_id else None,
        erased=customer.erased_at is not None)
    return record


def _contacts(customer, kind):
    return [{"value": c.value, "label": c.label, "is_primary": c.is_primary}
            for c in customer.contact_points if c.kind == kind]


def dump(customer):
    return RECORD.dump(record_of(customer))


def relationship_of(rel):
    """A relationship row as RelationshipSchema dumps it."""
    return {"id": rel.id, "type": rel.type_code, "name": rel.type.name,
            "from_customer": rel.from_customer.number, "to_customer": rel.to_customer.number,
            "from_name": rel.from_customer.name, "to_name": rel.to_customer.name,
            "valid_from": rel.valid_from, "valid_to": rel.valid_to, "note": rel.note,
            "created_at": rel.created_at}


class CustomerSession(Session):
    """The customer service's sessions: the only ones whose flushes refresh records."""


@event.listens_for(CustomerSession, "before_flush")
def _refresh_records(session, flush_context, instances):
    touched = set()
    for obj in list(session.new) + list(session.dirty):
        customer = obj if isinstance(obj, Customer) else getattr(obj, "customer", None)
        if isinstance(customer, Customer) and customer not in session.deleted:
            touched.add(customer)
    for customer in touched:
        customer.record = json.dumps(dump(customer), ensure_ascii=False)


def load(session, condition):
    """(record, owner_id, province, number) or None; assembled when no record is stored."""
    row = session.execute(select(Customer.id, Customer.record, Customer.owner_id, Customer.province,
                                 Customer.number).where(condition)).first()
    if row is None:
        return None
    if row.record is None:
        from customer.adapters.repository import get_customer
        return dump(get_customer(session, row.id)), row.owner_id, row.province, row.number
    return json.loads(row.record), row.owner_id, row.province, row.number


def backfill(session, batch=500):
    """Store the record of every customer that has none (rows loaded in bulk, bypassing the
    service); returns how many. Commits per batch, so it can run beside the service."""
    from customer.adapters.repository import FULL_RECORD

    done = 0
    while True:
        customers = session.scalars(select(Customer).where(Customer.record.is_(None))
                                    .options(*FULL_RECORD).order_by(Customer.seq).limit(batch)).all()
        if not customers:
            return done
        for customer in customers:
            customer.record = json.dumps(dump(customer), ensure_ascii=False)
        session.commit()
        done += len(customers)
