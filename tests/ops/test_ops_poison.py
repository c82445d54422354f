"""A message that kills its service's process is parked on redelivery, not run again.

The stand-in service tests/ops/poison_app/opspoison.py runs as a real process and dies
(``os._exit``) on the key ``poison``; the broker hands the unacked message to the next
process with ``redelivered=True``. That process must park it (reason ``poison``) and keep
serving, while a message that was merely in flight beside it is handled normally.
"""
from pathlib import Path

import eventlet
import pytest
from kombu import Connection, Exchange, Producer

from nameko.exceptions import UnknownService

from guanxi_common.dlq_cli import list_parked
from guanxi_common.errors import ServiceUnavailable
from guanxi_common.events import dumps, make_event
from guanxi_common.rpc import deserialize_error
from guanxi_common.testing.broker import open_raw_rpc
from guanxi_common.testing.waiting import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

APP = Path(__file__).resolve().parent / "poison_app"
SERVICE = "opspoison"


@pytest.fixture
def poison_service(service_process, service_config_factory, tmp_path):
    log = tmp_path / "handled.log"
    log.touch()
    config = service_config_factory(SERVICE, INFLIGHT_DIR=str(tmp_path / "inflight"),
                                    HANDLER_MAX_ATTEMPTS=2, HANDLER_RETRY_DELAYS_MS=[50])

    def start():
        return service_process(f"{SERVICE}:OpsPoisonService", config,
                               env={"OPSPOISON_LOG": str(log)}, pythonpath=[APP], cwd=str(APP))

    start.handled = lambda: [line.split(" ", 1)[1] for line in log.read_text().splitlines()]
    return start


@pytest.fixture
def raw_rpc(amqp_uri):
    """Requests published as a plain AMQP client would (no expiration), replies collected."""
    with open_raw_rpc(amqp_uri) as raw:
        yield raw


def answers(rpc_client, key):
    try:
        return rpc_client(timeout=1).opspoison.handle(key) == key
    except (ServiceUnavailable, UnknownService):
        return False


def test_a_request_that_killed_the_process_is_parked_after_the_restart(
        poison_service, raw_rpc, rpc_client, amqp_uri):
    first = poison_service()
    # ready is not yet consuming: a raw publish before the queue is bound would be dropped
    assert wait_for(lambda: answers(rpc_client, "warm-up"), timeout=15)
    innocent = raw_rpc.request(f"{SERVICE}.handle", ["innocent", 1.5])  # in flight when it dies
    # the poison follows once the innocent request is running, however slow the machine
    assert wait_for(lambda: "start:innocent" in poison_service.handled(), timeout=15), \
        first.output()[-3000:]
    poison = raw_rpc.request(f"{SERVICE}.handle", ["poison"])
    assert first.wait(10) == 3, first.output()[-3000:]

    second = poison_service()
    replies = raw_rpc.replies(2, timeout=30)
    assert replies.get(innocent) == {"result": "innocent", "error": None}, (
        replies, poison_service.handled(), second.output()[-3000:])
    error = deserialize_error(replies[poison]["error"])
    assert isinstance(error, ServiceUnavailable) and error.details["reason"] == "poison"

    [parked] = list_parked(amqp_uri, SERVICE)
    assert parked["reason"] == "poison"
    assert parked["original_routing_key"] == f"{SERVICE}.handle"
    assert poison_service.handled().count("dying") == 1  # it did not kill the second one

    assert rpc_client(timeout=5).opspoison.handle("after") == "after"
    assert second.returncode is None


def publish_event(amqp_uri, key, **data):
    event = make_event("thing.happened", "upstream", "thing", key, {"key": key, **data})
    with Connection(amqp_uri) as conn:
        exchange = Exchange("upstream.events", "topic", durable=True)
        Producer(conn.channel()).publish(
            dumps(event), exchange=exchange, routing_key="thing.happened", declare=[exchange],
            delivery_mode=2, message_id=event["event_id"], content_type="application/json",
            content_encoding="utf-8")
    return event


def test_an_event_that_killed_the_process_is_parked_after_the_restart(
        poison_service, rpc_client, amqp_uri):
    first = poison_service()
    assert wait_for(lambda: answers(rpc_client, "warm-up"), timeout=15)  # consuming now
    publish_event(amqp_uri, "innocent", seconds=1.5)
    eventlet.sleep(0.3)
    poison = publish_event(amqp_uri, "poison")
    assert first.wait(10) == 3, first.output()[-3000:]

    second = poison_service()
    assert wait_for(lambda: "event:innocent" in poison_service.handled(), 10)
    assert wait_for(lambda: len(list_parked(amqp_uri, SERVICE)) == 1, 10)
    [parked] = list_parked(amqp_uri, SERVICE)
    assert parked["message_id"] == poison["event_id"] and parked["reason"] == "poison"

    publish_event(amqp_uri, "after")
    assert wait_for(lambda: "event:after" in poison_service.handled(), 10)
    assert poison_service.handled().count("dying") == 1
    assert poison_service.handled().count("event:innocent") == 1
    assert second.returncode is None
