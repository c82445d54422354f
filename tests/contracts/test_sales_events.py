"""Contract tests of the events the sales service publishes.

The sales commands run on a fake unit of work through a whole sales life (an opportunity
won and one lost, a quote accepted, an order held, released, changed, put back on hold,
cancelled; another shipped, invoiced, paid and closed; activities done), and every envelope
they emit must load in the producer's schema and in every consumer's schema
(``CONSUMED_EVENTS`` of any module under ``guanxi_common.contracts``). The structural check
proves more than the samples can: no consumer requires what sales may leave out, and none
narrows what sales may send."""
from datetime import datetime, timedelta, timezone

import pytest
from marshmallow import fields, validate

from guanxi_common.contracts import compatibility
from guanxi_common.contracts.fields import StrictSchema
from guanxi_common.contracts.sales import events as contract
from guanxi_common.contracts.sales.activities import ActivityLogSchema
from guanxi_common.contracts.sales.billing import PaymentSchema
from guanxi_common.contracts.sales.opportunities import OpportunityCreateSchema
from guanxi_common.contracts.sales.orders import OrderLinesSchema, PlaceOrderSchema
from guanxi_common.contracts.sales.products import ProductCreateSchema
from guanxi_common.contracts.sales.quotes import QuoteCreateSchema
from guanxi_common.context import Actor
from guanxi_common.testing.contracts import (assert_every_consumer_loads,
                                             assert_no_consumer_narrows, consumers_of,
                                             samples)
from guanxi_common.validation import load
from sales.application import (activities, billing, opportunities, orders, products,
                               quotes)

from sales_testkit import add_customer, fake_sales_uow

ADMIN = Actor(user_id="admin-1", roles=frozenset({"admin"}), request_id="req-contract")


def _lines(quantity="1"):
    return [{"product": "TEA-1", "quantity": quantity}]


@pytest.fixture(scope="module")
def emitted():
    """Every envelope of a sales life, in the order the commands emitted them."""
    uow = fake_sales_uow(ADMIN)
    with uow:
        buyer = add_customer(uow.session)
        tight = add_customer(uow.session, credit_limit="150.00", credit_policy="block")
        unregioned = add_customer(uow.session, province=None, owner_id=None)
        products.create_product(uow, load(ProductCreateSchema(), {
            "sku": "TEA-1", "name": "铁观音", "list_price": "100.00", "unit_cost": "55.00"}))
    with uow:
        for customer, close in ((buyer, opportunities.win), (unregioned, None)):
            opp = opportunities.create_opportunity(uow, load(OpportunityCreateSchema(), {
                "customer": customer.number, "title": "年度采购", "amount": "8550.00"}))
            opportunities.move_stage(uow, opp.number, "proposal")
            if close:
                close(uow, opp.number)
            else:
                opportunities.lose(uow, opp.number, "预算取消")
        quote = quotes.create_quote(uow, load(QuoteCreateSchema(), {
            "customer": buyer.number, "lines": _lines("2")}))
        quotes.send_quote(uow, quote.number)
        quotes.accept_quote(uow, quote.number)
    with uow:  # held, released, raised past the limit (held again), cancelled
        held = orders.place_order(uow, load(PlaceOrderSchema(), {
            "sold_to": tight.number, "lines": _lines("2")}))
        orders.release_order(uow, held.number, "客户已预付")
        orders.change_order_lines(uow, held.number, load(OrderLinesSchema(), {
            "lines": _lines("3")})["lines"])
        orders.cancel_order(uow, held.number, "客户取消")
    with uow:  # the whole way: shipped, invoiced, paid, closed
        order = orders.place_order(uow, load(PlaceOrderSchema(), {
            "sold_to": buyer.number, "lines": _lines(), "idempotency_key": "k-1"}))
        orders.change_order_lines(uow, order.number, load(OrderLinesSchema(), {
            "lines": [{"product": "TEA-1", "quantity": "1", "discount": "0.1"}]})["lines"])
        orders.ship_order(uow, order.number)
        invoice = billing.issue_invoice(uow, order.number, 30)
        billing.record_payment(uow, load(PaymentSchema(), {
            "invoice": invoice.number, "amount": "50.00", "method": "alipay"}))
        billing.record_payment(uow, load(PaymentSchema(), {
            "invoice": invoice.number, "amount": str(invoice.outstanding)}))
        orders.close_order(uow, order.number)
    with uow:
        done = datetime.now(timezone.utc) - timedelta(hours=1)
        for kind, outcome in (("call", "completed"), ("visit", "follow_up")):
            activities.log_activity(uow, load(ActivityLogSchema(), {
                "kind": kind, "customer": buyer.number, "subject": "回访",
                "done_at": done.isoformat(), "outcome": outcome}))
        planned = activities.log_activity(uow, load(ActivityLogSchema(), {
            "kind": "task", "customer": buyer.number, "subject": "寄样品",
            "due_at": done.isoformat()}))
        activities.complete_activity(uow, planned.id, {"outcome": "no_answer", "done_at": None,
                                                       "notes": None})
        cancelled = activities.log_activity(uow, load(ActivityLogSchema(), {
            "kind": "meeting", "customer": buyer.number, "subject": "取消的会议",
            "due_at": done.isoformat()}))
        activities.complete_activity(uow, cancelled.id, {"outcome": "cancelled", "done_at": None,
                                                         "notes": None})
    events = list(uow.events)
    uow.close()
    return events


def test_every_published_type_is_emitted_and_nothing_else(emitted):
    assert {event["type"] for event in emitted} == set(contract.PUBLISHED_EVENTS)
    # the optional parts, both ways: an opportunity without a region, a confirmed order
    # released and not, a cancelled activity never published
    assert {e["data"]["region"] for e in samples(emitted, "opportunity.stage_changed")} == \
        {"广东", None}
    assert {e["data"]["released"] for e in samples(emitted, "order.confirmed")} == {True, False}
    assert [e["data"]["outcome"] for e in samples(emitted, "activity.logged")] == \
        ["completed", "follow_up", "no_answer"]


@pytest.mark.parametrize("event_type", sorted(contract.PUBLISHED_EVENTS))
def test_what_the_producer_emits_loads_in_its_schema_and_every_consumers(emitted, event_type):
    assert_every_consumer_loads(contract.PUBLISHED_EVENTS, "sales", samples(emitted, event_type))


def test_activity_logged_has_a_consumer_the_samples_reach():
    assert "guanxi_common.contracts.customer" in consumers_of("sales", "activity.logged")


@pytest.mark.parametrize("event_type", sorted(contract.PUBLISHED_EVENTS))
def test_no_consumer_requires_more_or_accepts_less_than_the_producer_declares(event_type):
    assert_no_consumer_narrows(contract.PUBLISHED_EVENTS, "sales", event_type)


def test_the_structural_check_catches_a_new_requirement_and_a_narrowing():
    class WantsMore(StrictSchema):
        customer_id = fields.String(required=True, validate=validate.Length(max=20))
        occurred_at = fields.AwareDateTime(required=True)
        kind = fields.String(required=True, validate=validate.OneOf(("visit",)))
        channel = fields.String(required=True)

    found = compatibility.problems(contract.ActivityLoggedV1, WantsMore)
    assert any(p.startswith("channel: required") for p in found)
    assert any(p.startswith("customer_id: the consumer allows at most 20") for p in found)
    assert any(p.startswith("kind: the consumer allows only") for p in found)
