"""Retrying, idempotent event handlers, the DLQ and its CLI, against the real broker."""
import json
from collections import Counter

import pytest
from kombu import Connection, Exchange, Producer
from prometheus_client import REGISTRY
from sqlalchemy import Column, Integer, MetaData, String, Table, func, select

from guanxi_common.config import service_config
from guanxi_common.consumers import event_handler, idempotent
from guanxi_common.dlq_cli import list_parked, main as dlq_main, redrive
from guanxi_common.engine import make_engine
from guanxi_common.errors import ValidationFailed
from guanxi_common.events import dumps, make_event
from guanxi_common.messaging_models import messaging_metadata
from guanxi_common.testing.broker import queue_depth
from guanxi_common.testing.waiting import wait_for
from guanxi_common.unit_of_work import UnitOfWorkProvider

SERVICE = "consumersvc"
DLQ = f"{SERVICE}.dlq"
HANDLER_QUEUE = f"evt-upstream-thing.happened--{SERVICE}.on_thing"

effects = Table("effects", MetaData(),
                Column("id", Integer, primary_key=True, autoincrement=True),
                Column("key", String(50), nullable=False))

CALLS = Counter()     # handler bodies run, per event key
FAILURES = {}         # event key -> how many first runs raise


class ConsumerService:
    name = SERVICE
    uow = UnitOfWorkProvider(SERVICE)

    @event_handler("upstream", "thing.happened")
    @idempotent
    def on_thing(self, event):
        key = event["data"]["key"]
        CALLS[key] += 1
        if event["data"].get("mode") == "invalid":
            raise ValidationFailed("thing is invalid", {"key": ["unknown"]})
        if CALLS[key] <= FAILURES.get(key, 0):
            raise RuntimeError(f"failure {CALLS[key]} for {key}")
        self.uow.session.execute(effects.insert().values(key=key))


def sample(name, **labels):
    return REGISTRY.get_sample_value(name, {"service": SERVICE, **labels}) or 0.0


@pytest.fixture
def service(container_factory, amqp_uri, sqlite_url):
    CALLS.clear()
    FAILURES.clear()
    engine = make_engine(sqlite_url)
    effects.metadata.create_all(engine)
    messaging_metadata.create_all(engine)
    config = service_config(SERVICE, AMQP_URI=amqp_uri, DB_URIS={SERVICE: sqlite_url},
                            HANDLER_MAX_ATTEMPTS=3, HANDLER_RETRY_DELAYS_MS=[50, 100])
    container = container_factory(ConsumerService, config)
    container.start()

    def applied(key):
        with engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(effects)
                                .where(effects.c.key == key)).scalar()

    container.applied = applied
    yield container
    engine.dispose()


def publish(amqp_uri, body, content_type="application/json", message_id=None):
    with Connection(amqp_uri) as conn:
        producer = Producer(conn.channel())
        exchange = Exchange("upstream.events", "topic", durable=True)
        kwargs = {"content_type": content_type, "content_encoding": "utf-8"} if content_type else {}
        producer.publish(body, exchange=exchange, routing_key="thing.happened", declare=[exchange],
                         delivery_mode=2, message_id=message_id, **kwargs)


def publish_event(amqp_uri, key, **data):
    event = make_event("thing.happened", "upstream", "thing", key, {"key": key, **data})
    publish(amqp_uri, dumps(event), message_id=event["event_id"])
    return event


def test_transient_failure_succeeds_on_retry(service, amqp_uri):
    retries_before = sample("guanxi_handler_retries_total", consumer=f"{SERVICE}.on_thing")
    FAILURES["k1"] = 2
    publish_event(amqp_uri, "k1")
    assert wait_for(lambda: service.applied("k1") == 1, 5)
    assert CALLS["k1"] == 3  # two failures, then the third attempt applied it
    assert sample("guanxi_handler_retries_total", consumer=f"{SERVICE}.on_thing") == \
        retries_before + 2
    assert queue_depth(amqp_uri, DLQ) == 0


def test_failing_handler_is_parked_with_the_error_then_redriven(service, amqp_uri, capsys):
    parked_before = sample("guanxi_handler_parked_total", consumer=f"{SERVICE}.on_thing")
    FAILURES["k2"] = 99
    event = publish_event(amqp_uri, "k2")
    assert wait_for(lambda: queue_depth(amqp_uri, DLQ) == 1, 5)
    assert CALLS["k2"] == 3 and service.applied("k2") == 0  # HANDLER_MAX_ATTEMPTS, rolled back

    [item] = list_parked(amqp_uri, SERVICE, excerpt=10_000)
    assert item["message_id"] == event["event_id"]
    assert item["original_queue"] == HANDLER_QUEUE
    assert item["original_exchange"] == "upstream.events"
    assert item["original_routing_key"] == "thing.happened"
    assert item["error_type"] == "RuntimeError" and item["error_message"] == "failure 3 for k2"
    assert "on_thing" in item["headers"]["x-error-traceback"]
    assert item["attempts"] == 3 and item["reason"] == "retries_exhausted"
    assert item["parked_at"].endswith("Z")
    assert json.loads(item["body_excerpt"]) == event  # body kept verbatim
    assert sample("guanxi_handler_parked_total", consumer=f"{SERVICE}.on_thing") == \
        parked_before + 1
    # listing did not consume it
    assert [i["message_id"] for i in list_parked(amqp_uri, SERVICE)] == [event["event_id"]]
    assert queue_depth(amqp_uri, DLQ) == 1

    FAILURES["k2"] = 0  # the cause is fixed
    assert dlq_main(["redrive", SERVICE, "--amqp-uri", amqp_uri,
                     "--message-id", event["event_id"]]) == 0
    assert event["event_id"] in capsys.readouterr().out
    assert wait_for(lambda: service.applied("k2") == 1, 5)
    assert CALLS["k2"] == 4 and queue_depth(amqp_uri, DLQ) == 0


def test_redrive_picks_only_the_chosen_messages(service, amqp_uri):
    FAILURES.update({"a": 99, "b": 99})
    first, second = publish_event(amqp_uri, "a"), publish_event(amqp_uri, "b")
    assert wait_for(lambda: queue_depth(amqp_uri, DLQ) == 2, 5)
    FAILURES.update({"a": 0, "b": 0})
    assert redrive(amqp_uri, SERVICE, [second["event_id"]]) == [second["event_id"]]
    assert wait_for(lambda: service.applied("b") == 1, 5)
    assert service.applied("a") == 0
    assert [i["message_id"] for i in list_parked(amqp_uri, SERVICE)] == [first["event_id"]]


def test_non_retryable_error_is_parked_at_once(service, amqp_uri):
    publish_event(amqp_uri, "k3", mode="invalid")
    assert wait_for(lambda: queue_depth(amqp_uri, DLQ) == 1, 5)
    [item] = list_parked(amqp_uri, SERVICE)
    assert CALLS["k3"] == 1
    assert (item["error_type"], item["reason"], item["attempts"]) == \
        ("ValidationFailed", "non_retryable", 1)


def test_duplicate_delivery_applies_once(service, amqp_uri):
    skipped_before = sample("guanxi_duplicate_deliveries_skipped_total",
                            consumer=f"{SERVICE}.on_thing")
    event = make_event("thing.happened", "upstream", "thing", "k4", {"key": "k4"})
    publish(amqp_uri, dumps(event), message_id=event["event_id"])
    publish(amqp_uri, dumps(event), message_id=event["event_id"])  # at-least-once redelivery
    assert wait_for(lambda: sample("guanxi_duplicate_deliveries_skipped_total",
                                   consumer=f"{SERVICE}.on_thing") == skipped_before + 1, 5)
    assert service.applied("k4") == 1 and CALLS["k4"] == 1


def test_malformed_messages_are_parked_and_the_service_keeps_working(service, amqp_uri, capsys):
    malformed_before = sample("guanxi_malformed_messages_total", reason="undecodable")
    publish(amqp_uri, b"{not json", message_id="bad-json")
    publish(amqp_uri, "[1, 2]", message_id="a-list")
    publish(amqp_uri, "hello", content_type="text/plain", message_id="plain-text")
    publish(amqp_uri, json.dumps({"data": {"key": "x"}}), message_id="no-envelope")
    publish(amqp_uri, b"raw bytes", content_type=None, message_id="no-content-type")
    publish_event(amqp_uri, "good")

    assert wait_for(lambda: service.applied("good") == 1, 5)
    assert wait_for(lambda: queue_depth(amqp_uri, DLQ) == 5, 5)
    assert not service._died.ready()  # the container is still running
    reasons = {i["message_id"]: i["reason"] for i in list_parked(amqp_uri, SERVICE)}
    assert reasons == {"bad-json": "malformed:undecodable", "a-list": "malformed:not_a_dict",
                       "plain-text": "malformed:undecodable",
                       "no-envelope": "malformed:not_an_envelope",
                       "no-content-type": "malformed:not_json"}
    assert sample("guanxi_malformed_messages_total", reason="undecodable") == \
        malformed_before + 2

    assert dlq_main(["list", SERVICE, "--amqp-uri", amqp_uri]) == 0
    out = capsys.readouterr().out
    assert f"5 message(s) parked on {DLQ}" in out
    assert "id=bad-json" in out and "{not json" in out and f"queue={HANDLER_QUEUE}" in out

    # still consuming after all that
    publish_event(amqp_uri, "after")
    assert wait_for(lambda: service.applied("after") == 1, 5)
