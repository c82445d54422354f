"""The sales part of `make bench`: the benchmark's sales database, order placement over RPC,
event propagation from the customer service to the sales replica, and the raw broker
publish-to-consume baseline.

``ensure_sales_database(customer_db)`` returns
``var/bench/sales-<customer db stem>-s<sales.tools.demo.GENERATOR_VERSION>.db``, building it
when missing: the sales migrations; every customer of the benchmark customer database put
into the replica with ``sales.application.replica.apply_record`` (its stored record at its
version, what the customer events do); the demo catalogue (``sales.tools.demo.PRODUCTS``)
created with ``sales.application.products.create_product``; and the replica's catch-up
recorded as done, so the service does not fetch the export at start. Written under a temporary name and renamed
when complete. Each run works on a copy (``working_copy``), so the orders it places do not
pile up in the cache.

The measurements (called by bench/run.py with the services running):

* :func:`order_loop` — ``sales.place_order`` calls, each for a buyer of the bench set
  (``sales.tools.demo.bench_customers``: orderable sold-to customers, with other customers
  as ship-to / bill-to / payer where the buyer lacks the role) with 2-3 catalogue lines:
  every call prices the lines, locks the payer, computes its exposure (open orders +
  unpaid invoices) and stores the order with its transition and outbox events
  (``order.placed`` and ``order.confirmed`` or ``order.credit_held``).
* :func:`propagation_samples` — ``customer.update(number, {"tier": …})`` on the customer
  service; the client notes the wall-clock time when the RPC returns, then polls the sales
  database (read-only SQLite connection, every 2 ms) until the replica row reaches the
  version the update returned, and takes the row's ``updated_at``, which the sales event
  handler (``sales.application.replica.apply_record``) stamps inside its transaction just
  before the commit. Latency = that stamp - the return time. Both clocks are the host's real-time
  clock (microseconds); the handler's commit follows its stamp by a fraction of a
  millisecond, which the figure leaves out; the poll interval does not enter it.
* :func:`publish_consume_samples` — the same hop without the services: raw pika publishes
  a persistent message with publisher confirms to a durable topic exchange bound to a
  durable queue (as the outbox relay publishes events), a consumer on its own connection
  (a second thread) acks it; latency = consumer's receipt - just before the publish,
  one message at a time.
"""
import json
import os
import sqlite3
import threading
import time
import uuid
from datetime import datetime, timezone

import pika
from sqlalchemy import select

import dataset
from guanxi_common.config import PROJECT_ROOT
from guanxi_common.context import Actor
from guanxi_common.unit_of_work import UnitOfWork, make_session_factory
from guanxi_common.engine import make_engine
from guanxi_common.errors import Conflict
from guanxi_common.migrations import upgrade
from guanxi_common.validation import load
from guanxi_common.contracts.sales.products import ProductCreateSchema
from sales.adapters.models import CustomerReplica
from sales.application import products, replica
from sales.tools import demo as sales_demo

SALES_ALEMBIC_INI = PROJECT_ROOT / "services" / "sales" / "alembic.ini"
ADMIN = Actor(user_id="bench-admin", roles=frozenset({"admin"}), request_id="bench")
POLL_SECONDS = 0.002


def database_path(customer_db):
    return dataset.BENCH_DIR / f"sales-{customer_db.stem}-s{sales_demo.GENERATOR_VERSION}.db"


def ensure_sales_database(customer_db, log=print):
    """A sales database whose replica holds every customer of ``customer_db``, with the
    demo catalogue (built once, cached)."""
    path = database_path(customer_db)
    if path.exists():
        log(f"  using cached {path.relative_to(PROJECT_ROOT)}")
        return path
    building = path.with_name(path.name + ".building")
    dataset._remove(building)
    started = time.monotonic()
    url = dataset.database_url(building)
    upgrade("sales", str(SALES_ALEMBIC_INI), url)
    engine = make_engine(url)
    try:
        sessions = make_session_factory(engine)
        uow = UnitOfWork(sessions, "sales", ADMIN)
        source = sqlite3.connect(f"file:{customer_db}?mode=ro", uri=True)
        try:
            rows = source.execute("SELECT record FROM customers WHERE record IS NOT NULL ORDER BY seq")
            applied = 0
            while True:
                batch = rows.fetchmany(2000)
                if not batch:
                    break
                with uow:
                    applied += sum(replica.apply_record(uow.session, json.loads(r)) for (r,) in batch)
            with uow:
                for spec in sales_demo.PRODUCTS:
                    try:
                        with uow:
                            products.create_product(uow, load(ProductCreateSchema(), spec, field="product"))
                    except Conflict:
                        continue
                uow.first_delivery(replica.CATCH_UP_KEY, replica.CATCH_UP_CONSUMER, replica.CATCH_UP_TYPE)
        finally:
            source.close()
            uow.close()
    finally:
        engine.dispose()
    os.replace(building, path)
    log(f"  built {path.relative_to(PROJECT_ROOT)} in {time.monotonic() - started:.0f} s "
        f"({applied:,} replica customers, {len(sales_demo.PRODUCTS)} products)")
    return path


def working_copy(source, name):
    """A consistent copy of a SQLite database (the backup API; WAL included) under var/bench/."""
    target = dataset.BENCH_DIR / name
    dataset._remove(target)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
    return target


def bench_buyers(sales_db, count=100):
    """``[(sold_to number, {function: number or None})]`` for the order benchmark."""
    engine = make_engine(dataset.database_url(sales_db))
    try:
        with make_session_factory(engine)() as session:
            rows = session.scalars(select(CustomerReplica).order_by(CustomerReplica.number)).all()
            facts = [sales_demo.facts_from_replica(row) for row in rows]
    finally:
        engine.dispose()
    return sales_demo.bench_customers(facts, count), facts


def order_input(buyers, index):
    number, partners = buyers[index % len(buyers)]
    return {"sold_to": number, **partners, "currency": "CNY", "lines": sales_demo.bench_lines(index)}


def order_loop(proxy, buyers, calls, first=0, outcomes=None):
    """Seconds for ``calls`` sequential ``sales.place_order``; counts credit outcomes."""
    started = time.perf_counter()
    for i in range(first, first + calls):
        order = proxy.sales.place_order(order_input(buyers, i))
        if outcomes is not None:
            outcome = order["credit"]["outcome"]
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return time.perf_counter() - started


def outbox_counts(sales_db):
    """(events stored, events published) of the order events in the sales outbox."""
    conn = sqlite3.connect(f"file:{sales_db}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT count(*), count(published_at) FROM outbox_events "
                            "WHERE event_type LIKE 'order.%'").fetchone()
    finally:
        conn.close()


# ---- propagation ------------------------------------------------------------------------------

def probe_customers(facts, count=50):
    """Active customers of the replica, spread over the set, to update."""
    active = [f for f in facts if f.status == "active" and f.usable]
    step = max(1, len(active) // count)
    return [f.number for f in active[::step][:count]]


def _stamp(value):
    moment = datetime.fromisoformat(value.replace(" ", "T"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def propagation_samples(proxy, sales_db, probes, samples, warmup=5, timeout=10.0):
    """Milliseconds from ``customer.update`` returning to the sales handler's stamp (see
    the module doc), one update at a time."""
    conn = sqlite3.connect(f"file:{sales_db}?mode=ro", uri=True, isolation_level=None)
    query = "SELECT version, updated_at, tier FROM customer_replica WHERE number = ?"
    out = []
    try:
        for i in range(warmup + samples):
            number = probes[i % len(probes)]
            before, _, tier = conn.execute(query, (number,)).fetchone()
            new_tier = next(t for t in ("A", "B", "C") if t != tier)   # a real change
            record = proxy.customer.update(number, {"tier": new_tier})
            returned = time.time()
            version = record["version"]
            if version <= before:
                raise RuntimeError(f"customer.update of {number} returned version {version}, "
                                   f"the replica has {before} already")
            deadline = time.monotonic() + timeout
            while True:
                row = conn.execute(query, (number,)).fetchone()
                if row is not None and row[0] >= version:
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the sales replica did not reach version {version} of "
                                       f"{number} within {timeout} s")
                time.sleep(POLL_SECONDS)
            if i >= warmup:
                out.append((_stamp(row[1]) - returned) * 1000)
    finally:
        conn.close()
    return out


# ---- the broker baseline ----------------------------------------------------------------------

def publish_consume_samples(amqp_uri, samples, warmup=20):
    """Milliseconds from just before a confirmed persistent publish to the consumer's
    receipt (own connection, second thread), one message at a time."""
    tag = uuid.uuid4().hex[:8]
    exchange, queue = f"bench-events-{tag}", f"bench-consumer-{tag}"
    setup = pika.BlockingConnection(pika.URLParameters(amqp_uri))
    channel = setup.channel()
    channel.exchange_declare(exchange, "topic", durable=True)
    channel.queue_declare(queue, durable=True)
    channel.queue_bind(queue, exchange, routing_key="customer.updated")
    received, arrived, stop, ready = {}, threading.Event(), threading.Event(), threading.Event()
    errors = []

    def consume():
        try:
            conn = pika.BlockingConnection(pika.URLParameters(amqp_uri))
            ch = conn.channel()
            ch.basic_qos(prefetch_count=10)

            def on_message(c, method, props, body):
                received[props.message_id] = time.perf_counter()
                c.basic_ack(method.delivery_tag)
                arrived.set()

            ch.basic_consume(queue, on_message)
            ready.set()
            while not stop.is_set():
                conn.process_data_events(time_limit=0.05)
            conn.close()
        except Exception as exc:  # reported by the caller
            errors.append(exc)
            ready.set()
            arrived.set()

    thread = threading.Thread(target=consume, daemon=True)
    thread.start()
    ready.wait(10)
    publisher = channel
    publisher.confirm_delivery()
    body = b'{"type": "customer.updated", "data": {"customer": {"number": "C00000001"}}}'
    out = []
    try:
        for i in range(warmup + samples):
            if errors:
                raise errors[0]
            message_id = f"{tag}-{i}"
            arrived.clear()
            sent = time.perf_counter()
            publisher.basic_publish(exchange, "customer.updated", body, pika.BasicProperties(
                message_id=message_id, content_type="application/json", delivery_mode=2))
            while message_id not in received:
                if not arrived.wait(10):
                    raise TimeoutError("the consumer received nothing for 10 s")
                arrived.clear()
            if i >= warmup:
                out.append((received[message_id] - sent) * 1000)
    finally:
        stop.set()
        thread.join(5)
        try:
            channel.queue_delete(queue)
            channel.exchange_delete(exchange)
        finally:
            setup.close()
    return out
