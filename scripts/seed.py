#!/usr/bin/env python
"""`make seed`: load realistic demo customers through the customer service's application layer.

    .venv/bin/python scripts/seed.py --count 1000 [--seed 20261123] [--batch 200]

Applies the customer migrations, then creates the customers of ``customer.demo`` with
``customer.handlers.create_customer`` inside a ``UnitOfWork`` acting as an admin, input
validated by ``CustomerCreateSchema`` exactly as the RPC does: every rule runs, every
history row and outbox event is real (a running customer service's outbox relay publishes
the events; nothing here needs the services or the broker). Then the later status changes
(some customers become lost or blocked) through ``handlers.update_customer``, and the
relationships (holding groups, employers, contact persons) through
``handlers.add_relationship``. Batches of ``--batch`` customers per transaction.

Re-running adds more customers: the generator continues after the highest customer
sequence already in the database. A customer refused with a Conflict (say its phone is
taken already) is skipped and counted, as are relationships the rules refuse.

The database is the service's: ``CUSTOMER_DATABASE_URL`` (PostgreSQL works) or
var/customer.db; ``--database-url`` overrides both.
"""
import argparse
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from sqlalchemy import func, select  # noqa: E402

from customer import demo, handlers  # noqa: E402
from customer.models import Customer  # noqa: E402
from customer.schemas import (CustomerCreateSchema, CustomerUpdateSchema,  # noqa: E402
                              RelationshipCreateSchema)
from guanxi_common.config import database_url  # noqa: E402
from guanxi_common.context import Actor  # noqa: E402
from guanxi_common.db import UnitOfWork, make_engine, make_session_factory  # noqa: E402
from guanxi_common.errors import BusinessRuleViolation, Conflict, NotFound  # noqa: E402
from guanxi_common.migrations import upgrade  # noqa: E402
from guanxi_common.validation import load  # noqa: E402

ALEMBIC_INI = ROOT / "services" / "customer" / "alembic.ini"
SKIPPABLE = (Conflict, BusinessRuleViolation, NotFound)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1000, help="customers to add (default 1000)")
    parser.add_argument("--seed", type=int, default=demo.DEFAULT_SEED,
                        help="random seed of the generator (same seed, same data)")
    parser.add_argument("--batch", type=int, default=200, help="customers per transaction")
    parser.add_argument("--start", type=int, default=None,
                        help="index of the first demo customer (default: after the highest "
                             "customer sequence in the database)")
    parser.add_argument("--database-url", default=None,
                        help="default: CUSTOMER_DATABASE_URL or var/customer.db")
    parser.add_argument("--quiet", action="store_true", help="only the summary")
    args = parser.parse_args(argv)
    if args.count < 0 or args.batch < 1 or (args.start is not None and args.start < 0):
        parser.error("--count and --start must be >= 0 and --batch >= 1")
    return args


def seed(url, count, seed_value=demo.DEFAULT_SEED, batch=200, start=None, log=print):
    """Create ``count`` demo customers and their relationships on ``url``; returns the summary."""
    started = time.monotonic()
    upgrade("customer", str(ALEMBIC_INI), url)
    engine = make_engine(url)
    try:
        sessions = make_session_factory(engine)
        actor = Actor(user_id="seed", roles=frozenset({"admin"}),
                      request_id=f"seed-{uuid.uuid4().hex[:12]}")
        if start is None:
            with sessions() as session:
                start = session.scalar(select(func.max(Customer.seq))) or 0
        data = demo.generate(count, seed_value, start=start)
        summary = {"created": 0, "companies": 0, "persons": 0, "in_pool": 0,
                   "skipped_conflicts": 0, "duplicate_warnings": 0, "status_changes": 0,
                   "relationships": 0, "relationships_skipped": 0}
        ids = _create_customers(sessions, actor, data, batch, summary, log)
        _change_statuses(sessions, actor, data, ids, batch, summary)
        _add_relationships(sessions, actor, data, ids, batch, summary)
        summary["seconds"] = round(time.monotonic() - started, 1)
        summary["first_index"] = start
        return summary
    finally:
        engine.dispose()


def _batches(items, size):
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _create_customers(sessions, actor, data, batch, summary, log):
    """{position in data.customers: customer id} of those created."""
    ids = {}
    positions = list(range(len(data.customers)))
    for chunk in _batches(positions, batch):
        inputs = [(i, load(CustomerCreateSchema(), data.customers[i], field="customer"))
                  for i in chunk]
        uow = UnitOfWork(sessions, "customer", actor)
        try:
            with uow:
                for i, record in inputs:
                    try:
                        with uow:  # a SAVEPOINT: a refused customer leaves the batch intact
                            customer, warnings = handlers.create_customer(uow, record)
                    except Conflict:
                        summary["skipped_conflicts"] += 1
                        continue
                    ids[i] = customer.id
                    summary["created"] += 1
                    summary["companies" if customer.party_type == "company" else "persons"] += 1
                    summary["in_pool"] += customer.owner_id is None
                    summary["duplicate_warnings"] += bool(warnings)
        finally:
            uow.close()
        log(f"  customers: {summary['created']:,}/{len(data.customers):,}")
    return ids


def _change_statuses(sessions, actor, data, ids, batch, summary):
    changes = [(ids[i], status) for i, status in data.status_changes if i in ids]
    for chunk in _batches(changes, batch):
        uow = UnitOfWork(sessions, "customer", actor)
        try:
            with uow:
                for customer_id, status in chunk:
                    update = load(CustomerUpdateSchema(), {"status": status}, partial=True)
                    try:
                        with uow:
                            handlers.update_customer(uow, customer_id, update)
                    except SKIPPABLE:
                        continue
                    summary["status_changes"] += 1
        finally:
            uow.close()


def _add_relationships(sessions, actor, data, ids, batch, summary):
    planned = [r for r in data.relationships if r["from"] in ids and r["to"] in ids]
    summary["relationships_skipped"] += len(data.relationships) - len(planned)
    for chunk in _batches(planned, batch):
        uow = UnitOfWork(sessions, "customer", actor)
        try:
            with uow:
                for rel in chunk:
                    payload = {"type": rel["type"], "from_customer": ids[rel["from"]],
                               "to_customer": ids[rel["to"]]}
                    if rel.get("valid_from"):
                        payload["valid_from"] = rel["valid_from"]
                    data_in = load(RelationshipCreateSchema(), payload, field="relationship")
                    try:
                        with uow:
                            handlers.add_relationship(uow, data_in)
                    except SKIPPABLE:
                        summary["relationships_skipped"] += 1
                        continue
                    summary["relationships"] += 1
        finally:
            uow.close()


def main(argv=None):
    args = parse_args(argv)
    url = args.database_url or database_url("customer")
    shown = url.split("@")[-1] if "@" in url else url
    print(f"seeding {args.count:,} demo customers into {shown}")
    log = (lambda *_: None) if args.quiet else print
    summary = seed(url, args.count, args.seed, args.batch, args.start, log=log)
    print(f"created {summary['created']:,} customers ({summary['companies']:,} companies, "
          f"{summary['persons']:,} persons, {summary['in_pool']:,} in the pool), "
          f"{summary['status_changes']:,} later lost/blocked, "
          f"{summary['relationships']:,} relationships in {summary['seconds']} s")
    print(f"skipped: {summary['skipped_conflicts']:,} customers on a conflict, "
          f"{summary['relationships_skipped']:,} relationships; "
          f"{summary['duplicate_warnings']:,} created with a likely-duplicate warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
