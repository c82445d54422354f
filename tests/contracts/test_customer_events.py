"""Contract tests of the events the customer service publishes, and of the one it consumes.

The customer commands run on a fake unit of work in the shapes a real customer takes
(person, company, with and without the optional parts; every pool move; merge; erasure),
and every envelope they emit must load in the producer's schema and in every consumer's
schema (``CONSUMED_EVENTS`` of any module under ``guanxi_common.contracts``). A structural
check proves more than the samples can: no consumer requires what the producer may leave
out, and none narrows what the producer may send."""
from datetime import timedelta

import jsonschema
import pytest

from customer.application import parties, pool, privacy, relationships
from customer.dependencies import pool_policy_from
from guanxi_common import identifiers
from guanxi_common.clock import utcnow
from guanxi_common.context import Actor
from guanxi_common.contracts import compatibility
from guanxi_common.contracts import customer as contract
from guanxi_common.contracts.fields import StrictSchema
from guanxi_common.testing.contracts import (assert_every_consumer_loads,
                                             assert_no_consumer_narrows, samples)
from guanxi_common.validation import load

from customer_testkit import fake_customer_uow

ADMIN = Actor(user_id="admin-1", roles=frozenset({"admin"}), request_id="req-contract")
CREDIT = Actor(user_id="cm-1", roles=frozenset({"admin", "credit_manager"}))
REP = Actor(user_id="rep-1", roles=frozenset({"sales_rep"}), region="广东")
MANAGER = Actor(user_id="mgr-1", roles=frozenset({"sales_manager"}))
POLICY = pool_policy_from({"POOL_MAX_CLAIMS": 50, "POOL_FOLLOW_UP_DAYS": 30,
                           "POOL_RECLAIM_COOLDOWN_DAYS": 0})


@pytest.fixture(scope="module")
def emitted():
    """Every envelope of a life of customers, in the order the commands emitted them."""
    uow = fake_customer_uow(ADMIN)

    def run(actor, command, *args):
        uow.actor = actor
        with uow:
            return command(uow, *args)

    def create(actor=ADMIN, **fields):
        return run(actor, parties.create_customer, load(contract.CustomerCreateSchema(), fields))[0]

    full = create(
        actor=CREDIT, party_type="company", name="深圳华为技术有限公司", tier="A", province="广东",
        city="深圳", credit_code=identifiers.make_credit_code("91440300MA5EXAMP1"),
        phones=[{"value": "0755-2878 0808", "label": "office", "is_primary": True}],
        emails=[{"value": "Sales@Huawei.example"}], tags=["key", "5g"], roles=["sold_to", "payer"],
        addresses=[{"type": "registered", "province": "广东", "city": "深圳",
                    "street": "坂田华为基地"}],
        financials=[{"fiscal_year": 2025, "revenue": "1200000.50", "net_profit": "-3.10"}],
        preferences={"invoice": "电子发票", "visits": None}, marketing_consent=True,
        credit_limit="500000", credit_policy="block", registered_capital="1000000",
        registered_capital_currency="CNY", founded_on="1987-09-15", industry="通信设备",
        owner_id="rep-1")
    bare = create(party_type="company", name="最简公司")
    twin = create(party_type="company", name="最简股份公司")
    person = create(party_type="person", name="张伟", gender="male", birth_date="1985-03-02",
                    marital_status="married", phones=[{"value": "+86 138-1234-5678"}])
    lone = create(party_type="person", name="Li Lei")
    run(ADMIN, parties.update_customer, bare.number, load(
        contract.CustomerUpdateSchema(), {"city": "广州", "tags": ["new"], "status": "active"},
        partial=contract.UPDATABLE))
    run(CREDIT, parties.set_credit_limit, bare.number, load(
        contract.CreditLimitSchema(), {"credit_limit": None, "credit_policy": "warn"}))
    run(ADMIN, relationships.add_relationship, load(contract.RelationshipCreateSchema(), {
        "type": "holding_of", "from_customer": full.number, "to_customer": bare.number}))
    run(REP, pool.claim, twin.number, POLICY)
    run(REP, pool.release, twin.number, "moved to another province")
    run(MANAGER, pool.assign, lone.number, "rep-2")
    run(MANAGER, pool.return_idle_customers, POLICY, utcnow() + timedelta(days=40))
    run(ADMIN, parties.merge, bare.number, twin.number, None)
    run(ADMIN, privacy.erase, person.number, "PIPL request #42")
    run(ADMIN, privacy.erase, lone.number, "data subject request")
    events = list(uow.events)
    uow.close()
    return events


def test_every_published_type_is_emitted_and_nothing_else(emitted):
    assert {event["type"] for event in emitted} == set(contract.PUBLISHED_EVENTS)
    reasons = {event["data"]["reason"] for event in samples(emitted, "customer.owner_changed")}
    assert reasons == {"claimed", "released", "assigned", "no_follow_up"}


@pytest.mark.parametrize("event_type", sorted(contract.PUBLISHED_EVENTS))
def test_what_the_producer_emits_loads_in_its_schema_and_every_consumers(emitted, event_type):
    events = samples(emitted, event_type)
    assert all(event["aggregate"]["type"] == "customer" for event in events)
    assert_every_consumer_loads(contract.PUBLISHED_EVENTS, "customer", events)


def test_the_records_events_carry_are_valid_customer_records(emitted):
    schema = contract.customer_record_json_schema()
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    records = [e["data"]["customer"] for e in emitted
               if e["type"] in ("customer.created", "customer.updated")]
    assert {r["party_type"] for r in records} == {"person", "company"}
    assert {r["status"] for r in records} >= {"prospect", "active", "merged"}
    for record in records:
        validator.validate(record)


@pytest.mark.parametrize("event_type", sorted(contract.PUBLISHED_EVENTS))
def test_no_consumer_requires_more_or_accepts_less_than_the_producer_declares(event_type):
    assert_no_consumer_narrows(contract.PUBLISHED_EVENTS, "customer", event_type)


def test_the_structural_check_catches_a_new_requirement_and_a_narrowing():
    from marshmallow import fields, validate

    class WantsMore(StrictSchema):
        customer = fields.Nested(type("Record", (contract.CustomerRecordSchema,), {
            "nickname": fields.String(required=True),
            "name": fields.String(required=True, validate=validate.Length(max=10)),
            "status": fields.String(required=True, validate=validate.OneOf(("active",))),
            "credit_limit": fields.Decimal(required=True)}), required=True)

    found = compatibility.problems(contract.CustomerCreatedV1, WantsMore)
    assert any(p.startswith("customer.nickname: required") for p in found)
    assert any(p.startswith("customer.name: the consumer allows at most 10") for p in found)
    assert any(p.startswith("customer.status: the consumer allows only") for p in found)
    assert any(p.startswith("customer.credit_limit: may be null") for p in found)


# ---- consumed: sales' activity.logged -------------------------------------------------------

def test_what_the_customer_service_reads_of_activity_logged_is_what_sales_declares():
    from guanxi_common.contracts.sales.events import PUBLISHED_EVENTS as SALES_EVENTS

    producer = SALES_EVENTS["activity.logged"]
    for version, consumer in contract.CONSUMED_EVENTS[("sales", "activity.logged")].items():
        assert compatibility.problems(producer[version], consumer) == []
    documented = {"customer_id": "5c1e7a40-2b8d-4f2e-9a3c-7d6e5f4a3b21",
                  "occurred_at": "2026-11-23T02:00:00+00:00",
                  "activity_id": "0f6c9d2e-1a2b-4c3d-8e4f-5a6b7c8d9e0f", "user_id": "rep-1",
                  "kind": "visit", "outcome": "completed"}  # docs/messaging.md
    producer[1]().load(documented)
    assert contract.ActivityLoggedIn().load(documented)["customer_id"] == documented["customer_id"]
