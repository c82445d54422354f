"""Contract tests of the events the sales service publishes.

The sales commands run on a fake unit of work through a whole sales life (an opportunity
won and one lost, a quote accepted, an order held, released, changed, put back on hold,
cancelled; another shipped, invoiced, paid and closed; activities done), and every envelope
they emit must load in the producer's schema and in every consumer's schema
(``CONSUMED_EVENTS`` of any module under ``guanxi_common.contracts``). The structural check
proves more than the samples can: no consumer requires what sales may leave out, and none
narrows what sales may send."""
import importlib
import pkgutil
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from marshmallow import fields, validate
from sqlalchemy import MetaData

import guanxi_common.contracts
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
from guanxi_common.messaging_models import messaging_metadata
from guanxi_common.testing import FakeUnitOfWork
from guanxi_common.validation import load
from sales.adapters.models import Base, CustomerReplica, PipelineStage
from sales.application import (activities, billing, opportunities, orders, products,
                               quotes)
from sales.domain.funnel import DEFAULT_PIPELINE

ADMIN = Actor(user_id="admin-1", roles=frozenset({"admin"}), request_id="req-contract")
SCHEMA = MetaData()
for table in (*Base.metadata.tables.values(), *messaging_metadata.tables.values()):
    table.to_metadata(SCHEMA)


def consumers_of(source, event_type):
    """{contract module: {schema_version: schema}} of everyone who reads this event."""
    modules = (importlib.import_module(info.name) for info in pkgutil.walk_packages(
        guanxi_common.contracts.__path__, guanxi_common.contracts.__name__ + "."))
    return {module.__name__: versions for module in modules
            if (versions := getattr(module, "CONSUMED_EVENTS", {}).get((source, event_type)))}


def _customer(session, number, **columns):
    values = {"name": f"合同测试客户{number}", "party_type": "company", "status": "active",
              "roles": ["sold_to", "ship_to", "bill_to", "payer"], "credit_currency": "CNY",
              "credit_policy": "none", "owner_id": "rep-1", "province": "广东", "version": 1,
              "updated_at": datetime.now(timezone.utc), **columns}
    row = CustomerReplica(id=f"00000000-0000-4000-8000-{number:012d}", number=f"C{number:08d}",
                          **values)
    session.add(row)
    session.flush()
    return row


def _lines(quantity="1"):
    return [{"product": "TEA-1", "quantity": quantity}]


@pytest.fixture(scope="module")
def emitted():
    """Every envelope of a sales life, in the order the commands emitted them."""
    uow = FakeUnitOfWork(SCHEMA, "sales", ADMIN)
    with uow:
        for stage in DEFAULT_PIPELINE:  # what migration 0002 loads
            uow.session.add(PipelineStage(code=stage.code, name=stage.name, position=stage.order,
                                          probability=stage.probability, is_won=stage.is_won,
                                          is_lost=stage.is_lost))
        buyer = _customer(uow.session, 1)
        tight = _customer(uow.session, 2, credit_limit=Decimal("150.00"), credit_policy="block")
        unregioned = _customer(uow.session, 3, province=None, owner_id=None)
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


def samples(emitted, event_type):
    return [event for event in emitted if event["type"] == event_type]


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
    consumers = consumers_of("sales", event_type)
    for event in samples(emitted, event_type):
        version = event["schema_version"]
        assert event["source"] == "sales"
        contract.PUBLISHED_EVENTS[event_type][version]().load(event["data"])
        for module, versions in consumers.items():
            assert version in versions, f"{module} does not read version {version}"
            versions[version]().load(event["data"])


def test_activity_logged_has_a_consumer_the_samples_reach():
    assert "guanxi_common.contracts.customer" in consumers_of("sales", "activity.logged")


@pytest.mark.parametrize("event_type", sorted(contract.PUBLISHED_EVENTS))
def test_no_consumer_requires_more_or_accepts_less_than_the_producer_declares(event_type):
    producer = contract.PUBLISHED_EVENTS[event_type]
    for module, versions in consumers_of("sales", event_type).items():
        for version, consumer in versions.items():
            assert version in producer, f"{module} reads version {version}, never published"
            assert compatibility.problems(producer[version], consumer) == [], module


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
