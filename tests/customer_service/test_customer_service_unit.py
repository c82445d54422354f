"""The customer service class in isolation (``worker_factory``): no broker, no container, no
migrations. Its unit of work is a fake on an in-memory schema, the pool policy a fixed one,
every other dependency a mock. Each entrypoint is shown to parse its input with the
contract, call its one command or query, and dump an answer the contract accepts."""
import uuid
from datetime import datetime, timedelta, timezone

import jsonschema
import pytest
from nameko.testing.services import worker_factory

from customer.application import parties, pool, privacy, relationships, roles
from customer.dependencies import pool_policy_from
from customer.queries import duplicates, export, parties as party_queries
from customer.queries import relationships as relationship_queries, roles as role_queries, search
from customer.service import CustomerService
from guanxi_common.contracts import customer as contract
from guanxi_common.errors import BusinessRuleViolation, ValidationFailed
from guanxi_common.identifiers import make_credit_code
from guanxi_common.testing.contracts import valid

from customer_testkit import ADMIN, REP, fake_customer_uow

POLICY = pool_policy_from({"POOL_MAX_CLAIMS": 5, "POOL_FOLLOW_UP_DAYS": 30,
                           "POOL_RECLAIM_COOLDOWN_DAYS": 10})


@pytest.fixture
def uow():
    fake = fake_customer_uow()
    yield fake
    fake.close()


@pytest.fixture
def service(uow):
    return worker_factory(CustomerService, uow=uow, pool_policy=POLICY)


def company(name="深圳华为技术有限公司", **fields):
    return {"party_type": "company", "name": name, "province": "广东", **fields}


def test_create_parses_calls_the_command_and_dumps_the_record(service, uow, calls):
    calls.watch(parties, "create_customer")
    answer = service.create(company(phones=[{"value": "0755-2878 0808"}], tier="A"))
    assert calls.names() == ["application.parties.create_customer"]
    data = calls[0][1][1]
    assert data["phones"][0]["value"] == "+8675528780808"  # parsed by the contract
    assert valid(contract.CustomerCreatedSchema, answer)
    assert answer["customer"]["phones"][0]["value"] == "+8675528780808"
    assert uow.event_types() == ["customer.created"]


def test_invalid_input_is_refused_before_any_command(service, uow, calls):
    calls.watch(parties, "create_customer")
    with pytest.raises(ValidationFailed) as err:
        service.create({"party_type": "company", "name": "", "phones": [{"value": "call me"}]})
    assert {"name", "phones.0.value"} <= set(err.value.details)
    with pytest.raises(ValidationFailed) as err:
        service.update("C00000001", {"status": "merged"})
    assert "status" in err.value.details
    assert calls == [] and uow.events == []


def test_reads_call_their_query_and_answer_in_the_contract(service, calls):
    for module, name in ((party_queries, "get"), (party_queries, "history"),
                         (search, "search"), (duplicates, "check_duplicates"),
                         (role_queries, "role_types"),
                         (relationship_queries, "relationship_types"),
                         (relationship_queries, "list_relationships"),
                         (relationship_queries, "group_tree"), (export, "export_batch"),
                         (export, "privacy_export")):
        calls.watch(module, name)
    number = service.create(company())["customer"]["number"]
    assert valid(contract.CustomerRecordSchema, service.get(number))
    assert valid(contract.HistoryPageSchema, service.history(number, 1, 10))["total"] > 0
    assert valid(contract.SearchPageSchema, service.search({"q": "华为"}))["total"] == 1
    assert valid(contract.DuplicateCheckSchema, service.check_duplicates(company()))["likely"]
    assert valid(contract.RoleTypeSchema, service.role_types(), many=True)
    assert valid(contract.RelationshipTypeSchema, service.relationship_types(), many=True)
    assert service.relationships(number) == []
    assert valid(contract.GroupTreeSchema, service.group_tree(number))["size"] == 1
    batch = service.export_batch(0, 10, "jsonl")
    assert batch["done"] is True and len(batch["lines"]) == 1
    assert valid(contract.PrivacyExportSchema, service.privacy_export(number))
    assert calls.names() == [
        "queries.parties.get", "queries.parties.history", "queries.search.search",
        "queries.duplicates.check_duplicates", "queries.roles.role_types",
        "queries.relationships.relationship_types", "queries.relationships.list_relationships",
        "queries.relationships.group_tree", "queries.export.export_batch",
        "queries.export.privacy_export"]


def test_commands_of_every_area(service, uow, calls):
    for module, name in ((parties, "update_customer"), (parties, "set_credit_limit"),
                         (parties, "merge"), (roles, "add_role"), (roles, "remove_role"),
                         (roles, "define_role_type"), (relationships, "add_relationship"),
                         (relationships, "end_relationship"),
                         (relationships, "define_relationship_type"), (pool, "assign"),
                         (pool, "release"), (pool, "record_follow_up"), (privacy, "erase")):
        calls.watch(module, name)
    holding = service.create(company("华南控股集团有限公司"))["customer"]["number"]
    branch = service.create(company("华南控股深圳分公司"))["customer"]["number"]
    twin = service.create(company("华南控股集团股份有限公司"))["customer"]["number"]
    person = service.create({"party_type": "person", "name": "张伟"})["customer"]["number"]

    record = service.update(holding, {"tier": "B", "expected_version": 1})
    assert record["tier"] == "B" and record["version"] == 2
    credited = service.set_credit_limit(holding, {"credit_limit": "1000.5",
                                                  "credit_policy": "warn"})
    assert credited["credit_limit"] == "1000.50" and credited["credit_policy"] == "warn"
    assert "sold_to" in service.add_role(holding, "sold_to")["roles"]
    assert "sold_to" not in service.remove_role(holding, "sold_to")["roles"]
    assert any(r["code"] == "broker" for r in service.define_role_type(
        {"code": "broker", "label_en": "Broker", "label_zh": "经纪人"}))
    link = valid(contract.RelationshipSchema, service.add_relationship(
        {"type": "holding_of", "from_customer": holding, "to_customer": branch}))
    assert service.end_relationship(link["id"], "2030-01-01")["valid_to"] == "2030-01-01"
    assert any(t["code"] == "supplies" for t in service.define_relationship_type({
        "code": "supplies", "name": "supplies", "inverse_name": "supplied by",
        "from_party_types": ["company"], "to_party_types": ["company"]}))
    assert service.assign(branch, "rep-1")["owner_id"] == "rep-1"
    assert service.release(branch, "moved away")["in_pool"] is True
    at = datetime.now(timezone.utc) - timedelta(hours=1)
    follow_up = service.record_follow_up({"customer": holding, "occurred_at": at.isoformat()})
    assert valid(contract.FollowUpRecordedSchema, follow_up)["last_follow_up_at"] == at
    merged = service.merge(holding, twin, "duplicate")
    assert valid(contract.MergeResultSchema, merged)["victim"]["merged_into"] == holding
    assert service.erase(person, "PIPL request")["erased"] is True
    assert calls.names() == [
        "application.parties.update_customer", "application.parties.set_credit_limit",
        "application.roles.add_role", "application.roles.remove_role",
        "application.roles.define_role_type", "application.relationships.add_relationship",
        "application.relationships.end_relationship",
        "application.relationships.define_relationship_type", "application.pool.assign",
        "application.pool.release", "application.pool.record_follow_up",
        "application.parties.merge", "application.privacy.erase"]
    assert uow.event_types().count("customer.merged") == 1
    assert uow.event_types()[-1] == "customer.erased"


def test_pool_entrypoints_use_the_policy_and_refusals_carry_the_rule(service, uow):
    number = service.create(company())["customer"]["number"]
    uow.actor = REP
    assert service.claim(number)["owner_id"] == REP.user_id
    with pytest.raises(BusinessRuleViolation) as err:
        service.claim(number)
    assert err.value.details == {"rule": "not_in_pool", "customer": number}
    assert "not_in_pool" not in err.value.message  # the rule's message, the code apart
    uow.actor = ADMIN
    assert service.return_idle_customers() == {"returned": []}
    service.sweep_pool()  # the timer: nothing is idle yet
    assert service.get(number)["owner_id"] == REP.user_id


def activity_logged(data, schema_version=1, event_id=None):
    return {"event_id": event_id or str(uuid.uuid4()), "type": "activity.logged",
            "schema_version": schema_version, "occurred_at": "2026-11-23T02:00:00.000Z",
            "source": "sales", "aggregate": {"type": "activity", "id": str(uuid.uuid4()),
                                             "number": None, "version": None},
            "actor": {"user_id": "rep-1", "request_id": None}, "data": data}


def test_activity_logged_restarts_the_clock_once_per_event(service, uow):
    customer = service.create(company())["customer"]
    at = datetime.now(timezone.utc) - timedelta(hours=2)
    event = activity_logged({"customer_id": customer["id"], "occurred_at": at.isoformat(),
                             "activity_id": "A-1", "user_id": "rep-1", "kind": "visit",
                             "outcome": "completed"})
    service.on_activity_logged(event)
    service.on_activity_logged(event)  # a redelivery: skipped by the inbox
    assert datetime.fromisoformat(service.get(customer["number"])["last_follow_up_at"]) == at
    assert len(uow.inbox) == 1 and ("customer.on_activity_logged" in {c for _, c in uow.inbox})


@pytest.mark.parametrize("data, schema_version, field", [
    ({"customer_number": "C00000001", "occurred_at": "2026-11-23T02:00:00+00:00"}, 1,
     "data.customer_id"),  # no guessing at other key names
    ({"customer": "C00000001", "occurred_at": "2026-11-23T02:00:00+00:00"}, 1,
     "data.customer_id"),
    ({"customer_id": "x"}, 1, "data.occurred_at"),  # no fallback to the envelope's time
    ({"customer_id": "x", "occurred_at": "2026-11-23T02:00:00"}, 1, "data.occurred_at"),
    ({"customer_id": "x", "occurred_at": "2026-11-23T02:00:00+00:00"}, 2, "schema_version"),
])
def test_activity_logged_without_the_documented_keys_is_invalid(service, uow, data,
                                                                 schema_version, field):
    with pytest.raises(ValidationFailed) as err:  # the consumer parks it on the DLQ
        service.on_activity_logged(activity_logged(data, schema_version))
    assert field in {f"data.{k}" for k in err.value.details} | set(err.value.details)
    assert uow.inbox == set()  # not marked as applied: a re-drive after a fix applies it


def test_export_schema_is_the_generated_record_schema(service):
    schema = service.export_schema()
    assert schema == contract.customer_record_json_schema()
    record = service.create(company(credit_code=make_credit_code("91440300MA5EXAMP1"),
                                    phones=[{"value": "13800000000"}]))["customer"]
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(
        record)
