"""Orders over RPC in a Nameko container on the real broker: an order placed and
credit-checked with no customer service running, a payment under a redelivered RPC
message recorded once, typed errors across the wire."""
import json
import uuid
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from kombu import Connection, Exchange, Queue
from sqlalchemy import func, select

from guanxi_common.unit_of_work import UnitOfWork, make_session_factory
from guanxi_common.engine import make_engine
from guanxi_common.errors import BusinessRuleViolation, Forbidden, ValidationFailed
from guanxi_common.migrations import upgrade
from sales.adapters.models import Payment, Product
from sales.entrypoints.billing import BillingEntrypoints
from sales.entrypoints.orders import OrderEntrypoints

from sales_testkit import (ADMIN, ALEMBIC_INI, CREDIT, MANAGER, REP, add_customer, sales_serving,
                           sales_session)


SalesUnderTest = sales_serving(OrderEntrypoints, BillingEntrypoints)


@pytest.fixture
def sales_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'sales.db'}"
    upgrade("sales", str(ALEMBIC_INI), url)
    return url


@pytest.fixture
def seeded(sales_url):
    """The replica filled directly (as the customer events would) and one product."""
    engine = make_engine(sales_url)
    uow = UnitOfWork(make_session_factory(engine), "sales")
    now = datetime.now(timezone.utc)
    with uow:
        made = {
            "trusted": add_customer(uow.session, credit_limit="10000.00", credit_policy="block"),
            "tight": add_customer(uow.session, credit_limit="100.00", credit_policy="block"),
            "blocked": add_customer(uow.session, status="blocked"),
            "no_ship_to": add_customer(uow.session, roles=("sold_to",)),
        }
        uow.session.add(Product(id=str(uuid.uuid4()), sku="TEA-1", name="铁观音 500g", unit="box",
                                currency="CNY", list_price=Decimal("100.00"), unit_cost=Decimal("55.00"),
                                tax_rate=Decimal("0.13"), active=True, created_at=now, updated_at=now))
    numbers = {key: c.number for key, c in made.items()}
    uow.close()
    engine.dispose()
    return numbers


@pytest.fixture
def sales_service(container_factory, service_config_factory, sales_url, seeded):
    config = service_config_factory("sales", DB_URIS={"sales": sales_url})
    container = container_factory(SalesUnderTest, config)
    container.start()
    return container


def count_payments(url):
    with sales_session(url) as session:
        return session.scalar(select(func.count()).select_from(Payment))


def test_order_placed_and_credit_checked_without_the_customer_service(sales_service, seeded,
                                                                      rpc_client):
    # nothing consumes rpc-customer on this vhost: the customer service is not running
    rep = rpc_client(REP, timeout=10)
    placed = rep.sales.place_order({"sold_to": seeded["trusted"],
                                    "lines": [{"product": "TEA-1", "quantity": "10"}]})
    assert placed["status"] == "confirmed" and placed["gross"] == "1130.00"
    assert placed["credit"]["outcome"] == "pass" and placed["credit"]["exposure"] == "1130.00"
    assert placed["payer"]["number"] == seeded["trusted"] and placed["number"].startswith("SO-")
    held = rep.sales.place_order({"sold_to": seeded["tight"],
                                  "lines": [{"product": "TEA-1", "quantity": "1"}]})
    assert held["status"] == "credit_hold" and held["credit"]["outcome"] == "hold"
    released = rpc_client(CREDIT).sales.release_order(held["number"], "prepayment received")
    assert released["status"] == "confirmed"
    assert released["transitions"][-1]["actor_id"] == "cm-1"
    assert released["transitions"][-1]["reason"] == "prepayment received"
    page = rep.sales.list_orders({"status": "confirmed"})
    assert page["total"] == 2


def test_a_redelivered_payment_message_is_recorded_once(sales_service, seeded, rpc_client,
                                                       sales_url, amqp_uri):
    admin = rpc_client(ADMIN, timeout=10)
    order = admin.sales.place_order({"sold_to": seeded["trusted"],
                                     "lines": [{"product": "TEA-1", "quantity": "2"}]})
    admin.sales.ship_order(order["number"])
    invoice = admin.sales.issue_invoice(order["number"], 30)
    assert invoice["amount"] == "226.00" and invoice["status"] == "open"

    body = json.dumps({"args": [], "kwargs": {"payment": {
        "invoice": invoice["number"], "amount": "100.00", "method": "bank_transfer",
        "reference": "ICBC-20260101-001", "idempotency_key": "icbc-20260101-001"}}})
    reply_queue = f"test-replies-{uuid.uuid4().hex}"
    exchange = Exchange("nameko-rpc", "topic", durable=True)
    replies = []
    with Connection(amqp_uri) as conn:
        queue = Queue(reply_queue, exchange, routing_key=reply_queue, auto_delete=True)
        queue.maybe_bind(conn)
        queue.declare()
        producer = conn.Producer()
        for _ in range(2):   # the identical message, as a broker redelivery would bring it
            producer.publish(body, exchange=exchange, routing_key="sales.record_payment",
                             content_type="application/json", content_encoding="utf-8",
                             reply_to=reply_queue, correlation_id="pay-1",
                             headers={"nameko.user_id": "admin-1", "nameko.roles": "admin",
                                      "nameko.request_id": "req-redelivered"})
        with conn.SimpleQueue(queue) as simple:
            for _ in range(2):
                message = simple.get(timeout=10)
                replies.append(json.loads(message.body))
                message.ack()
    assert [r["error"] for r in replies] == [None, None]
    first, second = (r["result"] for r in replies)
    assert first == second and first["amount"] == "100.00" and first["invoice"] == invoice["number"]
    assert count_payments(sales_url) == 1
    got = admin.sales.get_invoice(invoice["number"])
    assert (got["status"], got["outstanding"]) == ("partially_paid", "126.00")
    assert [p["number"] for p in got["payments"]] == [first["number"]]


def test_typed_errors_cross_the_wire(sales_service, seeded, rpc_client):
    admin = rpc_client(ADMIN)
    with pytest.raises(BusinessRuleViolation) as err:
        admin.sales.place_order({"sold_to": seeded["blocked"],
                                 "lines": [{"product": "TEA-1", "quantity": "1"}]})
    assert err.value.rule == "customer_blocked" and err.value.details["customer"] == seeded["blocked"]
    with pytest.raises(ValidationFailed) as err:
        admin.sales.place_order({"sold_to": seeded["no_ship_to"],
                                 "lines": [{"product": "TEA-1", "quantity": "1"}]})
    assert list(err.value.details) == ["ship_to", "bill_to", "payer"]
    with pytest.raises(BusinessRuleViolation) as err:
        admin.sales.place_order({"sold_to": seeded["trusted"], "ship_to": seeded["no_ship_to"],
                                 "lines": [{"product": "TEA-1", "quantity": "1"}]})
    assert err.value.rule == "partner_role_missing" and err.value.details["function"] == "ship_to"
    held = admin.sales.place_order({"sold_to": seeded["tight"],
                                    "lines": [{"product": "TEA-1", "quantity": "5"}]})
    with pytest.raises(Forbidden) as err:
        rpc_client(MANAGER).sales.release_order(held["number"], "I know them")
    assert err.value.details["roles"] == ["credit_manager"]
    with pytest.raises(ValidationFailed) as err:
        admin.sales.place_order({"sold_to": seeded["trusted"], "lines": []})
    assert "lines" in err.value.details
