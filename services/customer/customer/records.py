"""The stored customer record: what ``get`` answers, kept in the same transaction.

Assembling a record takes six child queries and a marshmallow dump; ``get`` is the most
frequent call (every 360 view), so the dump is stored on the row whenever a customer or
one of its child rows changes, and ``get`` reads one row. A hook on the session does it,
so no write path can forget; rows loaded in bulk without a record fall back to assembly.
"""
import json

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from customer.models import Customer
from customer.schemas import CustomerOut

RECORD = CustomerOut()


def dump(customer):
    return RECORD.dump(customer)


@event.listens_for(Session, "before_flush")
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
        from customer.repository import get_customer
        return dump(get_customer(session, row.id)), row.owner_id, row.province, row.number
    return json.loads(row.record), row.owner_id, row.province, row.number


def backfill(session, batch=500):
    """Store the record of every customer that has none (rows loaded in bulk, bypassing the
    service); returns how many. Commits per batch, so it can run beside the service."""
    from customer.repository import FULL_RECORD

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


def main(argv=None):
    """``python -m customer.records backfill``: fill missing records in the customer database."""
    import argparse

    from guanxi_common.config import database_url
    from guanxi_common.db import make_engine, make_session_factory

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("command", choices=["backfill"])
    parser.add_argument("--url", default=None, help="database URL (default: CUSTOMER_DATABASE_URL)")
    args = parser.parse_args(argv)
    engine = make_engine(args.url or database_url("customer"))
    with make_session_factory(engine)() as session:
        print(f"stored {backfill(session)} records")
    engine.dispose()


if __name__ == "__main__":
    main()
