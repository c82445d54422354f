"""A request the caller has given up on is not executed when the service comes back.

Every RPC client gives its request an AMQP ``expiration`` equal to its timeout, so a
request still queued after the caller answered ``ServiceUnavailable`` is dropped by the
broker instead of run minutes later.
"""
import time

import eventlet
import pytest

from guanxi_common.errors import ServiceUnavailable
from guanxi_common.rpc import ServiceRpc, cluster_rpc, rpc
from guanxi_common.testing.broker import queue_depth
from guanxi_common.testing.waiting import wait_for

EXECUTED = []


class LateService:
    name = "late"

    @rpc
    def record(self, key):
        EXECUTED.append(key)
        return key


class CallerService:
    name = "latecaller"
    late = ServiceRpc("late")

    @rpc
    def relay(self, key):
        try:
            return self.late.record(key)
        except ServiceUnavailable as exc:
            return {"unavailable": str(exc)}


@pytest.fixture
def stopped_late(container_factory, service_config_factory):
    """The service's request queue exists (it ran once) but nobody consumes it."""
    EXECUTED.clear()
    container = container_factory(LateService, service_config_factory("late"))
    container.start()
    container.stop()
    return lambda: container_factory(LateService, service_config_factory("late")).start()


def test_given_up_requests_are_not_executed_when_the_service_returns(
        stopped_late, container_factory, service_config_factory, amqp_uri):
    caller = container_factory(CallerService, service_config_factory("latecaller",
                                                                     RPC_TIMEOUT=0.5))
    caller.start()

    with cluster_rpc(amqp_uri, timeout=0.5) as client:
        with pytest.raises(ServiceUnavailable):
            client.late.record("given-up-standalone")
    with cluster_rpc(amqp_uri, timeout=5) as client:
        outcome = client.latecaller.relay("given-up-service-rpc")
    assert "unavailable" in outcome
    # nobody consumes the queue: the broker itself dropped both once they expired
    assert wait_for(lambda: queue_depth(amqp_uri, "rpc-late") == 0, 3)

    eventlet.sleep(0.5)
    stopped_late()
    with cluster_rpc(amqp_uri, timeout=5) as client:
        assert client.late.record("answered") == "answered"
    eventlet.sleep(0.3)
    assert EXECUTED == ["answered"]


def test_a_request_within_its_timeout_is_still_executed_by_a_late_consumer(
        stopped_late, amqp_uri):
    with cluster_rpc(amqp_uri, timeout=3) as client:
        pending = eventlet.spawn(client.late.record, "waited")
        eventlet.sleep(0.5)
        stopped_late()  # comes back while the caller still waits
        assert pending.wait() == "waited"
    assert EXECUTED == ["waited"]


def test_the_gateway_pool_sets_the_expiration_too(stopped_late, amqp_uri):
    gateway_rpc_pool = pytest.importorskip("gateway.rpc_pool")
    from guanxi_common.context import Actor

    pool = gateway_rpc_pool.RpcPool(amqp_uri, size=1, timeout=0.5)
    try:
        with pytest.raises(ServiceUnavailable):
            with pool.client(Actor.system()) as client:
                client.late.record("given-up-gateway")
    finally:
        pool.close()
    started = time.monotonic()
    eventlet.sleep(1.0)
    stopped_late()
    with cluster_rpc(amqp_uri, timeout=5) as client:
        assert client.late.record("answered") == "answered"
    eventlet.sleep(0.3)
    assert EXECUTED == ["answered"], time.monotonic() - started
