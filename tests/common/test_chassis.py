"""ServiceBase over real HTTP and RPC: probes, metrics per entrypoint, DLQ depth."""
import time
from datetime import datetime

import amqp
import eventlet
import pytest
import requests
from kombu import Connection
from nameko.extensions import DependencyProvider
from nameko.testing.services import entrypoint_waiter
from nameko.testing.utils import get_extension
from prometheus_client.parser import text_string_to_metric_families

from guanxi_common.chassis import ServiceBase, check_broker
from guanxi_common.errors import Conflict
from guanxi_common.rpc import rpc


class FakeDatabase(DependencyProvider):
    """Stands in for UnitOfWorkProvider: its per-worker value has ``check()``."""

    mode = "ok"

    def get_dependency(self, worker_ctx):
        provider = self

        class Uow:
            def check(self):
                if provider.mode == "down":
                    raise RuntimeError("database is down")
                if provider.mode == "hang":
                    eventlet.sleep(30)
                return True

        return Uow()


class DemoService(ServiceBase):
    name = "demo"
    uow = FakeDatabase()

    @rpc
    def hello(self, who):
        return f"hello {who}"

    @rpc(expected_exceptions=Conflict)
    def refuse(self):
        raise Conflict("taken", {"existing": "C00000001"})

    @rpc
    def slow(self, seconds):
        eventlet.sleep(seconds)
        return seconds


class OtherService(ServiceBase):
    name = "other"


@pytest.fixture
def demo(container_factory, service_config_factory):
    config = service_config_factory("demo", READY_CHECK_TIMEOUT=0.5)
    container = container_factory(DemoService, config)
    container.start()
    container.base_url = f"http://{config['WEB_SERVER_ADDRESS']}"
    return container


def metric_samples(text, name, **labels):
    return [sample.value for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())]


def metric(base_url, name, **labels):
    response = requests.get(f"{base_url}/metrics", timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    values = metric_samples(response.text, name, **labels)
    return values[0] if values else 0.0


def test_healthz_and_readyz_report_broker_and_database(demo):
    health = requests.get(f"{demo.base_url}/healthz", timeout=5)
    assert health.status_code == 200
    assert health.json()["status"] == "ok" and health.json()["service"] == "demo"

    ready = requests.get(f"{demo.base_url}/readyz", timeout=5)
    assert ready.status_code == 200
    assert ready.json()["checks"]["broker"]["ok"] is True
    assert ready.json()["checks"]["database"]["ok"] is True

    database = get_extension(demo, FakeDatabase)
    database.mode = "down"
    ready = requests.get(f"{demo.base_url}/readyz", timeout=5)
    assert ready.status_code == 503
    assert ready.json()["failed"] == ["database"]
    assert "database is down" in ready.json()["checks"]["database"]["error"]
    assert ready.json()["checks"]["broker"]["ok"] is True

    # A hanging check is cut off at READY_CHECK_TIMEOUT instead of hanging the probe.
    database.mode = "hang"
    started = time.monotonic()
    ready = requests.get(f"{demo.base_url}/readyz", timeout=10)
    assert time.monotonic() - started < 2
    assert ready.status_code == 503
    assert "timed out" in ready.json()["checks"]["database"]["error"]

    database.mode = "ok"
    assert requests.get(f"{demo.base_url}/readyz", timeout=5).status_code == 200


def test_broker_check_fails_fast_when_nothing_listens():
    started = time.monotonic()
    result = check_broker({"AMQP_URI": "amqp://guest:guest@127.0.0.1:1/"}, timeout=1)
    assert result["ok"] is False and result["error"]
    assert time.monotonic() - started < 0.5  # no retry back-off in a probe


def test_base_class_entrypoints_work_in_every_subclass(demo, container_factory,
                                                       service_config_factory, rpc_client):
    config = service_config_factory("other")
    other = container_factory(OtherService, config)
    other.start()
    client = rpc_client()

    for service in ("demo", "other"):
        pong = getattr(client, service).ping()
        assert pong["service"] == service and pong["status"] == "ok"
        assert datetime.fromisoformat(pong["time"].replace("Z", "+00:00")).tzinfo is not None

    assert client.demo.health()["checks"]["database"]["ok"] is True
    # Without a ``uow`` dependency readiness is about the broker alone.
    other_ready = requests.get(f"http://{config['WEB_SERVER_ADDRESS']}/readyz", timeout=5).json()
    assert set(other_ready["checks"]) == {"broker"}
    assert client.other.health()["status"] == "ok"


def test_metrics_count_calls_errors_and_latency_per_entrypoint(demo, rpc_client):
    client = rpc_client()
    url = demo.base_url
    calls = dict(service="demo", entrypoint="hello")
    before = {
        "hello": metric(url, "guanxi_entrypoint_calls_total", **calls),
        "refuse": metric(url, "guanxi_entrypoint_calls_total", service="demo", entrypoint="refuse"),
        "errors": metric(url, "guanxi_entrypoint_errors_total", service="demo",
                         entrypoint="refuse", error="Conflict"),
        "hello_errors": metric(url, "guanxi_entrypoint_errors_total", service="demo",
                               entrypoint="hello"),
        "latency_count": metric(url, "guanxi_entrypoint_latency_seconds_count", **calls),
        "slow_sum": metric(url, "guanxi_entrypoint_latency_seconds_sum", service="demo",
                           entrypoint="slow"),
    }
    for who in ("a", "b", "c"):
        assert client.demo.hello(who) == f"hello {who}"
    for _ in range(2):
        with pytest.raises(Conflict):
            client.demo.refuse()
    # Metrics are recorded at worker teardown, just after the reply went out.
    with entrypoint_waiter(demo, "slow"):
        client.demo.slow(0.2)
    eventlet.sleep(0.05)

    assert metric(url, "guanxi_entrypoint_calls_total", **calls) == before["hello"] + 3
    assert metric(url, "guanxi_entrypoint_calls_total", service="demo",
                  entrypoint="refuse") == before["refuse"] + 2
    assert metric(url, "guanxi_entrypoint_errors_total", service="demo", entrypoint="refuse",
                  error="Conflict") == before["errors"] + 2
    assert metric(url, "guanxi_entrypoint_errors_total", service="demo",
                  entrypoint="hello") == before["hello_errors"]
    assert metric(url, "guanxi_entrypoint_latency_seconds_count", **calls) == before["latency_count"] + 3
    assert metric(url, "guanxi_entrypoint_latency_seconds_sum", service="demo",
                  entrypoint="slow") >= before["slow_sum"] + 0.2
    # HTTP entrypoints are entrypoints too.
    assert metric(url, "guanxi_entrypoint_calls_total", service="demo",
                  entrypoint="prometheus_metrics") > 0


def test_metrics_report_dlq_depth(demo, amqp_uri):
    assert metric(demo.base_url, "guanxi_dlq_depth", service="demo") == 0

    with Connection(amqp_uri) as conn:
        channel = conn.channel()
        channel.queue_declare("demo.dlq", durable=True, auto_delete=False)
        for n in range(3):
            channel.basic_publish(amqp.Message(f"parked {n}".encode()), exchange="",
                                  routing_key="demo.dlq")
    deadline = time.monotonic() + 5
    while metric(demo.base_url, "guanxi_dlq_depth", service="demo") != 3:
        assert time.monotonic() < deadline, "DLQ depth never reached 3"
        eventlet.sleep(0.05)


def test_readyz_uses_the_services_unit_of_work(db_url, container_factory, service_config_factory):
    from guanxi_common.unit_of_work import UnitOfWorkProvider

    class StoreService(ServiceBase):
        name = "store"
        uow = UnitOfWorkProvider("store")

    config = service_config_factory("store", DB_URIS={"store": db_url}, OUTBOX_RELAY_ENABLED=False)
    container = container_factory(StoreService, config)
    container.start()
    ready = requests.get(f"http://{config['WEB_SERVER_ADDRESS']}/readyz", timeout=5)
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"]["database"]["ok"] is True
