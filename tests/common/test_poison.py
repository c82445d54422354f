"""A message that killed its container is parked when it comes back, not run again.

Here the container dies in-process: a dependency raising while a worker is set up is,
for Nameko, a bug that kills the container, and the unacked message returns
``redelivered=True`` to the next one. (tests/ops/test_ops_poison.py covers a process that
dies outright.) A message that was merely in flight when its container was killed is run
again as usual.
"""

import eventlet
import pytest
from kombu import Connection, Exchange, Producer
from nameko.extensions import DependencyProvider
from prometheus_client import REGISTRY

from guanxi_common.consumers import event_handler
from guanxi_common.dlq_cli import list_parked
from guanxi_common.errors import ServiceUnavailable
from guanxi_common.events import dumps, make_event
from guanxi_common.inflight import InflightLedger, decide
from guanxi_common.rpc import deserialize_error, rpc
from guanxi_common.testing.broker import open_raw_rpc
from guanxi_common.testing.waiting import wait_for

SERVICE = "crashy"
HANDLED = []


class Fragile(DependencyProvider):
    """Raises while the worker is set up for the key ``boom``: the container dies."""

    def get_dependency(self, worker_ctx):
        first = worker_ctx.args[0] if worker_ctx.args else None
        key = first["data"]["key"] if isinstance(first, dict) else first
        if key == "boom":
            raise RuntimeError("dependency exploded")
        return None


class CrashyService:
    name = SERVICE
    fragile = Fragile()

    @rpc
    def echo(self, value, seconds=0):
        eventlet.sleep(seconds)
        HANDLED.append(value)
        return value

    @event_handler("upstream", "thing.happened")
    def on_thing(self, event):
        eventlet.sleep(event["data"].get("seconds", 0))
        HANDLED.append(f"event:{event['data']['key']}")


def poison_count():
    return REGISTRY.get_sample_value("guanxi_malformed_messages_total",
                                     {"service": SERVICE, "reason": "poison"}) or 0.0


@pytest.fixture
def start(container_factory, service_config_factory, tmp_path):
    HANDLED.clear()
    config = service_config_factory(SERVICE, INFLIGHT_DIR=str(tmp_path / "inflight"),
                                    HANDLER_MAX_ATTEMPTS=2, HANDLER_RETRY_DELAYS_MS=[50])

    def make():
        container = container_factory(CrashyService, config)
        container.start()
        return container

    return make


@pytest.fixture
def raw_rpc(amqp_uri):
    """Requests published as a plain AMQP client would (no expiration), replies collected."""
    with open_raw_rpc(amqp_uri) as raw:
        yield raw


def test_a_request_that_killed_the_container_is_parked_by_the_next_one(
        start, raw_rpc, rpc_client, amqp_uri):
    first = start()
    slow = raw_rpc.request(f"{SERVICE}.echo", ["slow", 1.0])  # in flight beside it
    eventlet.sleep(0.2)
    boom = raw_rpc.request(f"{SERVICE}.echo", ["boom"])
    assert wait_for(first._died.ready, 5)
    before = poison_count()

    second = start()
    replies = raw_rpc.replies(2)
    error = deserialize_error(replies[boom]["error"])
    assert isinstance(error, ServiceUnavailable) and error.details["reason"] == "poison"
    assert "crashy.echo" in error.message
    assert replies[slow] == {"result": "slow", "error": None}  # run again, not parked
    assert poison_count() == before + 1
    [parked] = list_parked(amqp_uri, SERVICE)
    assert parked["reason"] == "poison" and parked["original_routing_key"] == f"{SERVICE}.echo"

    assert rpc_client(timeout=5).crashy.echo("after") == "after"
    assert not second._died.ready()


def publish_event(amqp_uri, key, **data):
    event = make_event("thing.happened", "upstream", "thing", key, {"key": key, **data})
    with Connection(amqp_uri) as conn:
        exchange = Exchange("upstream.events", "topic", durable=True)
        Producer(conn.channel()).publish(
            dumps(event), exchange=exchange, routing_key="thing.happened", declare=[exchange],
            delivery_mode=2, message_id=event["event_id"], content_type="application/json",
            content_encoding="utf-8")
    return event


def test_an_event_that_killed_the_container_is_parked_by_the_next_one(start, amqp_uri):
    first = start()
    publish_event(amqp_uri, "slow", seconds=1.0)
    eventlet.sleep(0.2)
    boom = publish_event(amqp_uri, "boom")
    assert wait_for(first._died.ready, 5)

    second = start()
    assert wait_for(lambda: len(list_parked(amqp_uri, SERVICE)) == 1, 5)
    [parked] = list_parked(amqp_uri, SERVICE)
    assert parked["message_id"] == boom["event_id"] and parked["reason"] == "poison"
    assert wait_for(lambda: "event:slow" in HANDLED, 5)  # run again, not parked
    publish_event(amqp_uri, "after")
    assert wait_for(lambda: "event:after" in HANDLED, 5)
    assert not second._died.ready()


def test_a_request_in_flight_when_its_container_was_killed_is_run_again(
        start, raw_rpc, amqp_uri):
    first = start()
    slow = raw_rpc.request(f"{SERVICE}.echo", ["slow", 1.0])
    eventlet.sleep(0.3)
    first.kill()  # as a forced stop would: no worker to blame
    start()
    assert raw_rpc.replies(1)[slow] == {"result": "slow", "error": None}
    assert list_parked(amqp_uri, SERVICE) == []


# ---- the decision, for what a broker test cannot easily produce ----------------------

@pytest.mark.parametrize("mark,redelivered,delivery_count,expected", [
    (None, False, None, None),                                   # first delivery
    (None, True, None, None),                                    # redelivered, never seen
    ({"alive": True, "blamed": False, "strikes": 0}, True, None, None),   # connection blip
    ({"alive": False, "blamed": True, "strikes": 0}, True, None, "poison"),
    ({"alive": False, "blamed": False, "strikes": 0}, True, None, None),  # beside a crash
    ({"alive": False, "blamed": False, "strikes": 1}, True, None, "poison"),  # second time
    (None, True, 2, "poison"),                                   # quorum queue count
    (None, True, 1, None),
])
def test_the_poison_decision(mark, redelivered, delivery_count, expected):
    verdict = decide(mark, redelivered, delivery_count, max_strikes=2)
    assert (verdict and verdict.split(":")[0]) == expected


def test_a_session_file_of_a_process_that_died_blames_its_running_message(tmp_path):
    dead = InflightLedger(tmp_path, "svc", "amqp://x/vh")
    dead.open()
    dead.mark("k1")
    dead.mark("k2")
    dead.write_slot(dead.digest("k2"))   # k2's worker was running when the process ended
    dead.abandon()                       # the lock goes, as with os._exit; nothing cleaned
    alive = InflightLedger(tmp_path, "svc", "amqp://x/vh")
    alive.open()
    try:
        assert alive.lookup("k2")["blamed"] and not alive.lookup("k2")["alive"]
        assert not alive.lookup("k1")["blamed"] and not alive.lookup("k1")["alive"]
        alive.mark("k3")
        assert alive.lookup("k3")["alive"]
    finally:
        alive.close()
