"""The services' circuit breakers as the gateway's endpoints show them, through the fake
pool with the real breakers on a clock the test steps. The breakers sit where a call is
made, below the pool interface, so the fake pool passes them exactly as the real one
(test_rpc_pool.py shows them with a stopped service, test_gateway_circuits_e2e.py under
gunicorn)."""
import pytest

from guanxi_common.circuits import CIRCUIT_STATE, rpc_breakers
from guanxi_common.errors import NotFound, ServiceUnavailable
from gateway.testing import FakeRpcPool

from gateway_fake_kit import assert_problem
from test_gateway_customers import answer_360

NUMBER = "C00000030"
CUSTOMER_SECTIONS = ("profile", "roles", "owner", "relationships")


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def fake_pool(clock):
    pool = FakeRpcPool(breakers=rpc_breakers("gateway", 3, 10, clock=clock))
    yield pool
    assert not pool.unexpected, f"calls without a configured answer: {pool.unexpected}"


def customer_calls(pool):
    return len(pool.calls_to("customer"))


def test_a_stopped_customer_service_is_not_called_once_its_circuit_is_open(gateway, fake_pool,
                                                                           clock):
    answer_360(fake_pool, NUMBER)
    assert gateway.ok("GET", "rep", f"/customers/{NUMBER}/360")["complete"] is True
    fake_pool.down("customer")

    for _ in range(2):  # get, relationships, get: the third failure opens the circuit
        view = gateway.ok("GET", "rep", f"/customers/{NUMBER}/360")
        assert view["profile"] == {"available": False, "error": "customer unavailable"}
    assert customer_calls(fake_pool) == 2 + 3  # the second relationships was not called
    assert CIRCUIT_STATE.labels("gateway", "customer")._value.get() == 2

    # open: the 360 view marks the customer's sections unavailable without calling it
    view = gateway.ok("GET", "rep", f"/customers/{NUMBER}/360")
    assert customer_calls(fake_pool) == 5
    for section in CUSTOMER_SECTIONS:
        assert view[section] == {"available": False, "error": "customer unavailable"}
    assert view["open_orders"]["available"] and view["open_orders"]["total"] == 2
    assert view["complete"] is False
    # a single call answers 503 at once, naming the service
    refused = gateway.call("GET", "rep", f"/customers/{NUMBER}")
    assert assert_problem(refused, 503, "service_unavailable")["service"] == "customer"
    assert refused.headers["Retry-After"]
    assert customer_calls(fake_pool) == 5

    # still down after the cool-down: one trial call, the circuit opens again
    clock.now += 10
    gateway.ok("GET", "rep", f"/customers/{NUMBER}/360")
    assert customer_calls(fake_pool) == 6
    gateway.ok("GET", "rep", f"/customers/{NUMBER}/360")
    assert customer_calls(fake_pool) == 6

    # back: the next trial's answer closes the circuit and the view is whole again
    fake_pool.up("customer")
    clock.now += 10
    view = gateway.ok("GET", "rep", f"/customers/{NUMBER}/360")
    assert view["complete"] is True
    assert customer_calls(fake_pool) == 8
    assert CIRCUIT_STATE.labels("gateway", "customer")._value.get() == 0


def test_a_service_that_answers_with_errors_keeps_its_circuit_closed(gateway, fake_pool):
    answer_360(fake_pool, NUMBER)
    # the customer service answers, with "my own dependency is unavailable": it is up
    fake_pool.fail("customer", "relationships", ServiceUnavailable("the store is busy"))
    for _ in range(5):
        view = gateway.ok("GET", "rep", f"/customers/{NUMBER}/360")
        assert view["relationships"] == {"available": False, "error": "customer unavailable"}
        assert view["profile"]["available"]
    assert customer_calls(fake_pool) == 10
    # so do refusals
    fake_pool.reply("customer", "relationships", [])
    fake_pool.fail("customer", "get", NotFound("customer C09999999 not found"))
    for _ in range(5):
        assert_problem(gateway.call("GET", "rep", "/customers/C09999999"), 404)
    assert customer_calls(fake_pool) == 15
