"""A stopped customer service seen through the gateway under REAL gunicorn (1 worker x 4
threads, gateway_e2e_kit) with the REAL sales service beside it: while 20 Customer 360
requests wait for the stopped service the probes still answer at once (gateway/worker.py
serves them from threads of their own), the circuit then opens and every 360 answers fast
with the customer's sections marked unavailable, and a restarted service closes it again.
"""
import threading
import time

import pytest
import requests

from customer.service import CustomerService
from guanxi_common.context import Actor
from guanxi_common.errors import NotFound
from guanxi_common.testing.waiting import wait_until
from sales.service import SalesService

from gateway_e2e_kit import GunicornGateway, company

RPC_TIMEOUT = 2.0
COOLDOWN = 2.0
IN_FLIGHT = 20
CUSTOMER_SECTIONS = ("profile", "roles", "owner", "relationships")
SALES_SECTIONS = ("open_orders", "receivables", "recent_activities")

pytestmark = pytest.mark.slow


@pytest.fixture
def gateway(amqp_uri, tmp_path):
    gateway = GunicornGateway(tmp_path / "gw", amqp_uri, RPC_TIMEOUT=RPC_TIMEOUT,
                              RPC_BREAKER_FAILURES=3, RPC_BREAKER_COOLDOWN=COOLDOWN)
    try:
        yield gateway.start()
    finally:
        gateway.stop()


def timed_get(url, **kwargs):
    started = time.monotonic()
    response = requests.get(url, timeout=30, **kwargs)
    return response, time.monotonic() - started


def test_the_360_view_answers_fast_once_the_stopped_services_circuit_is_open(
        gateway, container_factory, migrated_service_config, rpc_client):
    customer_config = migrated_service_config("customer")
    customer = container_factory(CustomerService, customer_config)
    customer.start()
    container_factory(SalesService, migrated_service_config("sales")).start()
    http = gateway.client()
    number = http.ok("POST", "admin", "/customers", 201, json=company(
        "熔断测试有限公司", status="active"))["customer"]["number"]
    admin = rpc_client(Actor(user_id="e2e-admin", roles=frozenset({"admin"})))

    def replicated():
        try:
            return admin.sales.replica_customer(number)
        except NotFound:
            return None

    wait_until(replicated, what=f"{number} in the sales replica")
    url = f"{gateway.base}/api/v1/customers/{number}/360"
    auth = {"Authorization": f"Bearer {http.token('admin')}"}
    assert requests.get(url, headers=auth, timeout=10).json()["complete"] is True

    customer.stop()  # its durable request queue stays: calls wait for nobody until the timeout

    answers = [None] * IN_FLIGHT

    def view(i):
        answers[i] = timed_get(url, headers=auth)

    started = time.monotonic()
    threads = [threading.Thread(target=view, args=(i,)) for i in range(IN_FLIGHT)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)  # every gunicorn thread now waits on the stopped service
    health, health_seconds = timed_get(gateway.base + "/healthz")
    ready, ready_seconds = timed_get(gateway.base + "/readyz")
    for thread in threads:
        thread.join()
    wave = time.monotonic() - started

    assert health.status_code == 200 and health_seconds < 1.0, health_seconds
    assert ready.status_code == 200 and ready_seconds < 1.0, ready_seconds
    assert ready.json()["checks"] == {"database": "ok", "broker": "ok"}
    assert all(response.status_code == 200 for response, _ in answers)
    # the first requests waited RPC_TIMEOUT once, the rest found the circuit open
    # (without it: 20 requests on 4 threads, 5 rounds of RPC_TIMEOUT)
    assert wave < 2 * RPC_TIMEOUT + 1.5, wave
    assert gateway_circuit(gateway) in ("open", "half_open")  # half: the cool-down is over

    # past the cool-down too: a background probe, never a user request, waits for it
    for _ in range(10):
        response, seconds = timed_get(url, headers=auth)
        body = response.json()
        assert response.status_code == 200 and seconds < 0.5, seconds
        time.sleep(0.2)
        assert body["complete"] is False
        for section in CUSTOMER_SECTIONS:
            assert body[section] == {"available": False, "error": "customer unavailable"}
        for section in SALES_SECTIONS:
            assert body[section]["available"] is True

    container_factory(CustomerService, customer_config).start()
    wait_until(lambda: requests.get(url, headers=auth, timeout=10).json()["complete"],
               timeout=COOLDOWN + 3 * RPC_TIMEOUT, what="the circuit closed again")
    assert gateway_circuit(gateway) == "closed"


def gateway_circuit(gateway):
    return requests.get(gateway.base + "/readyz", timeout=5).json()["circuits"].get("customer")
