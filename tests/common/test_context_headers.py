"""Context headers (``nameko.*``) of any shape never crash a service, on RPC or on events.

Raw messages are published straight to the broker, as a buggy or hostile client would.
A header naming the caller (user, roles, region, request id, ...) of the wrong type or
size is refused: answered with ``ValidationFailed`` naming the header (RPC) or parked on
the DLQ with the reason (events), counted and logged. A bad ``call_id_stack`` (tracing
only) is dropped and the message handled.
"""
import json
import uuid

import pytest
from kombu import Connection, Exchange, Producer
from nameko.extensions import DependencyProvider
from prometheus_client import REGISTRY

from guanxi_common.config import service_config
from guanxi_common.consumers import event_handler
from guanxi_common.context import Actor
from guanxi_common.errors import ValidationFailed
from guanxi_common.dlq_cli import list_parked
from guanxi_common.events import dumps, make_event
from guanxi_common.rpc import deserialize_error, rpc
from guanxi_common.testing.broker import open_raw_rpc, queue_depth
from guanxi_common.testing.waiting import wait_for

RPC_SERVICE = "headered"
EVENT_SERVICE = "headerevents"
SEEN = []


class CurrentActor(DependencyProvider):
    """What every service's unit of work does with the context: build the actor."""

    def get_dependency(self, worker_ctx):
        return Actor.from_context_data(worker_ctx.data)


class HeaderedService:
    name = RPC_SERVICE
    actor = CurrentActor()

    @rpc
    def whoami(self):
        return self.actor.to_dict()


class HeaderEventsService:
    name = EVENT_SERVICE
    actor = CurrentActor()

    @event_handler("upstream", "thing.happened")
    def on_thing(self, event):
        SEEN.append((event["data"]["key"], self.actor.user_id))


def rejected(service, reason):
    return REGISTRY.get_sample_value("guanxi_malformed_messages_total",
                                     {"service": service, "reason": reason}) or 0.0


# (case, headers, the header the refusal names)
BAD_HEADERS = [
    ("roles_integer", {"nameko.roles": 7}, "nameko.roles"),
    ("roles_table", {"nameko.roles": {"admin": True}}, "nameko.roles"),
    ("user_id_integer", {"nameko.user_id": 12345}, "nameko.user_id"),
    ("user_id_huge", {"nameko.user_id": "u" * 5000}, "nameko.user_id"),
    ("region_list", {"nameko.region": ["north", "south"]}, "nameko.region"),
    ("request_id_float", {"nameko.request_id": 1.5}, "nameko.request_id"),
    ("language_bool", {"nameko.language": True}, "nameko.language"),
    ("unknown_key_table", {"nameko.something": {"a": 1}}, "nameko.something"),
    ("roles_list_of_ints", {"nameko.roles": [1, 2]}, "nameko.roles"),
    ("too_many", {f"nameko.k{i}": "v" for i in range(100)}, "nameko.*"),
]


@pytest.fixture
def headered(container_factory, service_config_factory):
    container = container_factory(HeaderedService, service_config_factory(RPC_SERVICE))
    container.start()
    return container


@pytest.fixture
def raw_rpc(amqp_uri):
    with open_raw_rpc(amqp_uri) as raw:
        def call(headers, method="whoami", timeout=5.0):
            correlation_id = str(uuid.uuid4())
            raw.publish(json.dumps({"args": [], "kwargs": {}}).encode(),
                        f"{RPC_SERVICE}.{method}", content_type="application/json",
                        reply_to=raw.reply_to, correlation_id=correlation_id,
                        application_headers=headers)
            message = raw.get_reply(timeout)
            if message is None:
                return None
            assert message.properties["correlation_id"] == correlation_id
            return json.loads(message.body)

        yield call


def test_bad_context_header_on_rpc_is_answered_validation_failed(headered, raw_rpc, rpc_client,
                                                                 amqp_uri):
    # every case against one container: a case that killed it would fail all that follow
    for case, headers, named in BAD_HEADERS:
        before = rejected(RPC_SERVICE, "bad_header")
        reply = raw_rpc(headers)
        assert reply is not None, f"{case}: the caller got no answer (the service crashed?)"
        assert reply["result"] is None, case
        error = deserialize_error(reply["error"])
        assert type(error) is ValidationFailed, case
        assert named in error.message and named in error.details, case
        assert wait_for(lambda: rejected(RPC_SERVICE, "bad_header") == before + 1, 5), case
        assert not headered._died.ready(), case
        assert rpc_client().headered.whoami()["user_id"] == "system", case

    headered.stop()
    assert queue_depth(amqp_uri, f"rpc-{RPC_SERVICE}") == 0  # acked, not left to crash-loop


def test_good_context_headers_on_rpc_still_make_the_actor(headered, raw_rpc):
    reply = raw_rpc({"nameko.user_id": "u-1", "nameko.roles": "manager,sales_rep",
                     "nameko.region": "north", "nameko.request_id": "r-1",
                     "nameko.call_id_stack": ["gateway.call.1"], "nameko.language": "zh-CN",
                     "x-unrelated": 7})
    assert reply == {"error": None, "result": {"user_id": "u-1",
                                               "roles": ["manager", "sales_rep"],
                                               "region": "north", "request_id": "r-1"}}


def test_garbage_call_id_stack_on_rpc_is_dropped_and_the_call_answered(headered, raw_rpc):
    reply = raw_rpc({"nameko.call_id_stack": 12345, "nameko.user_id": "u-2"})
    assert reply["error"] is None and reply["result"]["user_id"] == "u-2"
    assert not headered._died.ready()


# ---- events ---------------------------------------------------------------------------

@pytest.fixture
def event_service(container_factory, amqp_uri, sqlite_url):
    SEEN.clear()
    config = service_config(EVENT_SERVICE, AMQP_URI=amqp_uri,
                            DB_URIS={EVENT_SERVICE: sqlite_url},
                            HANDLER_MAX_ATTEMPTS=2, HANDLER_RETRY_DELAYS_MS=[50])
    container = container_factory(HeaderEventsService, config)
    container.start()
    return container


def publish_event(amqp_uri, key, headers):
    event = make_event("thing.happened", "upstream", "thing", key, {"key": key})
    with Connection(amqp_uri) as conn:
        exchange = Exchange("upstream.events", "topic", durable=True)
        Producer(conn.channel()).publish(
            dumps(event), exchange=exchange, routing_key="thing.happened", declare=[exchange],
            delivery_mode=2, message_id=event["event_id"], content_type="application/json",
            content_encoding="utf-8", headers=headers)
    return event


def test_bad_context_header_on_an_event_is_parked_with_the_reason(event_service, amqp_uri):
    dlq = f"{EVENT_SERVICE}.dlq"
    for parked_before, (case, headers, named) in enumerate(BAD_HEADERS):
        before = rejected(EVENT_SERVICE, "bad_header")
        event = publish_event(amqp_uri, f"bad-{case}", headers)
        assert wait_for(lambda: queue_depth(amqp_uri, dlq) == parked_before + 1, 5), \
            f"{case}: not parked"
        item = next(i for i in list_parked(amqp_uri, EVENT_SERVICE)
                    if i["message_id"] == event["event_id"])
        assert item["reason"] == "malformed:bad_header", case
        assert named in item["error_message"], case
        assert rejected(EVENT_SERVICE, "bad_header") == before + 1, case
        assert SEEN == [], case

    publish_event(amqp_uri, "good", {"nameko.user_id": "u-9"})
    assert wait_for(lambda: ("good", "u-9") in SEEN, 5)
    assert not event_service._died.ready()


def test_garbage_call_id_stack_on_an_event_is_dropped_and_the_event_handled(
        event_service, amqp_uri):
    publish_event(amqp_uri, "stacked", {"nameko.call_id_stack": 12345,
                                        "nameko.user_id": "u-3"})
    assert wait_for(lambda: ("stacked", "u-3") in SEEN, 5)
    assert not event_service._died.ready()
    assert queue_depth(amqp_uri, f"{EVENT_SERVICE}.dlq") == 0
