"""The funnel entrypoints in a Nameko container on the real broker: products, opportunities,
quotes → orders over RPC, typed errors across the wire, and ``activity.logged`` leaving
through the outbox to the ``sales.events`` topic exchange."""
import json
from datetime import datetime, timedelta, timezone

import pytest

from guanxi_common.errors import BusinessRuleViolation, Conflict, Forbidden, ValidationFailed
from guanxi_common.testing.broker import bind_queue, get_messages
from sales.entrypoints.activities import ActivityEntrypoints
from sales.entrypoints.opportunities import OpportunityEntrypoints
from sales.entrypoints.products import ProductEntrypoints
from sales.entrypoints.quotes import QuoteEntrypoints

from sales_testkit import ADMIN, REP, add_customer, sales_serving, sales_session

SalesUnderTest = sales_serving(ProductEntrypoints, OpportunityEntrypoints, QuoteEntrypoints,
                               ActivityEntrypoints)


@pytest.fixture
def sales_config(migrated_service_config):
    return migrated_service_config("sales")


@pytest.fixture
def known_customer(sales_config):
    """A customer of rep-1 in the sales replica (as the customer events would put it)."""
    with sales_session(sales_config["DB_URIS"]["sales"]) as session:
        customer = add_customer(session, owner_id="rep-1", province="广东")
        return {"id": customer.id, "number": customer.number}


@pytest.fixture
def event_queue(sales_config):
    """A queue bound to sales.events, declared before anything is published."""
    return bind_queue(sales_config["AMQP_URI"], "sales.events", routing_key="activity.logged")


@pytest.fixture
def sales_service(container_factory, sales_config):
    container = container_factory(SalesUnderTest, sales_config)
    container.start()
    return container


def test_product_opportunity_quote_to_order_over_rpc(sales_service, known_customer, rpc_client):
    admin, rep = rpc_client(ADMIN).sales, rpc_client(REP).sales
    created = admin.create_product({"sku": "gx-100", "name": "工业传感器", "list_price": "100.00",
                                    "unit_cost": "60.00", "tax_rate": "0.13"})
    assert (created["sku"], created["list_price"], created["tax_rate"]) == ("GX-100", "100.00", "0.13")
    with pytest.raises(Conflict):
        admin.create_product({"sku": "GX-100", "name": "重复", "list_price": "1"})
    with pytest.raises(Forbidden):
        rep.create_product({"sku": "GX-200", "name": "控制器", "list_price": "1"})
    with pytest.raises(ValidationFailed) as err:
        admin.create_product({"sku": "GX-300", "name": "x", "list_price": "-1"})
    assert list(err.value.details) == ["list_price"]
    assert [s["code"] for s in rep.pipeline()][:2] == ["lead", "qualified"]

    opp = rep.create_opportunity({"customer": known_customer["number"], "title": "年度采购",
                                  "amount": "8550.00", "expected_close": "2026-12-31"})
    assert (opp["stage"], opp["owner_id"], opp["amount"]) == ("lead", "rep-1", "8550.00")
    moved = rep.move_opportunity_stage(opp["number"], "proposal")
    assert [h["stage"] for h in moved["stage_history"]] == ["lead", "proposal"]
    assert rep.list_opportunities({"status": "open"})["total"] == 1

    quote = rep.create_quote({"customer": known_customer["number"], "opportunity": opp["number"],
                              "lines": [{"product": "GX-100", "quantity": "10", "unit_price": "90.00",
                                         "discount": "0.05"}]})
    assert (quote["status"], quote["net"], quote["tax"], quote["gross"]) == \
        ("draft", "855.00", "111.15", "966.15")
    with pytest.raises(BusinessRuleViolation) as err:
        rep.accept_quote(quote["number"])
    assert err.value.rule == "quote_not_sent"
    assert rep.send_quote(quote["number"])["status"] == "sent"
    accepted = rep.accept_quote(quote["number"])
    assert accepted["quote"]["status"] == "accepted"
    assert accepted["quote"]["order_id"] == accepted["order"]["id"]
    assert accepted["order"]["number"].startswith("SO-") and accepted["order"]["status"] == "confirmed"
    assert rep.get_quote(quote["id"])["order_id"] == accepted["order"]["id"]
    won = rep.win_opportunity(opp["number"])
    assert (won["status"], won["stage"]) == ("won", "won")


def test_completed_activity_reaches_sales_events(sales_service, known_customer, event_queue,
                                                 rpc_client, sales_config):
    rep = rpc_client(REP).sales
    due = (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat()
    planned = rep.log_activity({"kind": "call", "customer": known_customer["number"],
                                "subject": "回访电话", "due_at": due})
    agenda = rep.activities_today()
    assert agenda["owner_id"] == "rep-1" and [a["id"] for a in agenda["overdue"]] == [planned["id"]]
    done = rep.complete_activity(planned["id"], {"outcome": "completed",
                                                 "done_at": "2026-01-05T10:30:00+08:00"})
    assert done["done_at"] == "2026-01-05T02:30:00+00:00"
    message, = get_messages(sales_config["AMQP_URI"], event_queue, 1, timeout=10)
    event = json.loads(message.body) if isinstance(message.body, (str, bytes)) else message.body
    assert message.properties["type"] == "activity.logged"
    assert message.delivery_info["exchange"] == "sales.events"
    assert event["data"] == {"customer_id": known_customer["id"], "occurred_at": "2026-01-05T02:30:00+00:00",
                             "activity_id": planned["id"], "user_id": "rep-1", "kind": "call",
                             "outcome": "completed"}
    assert rep.activities_today()["overdue"] == []
    assert rep.list_activities({"open": False})["total"] == 1
