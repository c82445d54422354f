"""The transactional outbox and its relay, against the real broker (per-test vhost)."""
import datetime as dt
import json
import time
import uuid
from decimal import Decimal
from pathlib import Path

import eventlet
from nameko.testing.services import entrypoint_hook
from prometheus_client import REGISTRY
from sqlalchemy import select

from guanxi_common.config import service_config
from guanxi_common.context import Actor
from guanxi_common.events import dumps, events_exchange, make_event
from guanxi_common.messaging_models import outbox_events
from guanxi_common.testing.broker import (TcpProxy, bind_queue, get_messages, queue_depth,
                                         with_port)
from guanxi_common.testing.waiting import wait_for
from guanxi_common.unit_of_work import session_scope
from outbox_app.service import SERVICE, LocalOutboxApp, app_engine

EXCHANGE = f"{SERVICE}.events"
TESTS_COMMON = Path(__file__).resolve().parent


def sample(name, labels=None):
    return REGISTRY.get_sample_value(name, labels or {"service": SERVICE}) or 0.0


def outbox_rows(engine):
    with engine.connect() as conn:
        return conn.execute(select(outbox_events).order_by(outbox_events.c.id)).mappings().all()


def relay_config(amqp_uri, db_url, **overrides):
    overrides.setdefault("OUTBOX_POLL_INTERVAL", 30.0)  # so a fast delivery proves the wake-up
    return service_config(SERVICE, AMQP_URI=amqp_uri, DB_URIS={SERVICE: db_url}, **overrides)


# --- envelope and encoding (no broker) ----------------------------------------------------

def test_make_event_builds_the_documented_envelope():
    when = dt.datetime(2026, 11, 23, 18, 0, 0, 123456, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    actor = Actor(user_id="u-1", request_id="req-1")
    event = make_event("customer.updated", "customer", "customer", uuid.UUID(int=7),
                       {"credit_limit": Decimal("1000.50"), "born": dt.date(1990, 1, 2),
                        "seen": dt.datetime(2026, 1, 1, 8, 30), "ref": uuid.UUID(int=1),
                        "name": "张伟"},
                       number="C00001234", version=7, actor=actor, occurred_at=when)
    assert set(event) == {"event_id", "type", "schema_version", "occurred_at", "source",
                          "aggregate", "actor", "data"}
    assert uuid.UUID(event["event_id"]).version == 4
    assert event["occurred_at"] == "2026-11-23T10:00:00.123Z"  # converted to UTC, ms, Z
    assert event["aggregate"] == {"type": "customer", "id": str(uuid.UUID(int=7)),
                                  "number": "C00001234", "version": 7}
    assert event["actor"] == {"user_id": "u-1", "request_id": "req-1"}
    assert event["data"] == {"credit_limit": "1000.50", "born": "1990-01-02",
                             "seen": "2026-01-01T08:30:00.000Z",
                             "ref": str(uuid.UUID(int=1)), "name": "张伟"}
    assert json.loads(dumps(event)) == event and "张伟" in dumps(event)
    exchange = events_exchange("customer")
    assert (exchange.name, exchange.type, exchange.durable) == ("customer.events", "topic", True)


# --- the relay in a container ----------------------------------------------------------------

def test_relay_publishes_in_order_with_properties_right_after_commit(
        container_factory, amqp_uri, db_url, engine):
    queue = bind_queue(amqp_uri, EXCHANGE)
    published_before = sample("guanxi_outbox_published_total")
    container = container_factory(LocalOutboxApp, relay_config(amqp_uri, db_url))
    container.start()

    context = Actor(user_id="alice", request_id="req-42").to_context_data()
    started = time.monotonic()
    with entrypoint_hook(container, "add_notes", context) as add_notes:
        results = add_notes(["一", "two", "three"])
    messages = get_messages(amqp_uri, queue, 3, timeout=5)
    latency = time.monotonic() - started

    assert latency < 2.0  # the poll interval is 30 s: the commit woke the relay
    assert [m.properties["message_id"] for m in messages] == [r["event_id"] for r in results]
    rows = outbox_rows(engine)
    for message, row in zip(messages, rows):
        body = message.body if isinstance(message.body, bytes) else message.body.encode("utf-8")
        assert body == row["payload"].encode("utf-8")  # the stored JSON, verbatim
        assert message.content_type == "application/json"
        assert message.properties["type"] == "note.added"
        assert message.delivery_info["routing_key"] == "note.added"
        assert message.delivery_info["exchange"] == EXCHANGE
        assert message.properties["delivery_mode"] == 2
        assert message.headers["nameko.user_id"] == "alice"
        envelope = json.loads(message.body)
        assert envelope["type"] == "note.added" and envelope["source"] == SERVICE
        assert envelope["actor"] == {"user_id": "alice", "request_id": "req-42"}
    assert wait_for(lambda: all(r["published_at"] for r in outbox_rows(engine)), 3)
    assert sample("guanxi_outbox_published_total") == published_before + 3
    assert wait_for(lambda: sample("guanxi_outbox_backlog") == 0, 3)


def test_relay_polls_for_rows_written_elsewhere(container_factory, amqp_uri, db_url, engine):
    queue = bind_queue(amqp_uri, EXCHANGE)
    container = container_factory(LocalOutboxApp,
                                  relay_config(amqp_uri, db_url, OUTBOX_POLL_INTERVAL=0.2))
    container.start()
    # another process (a script) commits an event: nothing wakes this relay
    with session_scope(db_url, service_name=SERVICE) as uow:
        event = uow.emit("note.added", "note", "n-1", {"text": "from a script"})
    [message] = get_messages(amqp_uri, queue, 1, timeout=3)
    assert message.properties["message_id"] == event["event_id"]


def test_disabled_relay_keeps_rows_for_a_later_relay(container_factory, amqp_uri, db_url, engine):
    queue = bind_queue(amqp_uri, EXCHANGE)
    disabled = container_factory(LocalOutboxApp, relay_config(
        amqp_uri, db_url, OUTBOX_RELAY_ENABLED=False, OUTBOX_POLL_INTERVAL=0.1))
    disabled.start()
    with entrypoint_hook(disabled, "add_notes") as add_notes:
        results = add_notes(["a", "b"])
    eventlet.sleep(0.5)
    assert queue_depth(amqp_uri, queue) == 0
    assert [r["published_at"] for r in outbox_rows(engine)] == [None, None]
    disabled.stop()

    enabled = container_factory(LocalOutboxApp, relay_config(amqp_uri, db_url))
    enabled.start()  # the first pass at start-up publishes the backlog
    messages = get_messages(amqp_uri, queue, 2, timeout=5)
    assert [m.properties["message_id"] for m in messages] == [r["event_id"] for r in results]


def test_broker_outage_keeps_rows_and_order_then_resumes(container_factory, rabbit_config,
                                                         sqlite_url):
    engine = app_engine(sqlite_url)
    amqp_uri = rabbit_config["AMQP_URI"]
    queue = bind_queue(amqp_uri, EXCHANGE)
    proxy = TcpProxy().start()
    try:
        container = container_factory(LocalOutboxApp, relay_config(
            with_port(amqp_uri, proxy.port), sqlite_url, OUTBOX_MAX_BACKOFF=0.3))
        container.start()
        with entrypoint_hook(container, "add_note") as add_note:
            first = add_note("before the outage")
        assert len(get_messages(amqp_uri, queue, 1, timeout=3)) == 1  # relay is connected
        # The queue has the message before the relay has its confirm (which comes back
        # through the proxy) and marks the row: cutting earlier leaves row 1 retrying.
        assert wait_for(lambda: outbox_rows(engine)[0]["published_at"] is not None, 5)

        failures_before = sample("guanxi_outbox_publish_failures_total")
        proxy.cut()
        with entrypoint_hook(container, "add_notes") as add_notes:
            during = add_notes(["x", "y", "z"])
        assert wait_for(lambda: outbox_rows(engine)[1]["attempts"] >= 2, 5)
        rows = outbox_rows(engine)
        assert rows[0]["event_id"] == first["event_id"] and rows[0]["published_at"] is not None
        assert all(r["published_at"] is None for r in rows[1:])
        assert rows[1]["last_error"]
        # stopped at the first failure: the later rows were not tried out of order
        assert [r["attempts"] for r in rows[2:]] == [0, 0]
        assert sample("guanxi_outbox_publish_failures_total") >= failures_before + 2
        assert sample("guanxi_outbox_backlog") == 3
        assert queue_depth(amqp_uri, queue) == 0

        proxy.restore()
        messages = get_messages(amqp_uri, queue, 3, timeout=5)
        assert [m.properties["message_id"] for m in messages] == [r["event_id"] for r in during]
        assert wait_for(lambda: all(r["published_at"] for r in outbox_rows(engine)), 3)

        # a relay backing off from a dead broker must not hold up a graceful stop
        proxy.cut()
        with entrypoint_hook(container, "add_note") as add_note:
            add_note("stuck")
        eventlet.sleep(0.3)
        started = time.monotonic()
        container.stop()
        assert time.monotonic() - started < 5
    finally:
        proxy.cut()
        engine.dispose()


def test_relay_prunes_old_published_rows(container_factory, amqp_uri, db_url, engine):
    now = dt.datetime.now(dt.timezone.utc)
    with engine.begin() as conn:
        for event_id, published_at in (("old", now - dt.timedelta(days=3)),
                                       ("recent", now - dt.timedelta(hours=1)),
                                       ("pending", None)):
            conn.execute(outbox_events.insert().values(
                event_id=event_id, event_type="note.added", aggregate_type="note",
                aggregate_id="1", payload="{}", created_at=now, published_at=published_at))
    container = container_factory(LocalOutboxApp, relay_config(amqp_uri, db_url,
                                                               OUTBOX_PRUNE_DAYS=2))
    container.start()
    assert wait_for(lambda: [r["event_id"] for r in outbox_rows(engine)] == ["recent", "pending"], 3)
    assert wait_for(lambda: outbox_rows(engine)[1]["published_at"] is not None, 3)


def test_replicas_never_publish_the_same_rows(container_factory, amqp_uri, db_url, engine):
    queue = bind_queue(amqp_uri, EXCHANGE)
    with session_scope(db_url, service_name=SERVICE) as uow:
        events = [uow.emit("note.added", "note", str(i), {"i": i}) for i in range(30)]
    replicas = [container_factory(LocalOutboxApp, relay_config(amqp_uri, db_url,
                                                               OUTBOX_BATCH_SIZE=5))
                for _ in range(2)]
    for thread in [eventlet.spawn(c.start) for c in replicas]:
        thread.wait()
    messages = get_messages(amqp_uri, queue, 30, timeout=10)
    eventlet.sleep(0.5)  # give a second relay the chance to publish duplicates
    assert [m.properties["message_id"] for m in messages] == [e["event_id"] for e in events]
    assert queue_depth(amqp_uri, queue) == 0


def test_event_survives_kill_9_between_commit_and_publish(service_process, service_config_factory,
                                                          rpc_client, amqp_uri, db_url, engine):
    queue = bind_queue(amqp_uri, EXCHANGE)
    config = service_config_factory(SERVICE, DB_URIS={SERVICE: db_url},
                                    OUTBOX_RELAY_ENABLED=False, LOG_JSON=False)
    process = service_process("outbox_app.service:OutboxApp", config, cwd=str(TESTS_COMMON),
                              pythonpath=[TESTS_COMMON])
    result = rpc_client(timeout=10).outboxapp.add_note("written, then the process dies")
    process.kill()  # SIGKILL: no shutdown hook runs

    [row] = outbox_rows(engine)
    assert row["event_id"] == result["event_id"] and row["published_at"] is None
    assert queue_depth(amqp_uri, queue) == 0

    config["OUTBOX_RELAY_ENABLED"] = True
    restarted = service_process("outbox_app.service:OutboxApp", config, cwd=str(TESTS_COMMON),
                                pythonpath=[TESTS_COMMON])
    [message] = get_messages(amqp_uri, queue, 1, timeout=10)
    assert message.properties["message_id"] == result["event_id"]
    assert json.loads(message.body)["data"] == {"text": "written, then the process dies"}
    assert wait_for(lambda: outbox_rows(engine)[0]["published_at"] is not None, 5)

    started = time.monotonic()
    restarted.stop(timeout=15)
    assert time.monotonic() - started < 10  # graceful stop with the relay running
