"""``ServiceRpc``'s circuit breaker against the real broker: a stopped target opens it, calls
are then refused at once, and after the cool-down one call is the trial that closes it."""
import time

import eventlet
import pytest

from guanxi_common.errors import NotFound, ServiceUnavailable
from guanxi_common.rpc import ServiceRpc, rpc


class Target:
    name = "circuit_target"

    @rpc
    def echo(self, value):
        return value

    @rpc(expected_exceptions=NotFound)
    def missing(self):
        raise NotFound("nothing here")

    @rpc
    def nap(self, seconds):
        eventlet.sleep(seconds)
        return seconds


class Caller:
    name = "circuit_caller"
    target = ServiceRpc("circuit_target")

    @rpc
    def call(self, method, *args):
        started = time.monotonic()
        try:
            value, kind = getattr(self.target, method)(*args), None
        except ServiceUnavailable as exc:
            value, kind = exc.details, type(exc).__name__
        except NotFound:
            value, kind = None, "NotFound"
        return {"value": value, "kind": kind, "elapsed": time.monotonic() - started}

    @rpc(expected_exceptions=ServiceUnavailable)
    def forward(self):
        return self.target.echo("x")


@pytest.fixture
def start(container_factory, service_config_factory):
    def start_service(cls, **config):
        container = container_factory(cls, service_config_factory(cls.name, **config))
        container.start()
        return container
    return start_service


def test_a_stopped_target_opens_the_circuit_and_a_trial_closes_it(start, rpc_client):
    target = start(Target)
    start(Caller, RPC_TIMEOUT=0.5, RPC_BREAKER_FAILURES=2, RPC_BREAKER_COOLDOWN=1.0)
    client = rpc_client(timeout=10)
    assert client.circuit_caller.call("echo", "up")["value"] == "up"
    # typed errors are answers: they never open it
    for _ in range(3):
        assert client.circuit_caller.call("missing")["kind"] == "NotFound"

    target.stop()  # its durable queue stays: requests wait for nobody
    for _ in range(2):
        outcome = client.circuit_caller.call("echo", "down")
        assert outcome["kind"] == "ServiceUnavailable" and outcome["elapsed"] >= 0.45
    refused = client.circuit_caller.call("echo", "down")
    assert refused["kind"] == "CircuitOpen" and refused["elapsed"] < 0.1
    assert refused["value"]["service"] == "circuit_target"
    assert refused["value"]["circuit"] == "open"

    start(Target)
    time.sleep(1.0)
    trial = client.circuit_caller.call("echo", "back")  # the next call after the cool-down
    assert trial["value"] == "back"
    for _ in range(3):
        assert client.circuit_caller.call("echo", "again")["value"] == "again"


def test_the_open_circuit_crosses_rpc_as_a_plain_service_unavailable(start, rpc_client):
    target = start(Target)
    start(Caller, RPC_TIMEOUT=0.3, RPC_BREAKER_FAILURES=1, RPC_BREAKER_COOLDOWN=30)
    target.stop()
    client = rpc_client(timeout=10)
    assert client.circuit_caller.call("echo", "down")["kind"] == "ServiceUnavailable"

    # the caller answers its own callers with the error: it is up, so the class that
    # arrives is the registered ServiceUnavailable, which trips nobody's circuit
    with pytest.raises(ServiceUnavailable) as forwarded:
        client.circuit_caller.forward()
    assert type(forwarded.value) is ServiceUnavailable
    assert forwarded.value.details["circuit"] == "open"
