"""guanxi_common.rpc against the real broker: malformed requests, typed errors, timeouts."""
import json
import time
import uuid

import eventlet
import pytest
from kombu import Connection
from nameko.exceptions import MalformedRequest, MethodNotFound, RemoteError
from nameko.extensions import DependencyProvider
from nameko.standalone.rpc import ClusterRpcProxy
from prometheus_client import REGISTRY

from guanxi_common.context import Actor
from guanxi_common.errors import (
    BusinessRuleViolation, Conflict, Forbidden, GuanxiError, NotFound, ServiceUnavailable,
    ValidationFailed,
)
from guanxi_common.rpc import ServiceRpc, cluster_rpc, deserialize_error, rpc
from guanxi_common.rules import DomainRuleError
from guanxi_common.testing.broker import open_raw_rpc


class DuplicatePhone(Conflict):
    """A service-specific error the caller never registered."""


ERRORS = {
    "not_found": NotFound("customer C00000001 not found", {"number": "C00000001"}),
    "validation": ValidationFailed("invalid customer", {"name": ["required"], "phones.0": ["bad"]}),
    "conflict": Conflict("phone already used by C00000002", {"existing": "C00000002"}),
    "forbidden": Forbidden("not your customer", {}),
    # ints, None and booleans must survive: Nameko's own serialize stringifies them.
    "rule": BusinessRuleViolation("credit limit exceeded",
                                  {"rule": "credit_limit", "limit": 5000, "over": None, "hard": True}),
    "unavailable": ServiceUnavailable("sales did not answer", {"service": "sales"}),
}


class CurrentActor(DependencyProvider):
    def get_dependency(self, worker_ctx):
        return Actor.from_context_data(worker_ctx.data)


class GuardedService:
    name = "guarded"
    actor = CurrentActor()

    @rpc
    def echo(self, value):
        return value

    @rpc
    def whoami(self):
        return self.actor.to_dict()

    @rpc(expected_exceptions=GuanxiError)
    def fail(self, kind):
        if kind == "duplicate":
            raise DuplicatePhone("phone already used", {"existing": "C00000003"})
        if kind == "plain":
            raise ValueError("boom")
        raise ERRORS[kind]

    @rpc
    def refuse(self):
        raise DomainRuleError("credit_limit", "credit limit exceeded", {"limit": 5000})

    @rpc
    def sleep(self, seconds):
        eventlet.sleep(seconds)
        return seconds

    @rpc
    def unserializable(self):
        return object()


class CallerService:
    name = "caller"
    guarded = ServiceRpc("guarded")
    ghost = ServiceRpc("ghost")

    @rpc
    def call(self, method, *args):
        return getattr(self.guarded, method)(*args)

    @rpc
    def call_ghost(self):
        return self.ghost.anything()

    @rpc
    def timed_sleep(self, seconds):
        started = time.monotonic()
        try:
            self.guarded.sleep(seconds)
        except ServiceUnavailable as exc:
            return {"type": type(exc).__name__, "message": str(exc), "details": exc.details,
                    "elapsed": time.monotonic() - started}
        return {"type": None, "elapsed": time.monotonic() - started}


def malformed(reason):
    return REGISTRY.get_sample_value("guanxi_malformed_messages_total",
                                     {"service": "guarded", "reason": reason}) or 0.0


@pytest.fixture
def guarded(container_factory, service_config_factory):
    container = container_factory(GuardedService, service_config_factory("guarded"))
    container.start()
    return container


@pytest.fixture
def raw(amqp_uri):
    """A raw AMQP channel plus a private reply queue bound to nameko-rpc."""
    with open_raw_rpc(amqp_uri) as raw:
        yield raw


GOOD = json.dumps({"args": ["hi"], "kwargs": {}}).encode()

# (case, routing key, body, properties (beyond reply_to/correlation_id), reason, replies?, error type)
SHAPES = [
    ("no_content_type", "guarded.echo", GOOD, {}, "no_content_type", True, MalformedRequest),
    ("trusted_but_not_json", "guarded.echo", GOOD, {"content_type": "application/data"},
     "bad_content_type", True, MalformedRequest),
    ("pickle_content_type", "guarded.echo", b"\x80\x04K\x01.",
     {"content_type": "application/x-python-serialize"}, "decode_error", True, MalformedRequest),
    ("bad_json", "guarded.echo", b"{not json", {"content_type": "application/json"},
     "decode_error", True, MalformedRequest),
    ("bad_utf8", "guarded.echo", b"\xff\xfe\x00", {"content_type": "application/json"},
     "decode_error", True, MalformedRequest),
    ("body_not_object", "guarded.echo", b"[1, 2]", {"content_type": "application/json"},
     "body_not_object", True, MalformedRequest),
    ("missing_kwargs", "guarded.echo", b'{"args": ["hi"]}', {"content_type": "application/json"},
     "missing_args", True, MalformedRequest),
    ("args_not_list", "guarded.echo", b'{"args": "hi", "kwargs": {}}',
     {"content_type": "application/json"}, "bad_args", True, MalformedRequest),
    ("unknown_method", "guarded.nope", GOOD, {"content_type": "application/json"},
     "unknown_method", True, MethodNotFound),
    ("wrong_arguments", "guarded.echo", json.dumps({"args": [1, 2, 3], "kwargs": {}}).encode(),
     {"content_type": "application/json"}, "wrong_arguments", True, ValidationFailed),
    ("no_reply_to", "guarded.echo", GOOD, {"content_type": "application/json", "reply_to": None},
     "no_reply_to", False, None),
    ("no_correlation_id", "guarded.echo", GOOD,
     {"content_type": "application/json", "correlation_id": None}, "no_correlation_id", False, None),
]


def props_for(raw, properties):
    props = {"reply_to": raw.reply_to, "correlation_id": str(uuid.uuid4())}
    props.update(properties)
    return {k: v for k, v in props.items() if v is not None}


def wait_for_count(reason, expected, timeout=5.0):
    deadline = time.monotonic() + timeout
    while malformed(reason) < expected and time.monotonic() < deadline:
        eventlet.sleep(0.02)
    return malformed(reason)


@pytest.mark.parametrize("case,routing_key,body,properties,reason,replies,error_type", SHAPES,
                         ids=[s[0] for s in SHAPES])
def test_malformed_request_is_rejected_and_service_keeps_answering(
        guarded, raw, rpc_client, case, routing_key, body, properties, reason, replies,
        error_type):
    client = rpc_client(timeout=5)
    assert client.guarded.echo("warm") == "warm"
    before = malformed(reason)

    props = props_for(raw, properties)
    raw.publish(body, routing_key, **props)

    assert wait_for_count(reason, before + 1) == before + 1
    reply = raw.get_reply(timeout=5 if replies else 0.2)
    if replies:
        assert reply is not None, "the caller got no error reply"
        assert reply.properties["correlation_id"] == props["correlation_id"]
        payload = json.loads(reply.body)
        assert payload["result"] is None
        assert type(deserialize_error(payload["error"])) is error_type
    else:
        assert reply is None

    assert client.guarded.echo("after") == "after"
    assert not guarded._died.ready()


def test_every_malformed_request_is_acked_once_not_redelivered(guarded, raw, rpc_client,
                                                               amqp_uri):
    before = {reason: malformed(reason) for *_, reason, _, _ in SHAPES}
    expected = dict(before)
    for _, routing_key, body, properties, reason, _, _ in SHAPES:
        raw.publish(body, routing_key, **props_for(raw, properties))
        expected[reason] += 1
    for reason, count in expected.items():
        assert wait_for_count(reason, count) == count, reason
    assert rpc_client().guarded.echo("alive") == "alive"
    eventlet.sleep(0.2)  # a redelivery loop would show up as extra counts by now
    assert {reason: malformed(reason) for reason in expected} == expected

    guarded.stop()
    with Connection(amqp_uri) as conn:
        # Unacked requests return to "ready" once their consumer is gone: none may be left.
        assert conn.channel().queue_declare("rpc-guarded", passive=True).message_count == 0


def test_garbage_call_id_stack_header_does_not_kill_the_worker(guarded, raw):
    raw.publish(GOOD, "guarded.echo", content_type="application/json", reply_to=raw.reply_to,
                correlation_id="c1", application_headers={"nameko.call_id_stack": "oops",
                                                          "nameko.request_id": "r1"})
    reply = raw.get_reply()
    assert json.loads(reply.body) == {"result": "hi", "error": None}
    assert not guarded._died.ready()


def test_wrong_arguments_through_the_client_raise_validation_failed(guarded, rpc_client):
    client = rpc_client()
    with pytest.raises(ValidationFailed) as info:
        client.guarded.echo()
    assert "guarded.echo" in info.value.message
    assert "_arguments" in info.value.details
    with pytest.raises(MethodNotFound):
        client.guarded.does_not_exist()
    assert client.guarded.echo(1) == 1


def test_unserializable_result_is_an_error_reply(guarded, rpc_client):
    client = rpc_client()
    with pytest.raises(RemoteError) as info:
        client.guarded.unserializable()
    assert info.value.exc_type == "UnserializableValueError"
    assert client.guarded.echo("ok") == "ok"


def test_typed_errors_round_trip_with_message_and_details(guarded, container_factory,
                                                          service_config_factory, rpc_client,
                                                          amqp_uri):
    caller = container_factory(CallerService, service_config_factory("caller"))
    caller.start()
    client = rpc_client()
    for kind, original in ERRORS.items():
        # Direct, service-to-service via ServiceRpc, and with Nameko's own client.
        with pytest.raises(GuanxiError) as direct:
            client.guarded.fail(kind)
        with pytest.raises(GuanxiError) as relayed:
            client.caller.call("fail", kind)
        with ClusterRpcProxy({"AMQP_URI": amqp_uri}, timeout=5) as plain:
            with pytest.raises(GuanxiError) as nameko_client:
                plain.guarded.fail(kind)
        for raised in (direct.value, relayed.value, nameko_client.value):
            assert type(raised) is type(original), kind
            assert raised.message == original.message
            assert raised.details == original.details

    with pytest.raises(BusinessRuleViolation) as rule:
        client.guarded.fail("rule")
    assert rule.value.rule == "credit_limit" and rule.value.details["limit"] == 5000

    # An unregistered subclass arrives as its nearest registered base, details intact.
    with pytest.raises(Conflict) as duplicate:
        client.guarded.fail("duplicate")
    assert type(duplicate.value) is Conflict
    assert duplicate.value.details == {"existing": "C00000003"}

    with pytest.raises(RemoteError) as plain_error:
        client.guarded.fail("plain")
    assert plain_error.value.exc_type == "ValueError"


def test_domain_refusal_crosses_as_business_rule_violation_and_is_expected(
        guarded, rpc_client, caplog):
    with caplog.at_level("WARNING", logger="nameko.containers"):
        with pytest.raises(BusinessRuleViolation) as refused:
            rpc_client().guarded.refuse()
    assert refused.value.message == "credit limit exceeded"
    assert refused.value.details == {"rule": "credit_limit", "limit": 5000}
    worker_logs = [r for r in caplog.records if r.name == "nameko.containers"]
    assert worker_logs and all(r.levelname == "WARNING" and "(expected)" in r.getMessage()
                               for r in worker_logs)


def test_service_rpc_times_out_to_service_unavailable(guarded, container_factory,
                                                      service_config_factory, rpc_client):
    caller = container_factory(CallerService, service_config_factory("caller", RPC_TIMEOUT=0.5))
    caller.start()
    client = rpc_client(timeout=5)

    outcome = client.caller.timed_sleep(3)
    assert outcome["type"] == "ServiceUnavailable"
    assert "guarded.sleep" in outcome["message"]
    assert outcome["details"]["service"] == "guarded" and outcome["details"]["method"] == "sleep"
    assert 0.4 < outcome["elapsed"] < 2

    # A service with no queue at all fails fast, and the error crosses RPC typed.
    started = time.monotonic()
    with pytest.raises(ServiceUnavailable) as info:
        client.caller.call_ghost()
    assert "ghost.anything" in info.value.message
    assert time.monotonic() - started < 2

    assert client.caller.call("echo", "still fine") == "still fine"


def test_cluster_rpc_times_out_and_stays_usable(guarded, amqp_uri):
    with cluster_rpc(amqp_uri, timeout=0.5) as client:
        started = time.monotonic()
        with pytest.raises(ServiceUnavailable) as info:
            client.guarded.sleep(2)
        assert "guarded.sleep" in info.value.message
        assert time.monotonic() - started < 1.5
        with pytest.raises(ServiceUnavailable):
            client.nobody_home.method()
        assert client.guarded.echo("again") == "again"


def test_actor_context_travels_through_service_rpc(guarded, container_factory,
                                                   service_config_factory, rpc_client):
    caller = container_factory(CallerService, service_config_factory("caller"))
    caller.start()
    actor = Actor("u-42", frozenset({"sales_rep", "manager"}), "guangdong", "req-abc")
    seen = rpc_client(actor=actor).caller.call("whoami")
    assert seen == {"user_id": "u-42", "roles": ["manager", "sales_rep"],
                    "region": "guangdong", "request_id": "req-abc"}
