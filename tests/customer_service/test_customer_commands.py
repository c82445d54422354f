"""The customer commands on a fake unit of work: the rules of the application layer shown on
data without migrations or a broker (an in-memory schema per test). What needs the real
databases (concurrency, row locks, the search indexes, PostgreSQL) is in test_handlers.py."""
import pytest
from sqlalchemy import select

from customer.adapters.models import Customer
from customer.application import parties, pool, relationships, roles
from customer.dependencies import pool_policy_from
from customer.queries import duplicates as duplicate_queries
from customer.queries import parties as party_queries
from customer.queries import relationships as relationship_queries
from guanxi_common import identifiers
from guanxi_common.contracts.customer import CreditLimitSchema, CustomerCreateSchema
from guanxi_common.errors import (BusinessRuleViolation, Conflict, Forbidden, NotFound,
                                  ValidationFailed)
from guanxi_common.validation import load

from customer_testkit import ADMIN, AUDITOR, CREDIT, MANAGER, REP, create, fake_customer_uow, update

CODE = identifiers.make_credit_code("91440300MA5EXAMP1")  # a valid 18-character code


@pytest.fixture
def uow_for():
    """``uow_for(actor)`` → the test's one fake unit of work, acting as ``actor``."""
    fake = fake_customer_uow()

    def act_as(actor=ADMIN):
        fake.actor = actor
        return fake

    yield act_as
    fake.close()


def _link(uow_for, rel_type, source, target):
    with uow_for(ADMIN) as uow:
        return relationships.add_relationship(uow, {"type": rel_type, "from_customer": source.number,
                                               "to_customer": target.number})


def events(uow, event_type=None):
    return [e for e in uow.events if event_type is None or e["type"] == event_type]


def test_history_records_each_field_with_actor_and_values(uow_for):
    customer, _ = create(uow_for(ADMIN), name="华南物流有限公司", province="广东", tier="B")
    update(uow_for(MANAGER), customer.number, tier="A", city="广州", expected_version=1)
    result = party_queries.history(uow_for(AUDITOR).session, AUDITOR, customer.number)
    updated = {h["field"]: h for h in result["items"] if h["action"] == "updated"}
    assert set(updated) == {"tier", "city"}
    assert updated["tier"]["old_value"] == "B" and updated["tier"]["new_value"] == "A"
    assert updated["city"]["old_value"] is None and updated["city"]["new_value"] == "广州"
    assert updated["tier"]["actor_id"] == "mgr-1" and updated["tier"]["version"] == 2
    assert any(h["action"] == "created" and h["actor_id"] == "admin-1" for h in result["items"])
    event = events(uow_for(ADMIN), "customer.updated")[-1]
    assert event["data"]["changed_fields"] == ["city", "tier"]
    assert event["aggregate"]["version"] == 2 and event["data"]["customer"]["tier"] == "A"


def test_stale_version_is_a_conflict(uow_for):
    customer, _ = create(uow_for(ADMIN), name="星河电子有限公司")
    update(uow_for(ADMIN), customer.number, tier="C")
    with pytest.raises(Conflict) as err:
        update(uow_for(ADMIN), customer.number, tier="A", expected_version=1)
    assert err.value.details["version"] == 2


def test_duplicate_phone_email_or_code_refused_naming_the_existing_number(uow_for):
    existing, _ = create(uow_for(ADMIN), name="远航贸易有限公司", credit_code=CODE,
                         phones=[{"value": "13812345678"}], emails=[{"value": "a@yuanhang.cn"}])
    for fields in ({"phones": [{"value": "+86 138 1234 5678"}]},
                   {"emails": [{"value": "A@YUANHANG.CN"}]},
                   {"credit_code": CODE.lower()}):
        with pytest.raises(Conflict) as err:
            create(uow_for(ADMIN), name="完全不同的公司", **fields)
        assert err.value.details["existing_number"] == existing.number
        assert existing.number in str(err.value)
    count = uow_for(ADMIN).session.scalar(select(Customer.id).where(Customer.name == "完全不同的公司"))
    assert count is None


def test_likely_duplicates_warn_on_create_and_in_the_check(uow_for):
    original, _ = create(uow_for(ADMIN), name="上海华为技术有限公司")
    _, warnings = create(uow_for(ADMIN), name="上海华为技术股份有限公司")
    assert warnings and warnings[0]["number"] == original.number
    person, _ = create(uow_for(ADMIN), party_type="person", name="王芳", birth_date="1990-01-01")
    data = load(CustomerCreateSchema(), {"party_type": "person", "name": "王 芳",
                                         "birth_date": "1990-01-01"})
    check = duplicate_queries.check_duplicates(uow_for(ADMIN).session, ADMIN, data)
    assert check["conflicts"] == []
    assert check["likely"][0]["number"] == person.number
    data = load(CustomerCreateSchema(), {"party_type": "company", "name": "北京完全无关有限公司"})
    assert duplicate_queries.check_duplicates(uow_for(ADMIN).session, ADMIN, data)["likely"] == []


def test_only_admins_merge_and_not_across_party_types(uow_for):
    a, _ = create(uow_for(ADMIN), name="甲公司有限公司")
    b, _ = create(uow_for(ADMIN), party_type="person", name="甲")
    with pytest.raises(Forbidden):
        with uow_for(MANAGER) as uow:
            parties.merge(uow, a.number, b.number)
    with pytest.raises(BusinessRuleViolation):
        with uow_for(ADMIN) as uow:
            parties.merge(uow, a.number, b.number)


def test_relationship_party_types_and_inverse_names(uow_for):
    company, _ = create(uow_for(ADMIN), name="蓝天航空有限公司")
    person, _ = create(uow_for(ADMIN), party_type="person", name="刘洋")
    _link(uow_for, "employer_of", company, person)
    with pytest.raises(BusinessRuleViolation):
        _link(uow_for, "employer_of", person, company)
    seen_from_person = relationship_queries.list_relationships(uow_for(ADMIN).session, ADMIN, person.number)
    assert seen_from_person[0]["direction"] == "incoming"
    assert seen_from_person[0]["from_customer"] == company.number
    assert seen_from_person[0]["label"] != seen_from_person[0]["name"]
    with pytest.raises(ValidationFailed):
        _link(uow_for, "no_such_type", company, person)


def test_credit_limit_needs_a_credit_manager(uow_for):
    customer, _ = create(uow_for(ADMIN), name="信用测试有限公司")
    credit = load(CreditLimitSchema(), {"credit_limit": "500000.00", "credit_policy": "block"})
    with pytest.raises(Forbidden):
        with uow_for(MANAGER) as uow:
            parties.set_credit_limit(uow, customer.number, credit)
    with uow_for(CREDIT) as uow:
        parties.set_credit_limit(uow, customer.number, credit)
    record = party_queries.get(uow_for(ADMIN).session, ADMIN, customer.number)
    assert record["credit_limit"] == "500000.00" and record["credit_policy"] == "block"


def test_roles_come_from_the_catalogue(uow_for):
    customer, _ = create(uow_for(ADMIN), name="角色测试有限公司")
    with pytest.raises(ValidationFailed) as err:
        with uow_for(ADMIN) as uow:
            roles.add_role(uow, customer.number, "astronaut")
    assert "roles.0" in err.value.details
    with uow_for(ADMIN) as uow:
        roles.define_role_type(uow, {"code": "astronaut", "label_en": "Astronaut",
                                        "label_zh": "宇航员"})
    with uow_for(ADMIN) as uow:
        assert [r.role_code for r in roles.add_role(uow, customer.number, "astronaut").roles] == ["astronaut"]


def test_unknown_customer_is_not_found(uow_for):
    with pytest.raises(NotFound):
        party_queries.get(uow_for(ADMIN).session, ADMIN, "C99999999")
    with pytest.raises(NotFound):
        party_queries.get(uow_for(ADMIN).session, ADMIN, "no-such-id")


def test_release_keeps_a_long_reason_apart_from_the_action(uow_for):
    policy = pool_policy_from({})
    customer, _ = create(uow_for(ADMIN), name="释放原因有限公司")
    with uow_for(REP) as uow:
        pool.claim(uow, customer.number, policy)
    reason = "客户已搬迁到外省，由当地办事处跟进，详见拜访记录 2026-11-20"
    with uow_for(REP) as uow:
        pool.release(uow, customer.number, reason)
    items = party_queries.history(uow_for(ADMIN).session, ADMIN, customer.number)["items"]
    released = [h for h in items if h["action"] == "released"]
    assert released and released[0]["reason"] == reason
    event = events(uow_for(ADMIN), "customer.owner_changed")[-1]["data"]
    assert event["reason"] == "released" and event["note"] == reason
