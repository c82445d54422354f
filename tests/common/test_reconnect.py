"""After a long broker outage a service consumes again within seconds of the broker's
return: RPC requests, RPC replies (``ServiceRpc``) and events.

The outage is the test's own: the services reach the broker through a
:class:`~guanxi_common.testing.broker.TcpProxy` that is cut, kept down long enough for
kombu's default back-off (2 s more per failed attempt) to have grown past 10 s, and
restored. The test client talks to the broker directly.
"""
import time
from urllib.parse import urlparse

import eventlet
import pytest
from kombu import Connection, Exchange, Producer

from guanxi_common.consumers import event_handler
from guanxi_common.errors import ServiceUnavailable
from guanxi_common.events import dumps, make_event
from guanxi_common.rpc import ServiceRpc, cluster_rpc, rpc
from guanxi_common.testing.broker import TcpProxy, with_port

pytestmark = pytest.mark.slow

# kombu's default tries at 0, 2, 6, 12, 20, 30, 42 s: after 31 s it would wait until 42
OUTAGE_SECONDS = 31
RECOVERY_LIMIT = 5.0
EVENTS = []


class BackService:
    name = "back"

    @rpc
    def echo(self, value):
        return value

    @event_handler("upstream", "thing.happened")
    def on_thing(self, event):
        EVENTS.append(event["data"]["key"])


class BackCallerService:
    name = "backcaller"
    back = ServiceRpc("back", timeout=1)

    @rpc
    def relay(self, value):
        return self.back.echo(value)


def until_answers(call, limit):
    """Seconds until ``call()`` succeeds (each try bounded by its own short timeout)."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        try:
            call()
            return time.monotonic() - started
        except (ServiceUnavailable, OSError):
            eventlet.sleep(0.1)
    return None


def publish_event(amqp_uri, key):
    event = make_event("thing.happened", "upstream", "thing", key, {"key": key})
    with Connection(amqp_uri) as conn:
        exchange = Exchange("upstream.events", "topic", durable=True)
        Producer(conn.channel()).publish(
            dumps(event), exchange=exchange, routing_key="thing.happened", declare=[exchange],
            delivery_mode=2, message_id=event["event_id"], content_type="application/json",
            content_encoding="utf-8")


@pytest.fixture
def proxy(amqp_uri):
    """Set up before (so torn down after) the containers that use it."""
    proxy = TcpProxy(*_broker_address(amqp_uri)).start()
    yield proxy
    proxy.cut()


def test_services_consume_again_within_seconds_of_a_long_outage_ending(
        proxy, container_factory, service_config_factory, amqp_uri):
    EVENTS.clear()
    proxied = with_port(amqp_uri, proxy.port)
    for cls in (BackService, BackCallerService):
        container = container_factory(cls, service_config_factory(cls.name, AMQP_URI=proxied))
        container.start()

    def call(service, method):
        with cluster_rpc(amqp_uri, timeout=0.5) as client:
            return getattr(client[service], method)("x")

    assert call("backcaller", "relay") == "x"

    proxy.cut()
    eventlet.sleep(OUTAGE_SECONDS)
    publish_event(amqp_uri, "during")      # waits in the service's queue
    proxy.restore()
    restored = time.monotonic()

    echo_after = until_answers(lambda: call("back", "echo"), 20)
    relay_after = until_answers(lambda: call("backcaller", "relay"), 20)
    while "during" not in EVENTS and time.monotonic() - restored < 20:
        eventlet.sleep(0.05)
    event_after = time.monotonic() - restored

    assert echo_after is not None and echo_after < RECOVERY_LIMIT, echo_after
    assert relay_after is not None
    assert "during" in EVENTS and event_after < RECOVERY_LIMIT, event_after
    # the relay needs the caller's request publisher and its reply consumer back too
    assert echo_after + relay_after < RECOVERY_LIMIT, (echo_after, relay_after)


def _broker_address(amqp_uri):
    parts = urlparse(amqp_uri)
    return parts.hostname or "127.0.0.1", parts.port or 5672
