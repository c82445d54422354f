"""The customer replica in a Nameko container on the real broker, fed by the REAL customer
service: catch-up from the export, events from the customer outbox, a merge re-pointing a
sales order, duplicates applied once."""
import time
import uuid
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from nameko.standalone.events import event_dispatcher
from nameko.testing.services import entrypoint_waiter
from nameko.timer import Timer
from sqlalchemy import func, select

from customer.service import CustomerService
from guanxi_common.context import Actor
from guanxi_common.unit_of_work import UnitOfWork, make_session_factory
from guanxi_common.engine import make_engine
from guanxi_common.messaging_models import inbox_events
from guanxi_common.testing.waiting import wait_until
from sales.adapters.models import CustomerReplica, Order
from sales.entrypoints.replica import ReplicaEntrypoints

from sales_testkit import sales_serving

ADMIN = Actor(user_id="admin-1", roles=frozenset({"admin"}), request_id="req-replica")
SalesUnderTest = sales_serving(ReplicaEntrypoints)


@pytest.fixture
def customer_config(migrated_service_config):
    return migrated_service_config("customer")


@pytest.fixture
def sales_config(migrated_service_config):
    return migrated_service_config("sales", RPC_TIMEOUT=1.0,
                                  HANDLER_RETRY_DELAYS_MS=[50], HANDLER_MAX_ATTEMPTS=2)


@pytest.fixture
def start_customer(container_factory, customer_config):
    def start():
        container = container_factory(CustomerService, customer_config)
        container.start()
        return container
    return start


@pytest.fixture
def start_sales(container_factory, sales_config):
    def start(catch_up_interval=None):
        container = container_factory(SalesUnderTest, sales_config)
        if catch_up_interval is not None:  # the env default (30 s) is too slow for a test
            for entrypoint in container.entrypoints:
                if isinstance(entrypoint, Timer):
                    entrypoint.interval = catch_up_interval
        container.start()
        return container
    return start


@pytest.fixture
def sales_store(sales_config):
    """Direct access to the sales database, as the service's own code would have it."""
    engine = make_engine(sales_config["DB_URIS"]["sales"])
    uow = UnitOfWork(make_session_factory(engine), "sales")
    yield uow
    uow.close()
    engine.dispose()


def caught_up(admin):
    status = admin.sales.replica_status()
    return status if status["caught_up"] else None


def create(admin, name, **fields):
    return admin.customer.create({"party_type": "company", "name": name, **fields})["customer"]


def insert_order(uow, customer_id):
    now = datetime.now(timezone.utc)
    zero = Decimal("0")
    with uow:
        order = Order(id=str(uuid.uuid4()), number=f"SO-T-{uuid.uuid4().hex[:8]}",
                      sold_to_id=customer_id, ship_to_id=customer_id, bill_to_id=customer_id,
                      payer_id=customer_id, status="confirmed", net=zero, tax=zero,
                      gross=Decimal("100"), cost=zero, margin=zero, credit_outcome="pass",
                      ordered_at=now, created_by="rep-1", created_at=now, updated_at=now)
        uow.session.add(order)
    return order.id


def test_customers_created_before_sales_starts_are_caught_up(start_customer, start_sales,
                                                            rpc_client):
    start_customer()
    admin = rpc_client(ADMIN)
    made = [create(admin, f"先有的客户{i}有限公司", province="广东") for i in range(3)]
    admin.customer.update(made[0]["number"], {"tier": "A"})

    start_sales()  # its queues did not exist when those events left: only the export has them
    status = wait_until(lambda: caught_up(admin))
    assert status["customers"] == 3 and status["max_version"] == 2
    got = admin.sales.replica_customer(made[0]["number"])
    assert (got["id"], got["name"], got["tier"], got["version"]) == (
        made[0]["id"], "先有的客户0有限公司", "A", 2)


def test_catch_up_waits_for_a_customer_service_that_starts_later(start_customer, start_sales,
                                                                 rpc_client):
    customer = start_customer()
    admin = rpc_client(ADMIN)
    number = create(admin, "晚到的客户有限公司")["number"]
    customer.stop()

    start_sales(catch_up_interval=0.5)
    time.sleep(1.5)  # the eager tick and the next one find no customer service
    status = admin.sales.replica_status()
    assert (status["caught_up"], status["customers"]) == (False, 0)

    start_customer()
    wait_until(lambda: caught_up(admin))
    assert admin.sales.replica_customer(number)["name"] == "晚到的客户有限公司"


def test_updates_and_merges_from_the_customer_service(start_customer, start_sales, rpc_client,
                                                      sales_store):
    start_customer()
    sales = start_sales()
    admin = rpc_client(ADMIN)
    wait_until(lambda: caught_up(admin))

    survivor = create(admin, "合并后留下的有限公司")
    victim = create(admin, "被合并的有限公司")
    wait_until(lambda: admin.sales.replica_status()["customers"] == 2)

    # (b) a customer.updated from the customer service reaches the replica
    with entrypoint_waiter(sales, "on_customer_updated"):
        admin.customer.update(victim["number"], {"city": "深圳", "tier": "B"})
    got = admin.sales.replica_customer(victim["number"])
    assert (got["city"], got["tier"], got["version"]) == ("深圳", "B", 2)

    # (c) a merge in the customer service re-points a sales order to the survivor
    order_id = insert_order(sales_store, victim["id"])
    with entrypoint_waiter(sales, "on_customer_merged", timeout=15):
        admin.customer.merge(survivor["number"], victim["number"], "same legal entity")
    with sales_store:
        order = sales_store.session.get(Order, order_id)
        assert {order.sold_to_id, order.ship_to_id, order.bill_to_id, order.payer_id} == {
            survivor["id"]}
    gone = admin.sales.replica_customer(victim["number"])
    assert gone["status"] == "merged"
    assert gone["merged_into_id"] == survivor["id"]


def test_the_same_event_delivered_twice_is_applied_once(start_customer, start_sales,
                                                        rpc_client, sales_config, sales_store):
    start_customer()
    sales = start_sales()
    admin = rpc_client(ADMIN)
    customer = create(admin, "重复投递有限公司")
    wait_until(lambda: admin.sales.replica_status()["customers"] == 1)

    dispatch = event_dispatcher(sales_config)  # to customer.events, routing key = type

    def owner_changed(new_owner):
        return {"event_id": str(uuid.uuid4()), "type": "customer.owner_changed",
                "schema_version": 1, "occurred_at": "2026-11-23T10:00:00.000Z",
                "source": "customer",
                "aggregate": {"type": "customer", "id": customer["id"],
                              "number": customer["number"], "version": customer["version"]},
                "actor": {"user_id": "mgr-1", "request_id": None},
                "data": {"old_owner_id": None, "new_owner_id": new_owner, "reason": "assigned"}}

    first, second = owner_changed("rep-8"), owner_changed("rep-9")
    for evt in (first, second, first):  # the redelivered first must not win again
        with entrypoint_waiter(sales, "on_customer_owner_changed"):
            dispatch("customer", "customer.owner_changed", evt)
    assert admin.sales.replica_customer(customer["number"])["owner_id"] == "rep-9"
    with sales_store:
        rows = sales_store.session.scalar(select(func.count()).select_from(inbox_events).where(
            inbox_events.c.consumer == "sales.on_customer_owner_changed"))
        assert rows == 2
        assert sales_store.session.get(CustomerReplica, customer["id"]).version == 1
