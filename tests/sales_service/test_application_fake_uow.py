"""Sales commands on a fake unit of work (in-memory schema, events kept in memory): the
rules whose point is what a command decides and emits, not how the database stores it."""
from decimal import Decimal

import pytest

from guanxi_common.contracts.sales.activities import ActivityLogSchema
from guanxi_common.contracts.sales.orders import PlaceOrderSchema
from guanxi_common.contracts.sales.products import ProductCreateSchema
from guanxi_common.errors import BusinessRuleViolation, Conflict
from guanxi_common.validation import load
from sales.adapters.models import Order
from sales.application import activities, orders, products

from sales_testkit import add_customer, fake_sales_uow

@pytest.fixture
def uow():
    fake = fake_sales_uow()
    with fake:
        products.create_product(fake, load(ProductCreateSchema(), {
            "sku": "TEA-1", "name": "铁观音", "list_price": "100.00"}))
    yield fake
    fake.close()


def order_of(customer, quantity="1", **extra):
    return load(PlaceOrderSchema(), {"sold_to": customer.number,
                                     "lines": [{"product": "TEA-1", "quantity": quantity}],
                                     **extra})


def test_an_order_over_a_blocking_limit_is_held_then_released(uow):
    with uow:
        payer = add_customer(uow.session, credit_limit="150.00", credit_policy="block")
    with uow:
        held = orders.place_order(uow, order_of(payer, "2"))
    assert held.status == "credit_hold"
    with uow:
        orders.release_order(uow, held.number, "客户已预付")
    assert uow.event_types() == ["order.placed", "order.credit_held", "order.released",
                                 "order.confirmed"]
    released = uow.events[-1]["data"]
    assert released["released"] is True and released["order"]["status"] == "confirmed"


def test_a_refused_command_emits_nothing_and_changes_nothing(uow):
    with uow:
        payer = add_customer(uow.session, status="blocked")
    with pytest.raises(BusinessRuleViolation), uow:
        orders.place_order(uow, order_of(payer))
    assert uow.events == [] and uow.session.query(Order).count() == 0


def test_an_idempotent_retry_places_nothing_and_another_body_conflicts(uow):
    with uow:
        buyer = add_customer(uow.session)
    with uow:
        first = orders.place_order(uow, order_of(buyer, idempotency_key="k-1"))
    with uow:
        again = orders.place_order(uow, order_of(buyer, idempotency_key="k-1"))
    assert again.id == first.id and uow.event_types() == ["order.placed", "order.confirmed"]
    with pytest.raises(Conflict), uow:
        orders.place_order(uow, order_of(buyer, "2", idempotency_key="k-1"))
    assert first.gross == Decimal("113.00")


def test_only_a_done_activity_that_happened_is_published(uow):
    with uow:
        buyer = add_customer(uow.session)
    with uow:
        planned = activities.log_activity(uow, load(ActivityLogSchema(), {
            "kind": "call", "customer": buyer.number, "subject": "回访",
            "due_at": "2026-03-10T10:00:00+08:00"}))
    assert uow.events == []  # planned, not done
    with uow:
        activities.complete_activity(uow, planned.id, {"outcome": "cancelled"})
    assert uow.events == []  # cancelled: it did not happen
    with uow:
        activities.log_activity(uow, load(ActivityLogSchema(), {
            "kind": "visit", "customer": buyer.number, "subject": "拜访",
            "done_at": "2026-03-10T10:00:00+08:00", "outcome": "completed"}))
    assert uow.event_types() == ["activity.logged"]
    assert uow.events[0]["data"]["occurred_at"] == "2026-03-10T02:00:00+00:00"
