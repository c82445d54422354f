"""The customer service's application layer on a real database (SQLite and PostgreSQL),
without the broker: each rule of issue #2 shown on data."""
import json
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from customer.adapters.models import Customer, HistoryEntry
from customer.application import parties, pool, privacy, relationships, roles
from customer.dependencies import pool_policy_from
from customer.queries import export as export_queries
from customer.queries import parties as party_queries
from customer.queries import relationships as relationship_queries
from customer.queries import search as search_queries
from guanxi_common import identifiers
from guanxi_common.contracts.customer import CustomerCreateSchema
from guanxi_common.errors import (BusinessRuleViolation, Conflict, Forbidden, NotFound,
                                  ValidationFailed)
from guanxi_common.messaging_models import outbox_events
from guanxi_common.validation import load

from customer_testkit import ADMIN, MANAGER, REP, REP2, create, update

CODE = identifiers.make_credit_code("91440300MA5EXAMP1")  # a valid 18-character code


def events(uow, event_type=None):
    rows = uow.session.execute(select(outbox_events.c.payload).order_by(outbox_events.c.id)).all()
    found = [json.loads(r[0]) for r in rows]
    return [e for e in found if event_type is None or e["type"] == event_type]


# ---- parties, numbers, history ---------------------------------------------------------------

def test_create_assigns_unique_numbers_and_normalises_contacts(uow_for):
    uow = uow_for(ADMIN)
    first, _ = create(uow, name="深圳市腾达科技有限公司", credit_code=CODE,
                      phones=[{"value": "0755-8888 8888"}], emails=[{"value": " Sales@TengDa.CN "}],
                      roles=["sold_to", "payer"], province="广东", city="深圳", tags=["vip"])
    second, _ = create(uow, party_type="person", name="张伟", birth_date="1985-03-02",
                       gender="male", phones=[{"value": "+86 138-1234-5678"}])
    assert identifiers.is_customer_number(first.number)
    assert identifiers.parse_customer_number(second.number) == identifiers.parse_customer_number(first.number) + 1
    record = party_queries.get(uow.session, ADMIN, first.number)
    assert record["phones"][0]["value"] == "+8675588888888"
    assert record["emails"][0]["value"] == "sales@tengda.cn"
    assert record["roles"] == ["payer", "sold_to"]
    assert record["status"] == "prospect" and record["in_pool"] is True
    created = events(uow, "customer.created")
    assert [e["aggregate"]["number"] for e in created] == [first.number, second.number]
    assert created[0]["aggregate"]["version"] == 1 and created[0]["source"] == "customer"
    assert created[0]["actor"]["user_id"] == "admin-1"


def test_invalid_input_names_the_field():
    with pytest.raises(ValidationFailed) as err:
        load(CustomerCreateSchema(), {"party_type": "company", "name": "X",
                                      "phones": [{"value": "+8613812345678"}, {"value": "call me"}],
                                      "credit_code": "91440300MA5EXAMPL0"})
    assert "phones.1.value" in err.value.details
    assert "credit_code" in err.value.details
    with pytest.raises(ValidationFailed) as err:
        load(CustomerCreateSchema(), {"party_type": "person", "name": "李娜", "credit_code": CODE})
    assert err.value.details == {"credit_code": ["not allowed for a person"]}


# ---- duplicates ------------------------------------------------------------------------------


# ---- merge -----------------------------------------------------------------------------------

def test_merge_moves_everything_and_leaves_a_pointer(uow_for):
    survivor, _ = create(uow_for(ADMIN), name="长城机械有限公司", roles=["sold_to"],
                         phones=[{"value": "13900000001"}])
    victim, _ = create(uow_for(ADMIN), name="长城机械股份有限公司", roles=["payer"], credit_code=CODE,
                       phones=[{"value": "13900000002"}], tags=["import"])
    partner, _ = create(uow_for(ADMIN), name="长城集团控股有限公司")
    with uow_for(ADMIN) as uow:
        relationships.add_relationship(uow, {"type": "holding_of", "from_customer": partner.number,
                                        "to_customer": victim.number})
    uow = uow_for(ADMIN)
    with uow:
        parties.merge(uow, survivor.number, victim.number, reason="same company")
    kept = party_queries.get(uow.session, ADMIN, survivor.number)
    gone = party_queries.get(uow.session, ADMIN, victim.number)
    assert {p["value"] for p in kept["phones"]} == {"+8613900000001", "+8613900000002"}
    assert kept["roles"] == ["payer", "sold_to"] and kept["credit_code"] == CODE
    assert kept["tags"] == ["import"]
    assert gone["status"] == "merged" and gone["merged_into"] == survivor.number
    rels = relationship_queries.list_relationships(uow.session, ADMIN, survivor.number)
    assert [(r["from_customer"], r["to_customer"]) for r in rels] == [(partner.number, survivor.number)]
    merged = events(uow, "customer.merged")[-1]
    assert merged["data"]["victim"]["number"] == victim.number
    assert merged["data"]["survivor"]["number"] == survivor.number
    actions = {h["action"] for h in party_queries.history(uow.session, ADMIN, victim.number)["items"]}
    assert {"created", "merged_away"} <= actions  # the victim keeps its own history
    with pytest.raises(BusinessRuleViolation) as err:
        update(uow_for(ADMIN), victim.number, tier="A")
    assert err.value.details["merged_into"] == survivor.number
    assert search_queries.search(uow.session, ADMIN, {"name": "长城机械"})["total"] == 1


# ---- relationships and the group tree ---------------------------------------------------------

def _link(uow_for, rel_type, source, target):
    with uow_for(ADMIN) as uow:
        return relationships.add_relationship(uow, {"type": rel_type, "from_customer": source.number,
                                               "to_customer": target.number})


def test_group_tree_is_transitive_and_cycles_are_refused(uow_for):
    holding, _ = create(uow_for(ADMIN), name="宏达控股集团有限公司")
    sub, _ = create(uow_for(ADMIN), name="宏达制造有限公司")
    subsub, _ = create(uow_for(ADMIN), name="宏达精密零件有限公司")
    other, _ = create(uow_for(ADMIN), name="宏达销售有限公司")
    _link(uow_for, "holding_of", holding, sub)
    _link(uow_for, "holding_of", sub, subsub)
    _link(uow_for, "subsidiary_of", other, holding)  # the inverse code, stored canonically
    tree = relationship_queries.group_tree(uow_for(ADMIN).session, ADMIN, holding.number)
    assert tree["size"] == 4
    children = {c["number"]: c for c in tree["root"]["children"]}
    assert set(children) == {sub.number, other.number}
    assert [c["number"] for c in children[sub.number]["children"]] == [subsub.number]
    with pytest.raises(BusinessRuleViolation) as err:
        _link(uow_for, "holding_of", subsub, holding)
    assert err.value.details["rule"] == "relationship_cycle"
    with pytest.raises(BusinessRuleViolation):
        _link(uow_for, "holding_of", sub, sub)


# ---- the pool --------------------------------------------------------------------------------
def test_concurrent_claims_by_one_rep_cannot_exceed_the_limit(uow_for, monkeypatch):
    """Both claims count the rep's customers; without serialising on the rep, both would
    count before either commits and both would pass a limit of one."""
    import eventlet
    from eventlet.semaphore import Semaphore

    policy = pool_policy_from({"POOL_MAX_CLAIMS": 1, "POOL_FOLLOW_UP_DAYS": 30,
                               "POOL_RECLAIM_COOLDOWN_DAYS": 10})
    made = [create(uow_for(ADMIN), name=f"并发客户{i}号有限公司", province="广东")[0]
            for i in range(2)]
    counted, real_count = [], pool._owned_count

    def count_then_linger(session, user_id):
        n = real_count(session, user_id)
        counted.append(n)
        eventlet.sleep(0.3)  # the other claim gets every chance to count now
        return n

    monkeypatch.setattr(pool, "_owned_count", count_then_linger)
    outcomes, started = [], Semaphore(0)

    def claim(customer):
        started.release()
        try:
            with uow_for(REP) as uow:
                pool.claim(uow, customer.number, policy)
            outcomes.append("claimed")
        except BusinessRuleViolation as exc:
            outcomes.append(exc.details["rule"])

    threads = [eventlet.spawn(claim, c) for c in made]
    for thread in threads:
        thread.wait()
    assert sorted(outcomes) == ["claim_limit_reached", "claimed"]
    assert sorted(counted) == [0, 1]  # the second counted after the first committed


def test_claim_limit_release_cooldown_and_assignment(uow_for):
    policy = pool_policy_from({"POOL_MAX_CLAIMS": 2, "POOL_FOLLOW_UP_DAYS": 30,
                               "POOL_RECLAIM_COOLDOWN_DAYS": 10})
    made = [create(uow_for(ADMIN), name=f"池客户{i}号有限公司", province="广东")[0] for i in range(3)]
    for c in made[:2]:
        with uow_for(REP) as uow:
            assert pool.claim(uow, c.number, policy).owner_id == "rep-1"
    with pytest.raises(BusinessRuleViolation) as err:
        with uow_for(REP) as uow:
            pool.claim(uow, made[2].number, policy)
    assert err.value.details["rule"] == "claim_limit_reached"
    # rep-2 cannot even read rep-1's customer: it answers as if it did not exist
    with pytest.raises(NotFound):
        with uow_for(REP2) as uow:
            pool.claim(uow, made[0].number, policy)
    with pytest.raises(NotFound):
        party_queries.get(uow_for(REP2).session, REP2, made[0].number)
    with uow_for(REP) as uow:
        pool.release(uow, made[0].number)
    with pytest.raises(BusinessRuleViolation) as err:
        with uow_for(REP) as uow:
            pool.claim(uow, made[0].number, policy)
    assert err.value.details["rule"] == "cooldown"
    with uow_for(REP2) as uow:
        pool.claim(uow, made[0].number, policy)
    with pytest.raises(Forbidden):
        with uow_for(REP) as uow:
            pool.assign(uow, made[2].number, "rep-1")
    with uow_for(MANAGER) as uow:
        pool.assign(uow, made[2].number, "rep-2")
    changes = [e["data"] for e in events(uow_for(ADMIN), "customer.owner_changed")]
    assert [c["reason"] for c in changes] == ["claimed", "claimed", "released", "claimed", "assigned"]


def test_customer_without_follow_up_returns_to_the_pool(uow_for):
    policy = pool_policy_from({"POOL_MAX_CLAIMS": 10, "POOL_FOLLOW_UP_DAYS": 30,
                               "POOL_RECLAIM_COOLDOWN_DAYS": 7})
    idle, _ = create(uow_for(ADMIN), name="沉睡客户有限公司")
    busy, _ = create(uow_for(ADMIN), name="活跃客户有限公司")
    for c in (idle, busy):
        with uow_for(REP) as uow:
            pool.claim(uow, c.number, policy)
    later = datetime.now(timezone.utc) + timedelta(days=31)
    with uow_for(ADMIN) as uow:
        pool.record_follow_up(uow, busy.id, later - timedelta(days=2))
        pool.record_follow_up(uow, busy.id, later - timedelta(days=20))  # older: ignored
    with uow_for(ADMIN) as uow:
        returned = pool.return_idle_customers(uow, policy, now=later)
    assert returned == [idle.number]
    session = uow_for(ADMIN).session
    assert party_queries.get(session, ADMIN, idle.number)["in_pool"] is True
    assert party_queries.get(session, ADMIN, busy.number)["owner_id"] == "rep-1"
    with pytest.raises(BusinessRuleViolation) as err:  # the last owner waits out the cooldown
        with uow_for(REP) as uow:
            pool.claim(uow, idle.number, policy, now=later + timedelta(days=1))
    assert err.value.details["rule"] == "cooldown"
    with uow_for(REP) as uow:
        pool.claim(uow, idle.number, policy, now=later + timedelta(days=8))


# ---- credit, roles, authorization ------------------------------------------------------------


def test_rep_scope_in_search(uow_for):
    own, _ = create(uow_for(REP), name="代表自己的客户有限公司")
    theirs, _ = create(uow_for(REP2), name="代表别人的客户有限公司")
    pooled, _ = create(uow_for(ADMIN), name="代表公海的客户有限公司")
    assert own.owner_id == "rep-1"
    found = {c["number"] for c in search_queries.search(uow_for(REP).session, REP, {"name": "代表"})["items"]}
    assert found == {own.number, pooled.number}
    assert theirs.number not in found
    with pytest.raises(NotFound):  # out of scope answers as a missing number would
        update(uow_for(REP), theirs.number, tier="A")


# ---- search ----------------------------------------------------------------------------------

def test_search_by_fragment_phone_and_filters(uow_for):
    zhang, _ = create(uow_for(ADMIN), party_type="person", name="张伟", province="北京",
                      phones=[{"value": "13811112222"}])
    create(uow_for(ADMIN), party_type="person", name="张伟华", province="上海")
    create(uow_for(ADMIN), party_type="person", name="李伟", province="北京")
    acme, _ = create(uow_for(ADMIN), name="Acme Trading Co., Ltd.", roles=["dealer"], tier="A")
    session = uow_for(ADMIN).session

    def numbers(**criteria):
        return {c["number"] for c in search_queries.search(session, ADMIN, criteria)["items"]}

    assert len(numbers(name="张伟")) == 2
    assert numbers(name="张伟", province="北京") == {zhang.number}
    assert len(numbers(name="张")) == 2  # one character: a surname prefix
    for written in ("+86 138 1111 2222", "0086-13811112222", "138-1111-2222"):
        assert numbers(phone=written) == {zhang.number}
        assert numbers(q=written) == {zhang.number}
    assert numbers(q=zhang.number) == {zhang.number}
    assert numbers(name="trading") == {acme.number} == numbers(role="dealer", tier="A")
    assert numbers(name="ACME TRAD") == {acme.number}
    page = search_queries.search(session, ADMIN, {"name": "伟", "page": 1, "page_size": 1})
    assert page["total"] == 0  # "伟" is not a surname prefix of any of them
    page = search_queries.search(session, ADMIN, {"party_type": "person", "page": 2, "page_size": 2})
    assert page["total"] == 3 and len(page["items"]) == 1 and page["total_exact"] is True


# ---- export and privacy ----------------------------------------------------------------------

def test_export_batches_in_jsonl_and_csv(uow_for):
    made = [create(uow_for(ADMIN), name=f"导出客户{i}有限公司")[0] for i in range(5)]
    session = uow_for(ADMIN).session
    lines, after, done = [], 0, False
    while not done:
        batch = export_queries.export_batch(session, ADMIN, after, limit=2)
        lines += batch["lines"]
        after, done = batch["next_after"], batch["done"]
    records = [json.loads(line) for line in lines]
    assert [r["number"] for r in records] == [c.number for c in made]
    assert all(r["_format"] == 1 for r in records)
    csv_batch = export_queries.export_batch(session, ADMIN, 0, limit=10, fmt="csv")
    assert csv_batch["lines"][0].startswith("number,id,party_type,name")
    assert len(csv_batch["lines"]) == 6
    with pytest.raises(Forbidden):
        export_queries.export_batch(session, REP, 0)


def test_erase_anonymises_a_person_and_keeps_business_links(uow_for):
    person, _ = create(uow_for(ADMIN), party_type="person", name="赵敏", birth_date="1992-05-05",
                       phones=[{"value": "13700001111"}], emails=[{"value": "zm@example.com"}],
                       roles=["sold_to"])
    update(uow_for(ADMIN), person.number, name="赵敏敏")
    with pytest.raises(Forbidden):
        with uow_for(MANAGER) as uow:
            privacy.erase(uow, person.number, "data subject request")
    with uow_for(ADMIN) as uow:
        privacy.erase(uow, person.number, "data subject request #42")
    session = uow_for(ADMIN).session
    record = party_queries.get(session, ADMIN, person.number)
    assert record["number"] == person.number and record["roles"] == ["sold_to"]
    assert "赵" not in record["name"] and record["phones"] == [] and record["birth_date"] is None
    leftovers = session.scalars(select(HistoryEntry.new_value).where(
        HistoryEntry.customer_id == person.id)).all()
    assert not any(v and ("赵" in v or "13700001111" in v or "zm@" in v) for v in leftovers)
    export = export_queries.privacy_export(session, ADMIN, person.number)
    assert export["erasure"]["erased_by"] == "admin-1"
    assert export["erasure"]["reason"] == "data subject request #42"
    assert events(uow_for(ADMIN), "customer.erased")[-1]["aggregate"]["number"] == person.number
    assert search_queries.search(session, ADMIN, {"name": "赵敏"})["total"] == 0
    # the freed phone number can be used by a new customer
    create(uow_for(ADMIN), party_type="person", name="新客户", phones=[{"value": "13700001111"}])


def test_records_and_exports_match_the_published_json_schema(uow_for):
    import jsonschema

    from guanxi_common.contracts.customer import customer_record_json_schema

    schema = customer_record_json_schema()
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    company, _ = create(uow_for(ADMIN), name="模式校验有限公司", credit_code=CODE, province="浙江",
                        phones=[{"value": "0571-88886666", "label": "office"}],
                        financials=[{"fiscal_year": 2025, "revenue": "1200000.50"}],
                        addresses=[{"type": "registered", "province": "浙江", "city": "杭州"}],
                        roles=["sold_to"], tags=["key"], credit_limit=None)
    create(uow_for(ADMIN), party_type="person", name="Li Lei", birth_date="1980-02-29",
           emails=[{"value": "li.lei@example.com"}], preferences={"room": "high floor"})
    session = uow_for(ADMIN).session
    validator.validate(party_queries.get(session, ADMIN, company.number))
    lines = export_queries.export_batch(session, ADMIN, 0, limit=10)["lines"]
    assert len(lines) == 2
    for line in lines:
        validator.validate(json.loads(line))
    broken = dict(party_queries.get(session, ADMIN, company.number), credit_limit=12.5)
    assert list(validator.iter_errors(broken))  # the schema really constrains the record


# ---- edges found in review -------------------------------------------------------------------


def test_erase_removes_published_snapshots_from_the_outbox(uow_for):
    from sqlalchemy import update as sql_update

    person, _ = create(uow_for(ADMIN), party_type="person", name="钱多多",
                       phones=[{"value": "13600001111"}])
    with uow_for(ADMIN) as uow:  # as the relay would after publishing
        uow.session.execute(sql_update(outbox_events).values(published_at=datetime.now(timezone.utc)))
    with uow_for(ADMIN) as uow:
        privacy.erase(uow, person.number, "request")
    payloads = [json.dumps(e, ensure_ascii=False) for e in events(uow_for(ADMIN))]
    assert not any("钱多多" in p or "13600001111" in p for p in payloads)
    assert [json.loads(p)["type"] for p in payloads] == ["customer.erased"]


def test_merge_that_would_close_a_holding_cycle_is_refused(uow_for):
    top, _ = create(uow_for(ADMIN), name="环形控股有限公司")
    middle, _ = create(uow_for(ADMIN), name="环形中间有限公司")
    bottom, _ = create(uow_for(ADMIN), name="环形底层有限公司")
    _link(uow_for, "holding_of", top, middle)
    _link(uow_for, "holding_of", middle, bottom)
    with pytest.raises(BusinessRuleViolation) as err:  # bottom would hold... itself via top
        with uow_for(ADMIN) as uow:
            parties.merge(uow, top.number, bottom.number)
    assert err.value.details["rule"] == "relationship_cycle"
    assert party_queries.get(uow_for(ADMIN).session, ADMIN, bottom.number)["status"] == "prospect"


def test_ended_relationships_leave_the_group_tree(uow_for):
    holding, _ = create(uow_for(ADMIN), name="时效控股有限公司")
    sold, _ = create(uow_for(ADMIN), name="时效已售子公司有限公司")
    rel = _link(uow_for, "holding_of", holding, sold)
    with uow_for(ADMIN) as uow:
        relationships.end_relationship(uow, rel.id, date.today() - timedelta(days=1))
    assert relationship_queries.group_tree(uow_for(ADMIN).session, ADMIN, holding.number)["size"] == 1
    _link(uow_for, "holding_of", sold, holding)  # no longer a cycle: the old link has ended


def test_numbers_in_any_written_form_and_creation_rules(uow_for):
    from guanxi_common.context import Actor

    customer, _ = create(uow_for(ADMIN), name="全角编号有限公司")
    full_width = customer.number.translate(str.maketrans("C0123456789", "Ｃ０１２３４５６７８９"))
    assert party_queries.get(uow_for(ADMIN).session, ADMIN, full_width)["id"] == customer.id
    assert search_queries.search(uow_for(ADMIN).session, ADMIN, {"q": full_width.lower()})["total"] == 1
    nobody = Actor(user_id="guest-1", roles=frozenset())
    with pytest.raises(Forbidden):
        create(uow_for(nobody), name="无权创建有限公司")
    with pytest.raises(ValidationFailed) as err:
        create(uow_for(ADMIN), name="新客户就流失有限公司", status="lost")
    assert "status" in err.value.details
    with pytest.raises(Forbidden):
        export_queries.privacy_export(uow_for(MANAGER).session, MANAGER, customer.number)
    with pytest.raises(Conflict):
        with uow_for(ADMIN) as uow:
            relationships.define_relationship_type(uow, {
                "code": "owner_of", "name": "owner of", "inverse_name": "owned by",
                "inverse_code": "subsidiary_of", "from_party_types": ["company"],
                "to_party_types": ["company"], "hierarchical": True})


def test_the_stored_record_always_equals_a_fresh_assembly(uow_for):
    """get answers the stored record; after every kind of change it must equal the record
    assembled from the tables, or a write path escaped the refresh hook."""
    from customer.adapters import records, repository

    policy = pool_policy_from({})
    a, _ = create(uow_for(ADMIN), name="记录一致有限公司", roles=["sold_to"], tags=["x"])
    b, _ = create(uow_for(ADMIN), name="记录一致股份有限公司", phones=[{"value": "13500001111"}])
    p, _ = create(uow_for(ADMIN), party_type="person", name="孙丽", emails=[{"value": "sl@x.cn"}])
    update(uow_for(ADMIN), a.number, tags=["y"], phones=[{"value": "13500002222"}], tier="B")
    with uow_for(ADMIN) as uow:
        roles.add_role(uow, a.number, "payer")
    with uow_for(REP) as uow:
        pool.claim(uow, a.number, policy)
    with uow_for(REP) as uow:
        pool.record_follow_up(uow, a.number, datetime.now(timezone.utc))
    _link(uow_for, "employer_of", a, p)
    with uow_for(ADMIN) as uow:
        parties.merge(uow, a.number, b.number)
    with uow_for(ADMIN) as uow:
        privacy.erase(uow, p.number, "request")
    session = uow_for(ADMIN).session
    for customer in (a, b, p):
        fresh = records.dump(repository.get_customer(session, customer.number))
        assert party_queries.get(session, ADMIN, customer.number) == json.loads(json.dumps(fresh))


def test_records_missing_after_a_bulk_load_are_assembled_and_backfilled(uow_for):
    from sqlalchemy import update as sql_update

    from customer.adapters import records

    made = [create(uow_for(ADMIN), name=f"批量导入{i}有限公司")[0] for i in range(3)]
    with uow_for(ADMIN) as uow:
        uow.session.execute(sql_update(Customer).values(record=None))
    session = uow_for(ADMIN).session
    assembled = party_queries.get(session, ADMIN, made[0].number)  # no record stored: assembled
    assert assembled["number"] == made[0].number
    with uow_for(ADMIN) as uow:
        assert records.backfill(uow.session, batch=2) == 3
    stored = uow_for(ADMIN).session.scalars(select(Customer.record)).all()
    assert all(stored) and json.loads(stored[0])["version"] == 1
    assert party_queries.get(uow_for(ADMIN).session, ADMIN, made[0].number) == assembled
