"""Pinyin, traditional script and written phone forms in search and duplicate matching,
through the application layer on a real database (SQLite and PostgreSQL)."""
import pytest
from sqlalchemy import select

from customer.adapters.models import NameToken
from customer.application import parties, privacy
from customer.queries import duplicates as duplicate_queries
from customer.queries import search as search_queries
from guanxi_common.contracts.customer import CustomerCreateSchema, CustomerUpdateSchema
from guanxi_common.validation import load

from customer_testkit import ADMIN, REP


def create(uow, **fields):
    fields.setdefault("party_type", "person")
    with uow:
        return parties.create_customer(uow, load(CustomerCreateSchema(), fields))


def numbers(uow, actor=ADMIN, **criteria):
    return {c["number"] for c in search_queries.search(uow.session, actor, criteria)["items"]}


def keys_of(uow, customer):
    return set(uow.session.scalars(select(NameToken.token).where(NameToken.seq == customer.seq,
                                                                 NameToken.token.like("~%"))))


def test_pinyin_full_reading_and_initials_find_a_person(uow_for):
    zhang, _ = create(uow_for(ADMIN), name="张伟", province="北京")
    other, _ = create(uow_for(ADMIN), name="赵文", province="上海")
    create(uow_for(ADMIN), name="李娜")
    uow = uow_for(ADMIN)
    for typed in ("zhang wei", "zhangwei", "Zhang Wei", "zhāng wěi"):
        assert numbers(uow, name=typed) == {zhang.number}, typed
        assert numbers(uow, q=typed) == {zhang.number}, typed
    assert numbers(uow, name="zw") == {zhang.number, other.number}  # 张伟 and 赵文
    assert numbers(uow, name="zw", province="北京") == {zhang.number}
    assert numbers(uow, name="zhang") == {zhang.number}  # the surname's reading
    assert numbers(uow, name="wang fang") == set()


def test_pinyin_finds_a_company_by_its_core_and_latin_names_still_by_letters(uow_for):
    dingsheng, _ = create(uow_for(ADMIN), party_type="company", name="鼎盛实业有限公司")
    acme, _ = create(uow_for(ADMIN), party_type="company", name="Acme Trading Co., Ltd.")
    uow = uow_for(ADMIN)
    assert numbers(uow, name="dingshengshiye") == {dingsheng.number}
    assert numbers(uow, name="dssy") == {dingsheng.number}
    assert numbers(uow, name="acme") == {acme.number}  # letters: the n-gram search as before
    assert numbers(uow, name="trading") == {acme.number}


def test_pinyin_and_letter_hits_are_merged_paged_and_counted(uow_for):
    made = [create(uow_for(ADMIN), name=name)[0] for name in ("张伟", "Zhangwei Liu", "章伟", "张伟")]
    uow = uow_for(ADMIN)
    result = search_queries.search(uow.session, ADMIN, {"name": "zhangwei", "page_size": 3})
    assert result["total"] == 4 and result["total_exact"] is True
    assert [c["number"] for c in result["items"]] == [c.number for c in reversed(made)][:3]
    second = search_queries.search(uow.session, ADMIN, {"name": "zhangwei", "page": 2, "page_size": 3})
    assert [c["number"] for c in second["items"]] == [made[0].number]


def test_heteronym_surnames_are_found_under_each_reading(uow_for):
    zeng, _ = create(uow_for(ADMIN), name="曾小明")
    shan, _ = create(uow_for(ADMIN), name="单田芳")
    uow = uow_for(ADMIN)
    assert numbers(uow, name="zeng xiao ming") == numbers(uow, name="ceng xiao ming") == {zeng.number}
    assert numbers(uow, name="zxm") == {zeng.number}
    assert numbers(uow, name="shan tian fang") == {shan.number}


def test_pinyin_keys_follow_rename_merge_and_erase(uow_for):
    person, _ = create(uow_for(ADMIN), name="王芳", birth_date="1990-01-01")
    with uow_for(ADMIN) as uow:
        parties.update_customer(uow, person.number, load(CustomerUpdateSchema(), {"name": "王芳芳"},
                                                         partial=True))
    uow = uow_for(ADMIN)
    assert numbers(uow, name="wangfangfang") == {person.number}
    assert numbers(uow, name="wang fang") == set()
    survivor, _ = create(uow_for(ADMIN), name="刘洋")
    victim, _ = create(uow_for(ADMIN), name="劉洋")
    assert numbers(uow_for(ADMIN), name="liu yang") == {survivor.number, victim.number}
    with uow_for(ADMIN) as uow:
        parties.merge(uow, survivor.number, victim.number)
    assert numbers(uow_for(ADMIN), name="liu yang") == {survivor.number}
    with uow_for(ADMIN) as uow:
        privacy.erase(uow, person.number, "data subject request")
    uow = uow_for(ADMIN)
    assert numbers(uow, name="wangfangfang") == set() and keys_of(uow, person) == set()


def test_pinyin_search_keeps_the_reps_scope(uow_for):
    own, _ = create(uow_for(REP), name="周杰")
    create(uow_for(ADMIN), name="周杰", owner_id="rep-2")
    assert numbers(uow_for(REP), REP, name="zhoujie") == {own.number}


def test_traditional_and_simplified_find_each_other(uow_for):
    simplified, _ = create(uow_for(ADMIN), name="李小龙")
    traditional, _ = create(uow_for(ADMIN), party_type="company", name="臺灣積體電路製造股份有限公司")
    uow = uow_for(ADMIN)
    assert numbers(uow, name="李小龍") == {simplified.number}
    assert numbers(uow, name="小龍") == {simplified.number}
    assert numbers(uow, name="台湾积体") == {traditional.number}
    assert numbers(uow, name="積體電路") == {traditional.number}


def test_traditional_name_warns_as_a_likely_duplicate(uow_for):
    original, _ = create(uow_for(ADMIN), name="李小龙")
    _, warnings = create(uow_for(ADMIN), name="李小龍")
    assert [(w["number"], w["reasons"]) for w in warnings] == [(original.number, ["same_name"])]
    check = duplicate_queries.check_duplicates(uow_for(ADMIN).session, ADMIN, load(
        CustomerCreateSchema(), {"party_type": "person", "name": "李小龍"}))
    assert original.number in {w["number"] for w in check["likely"]}
    company, _ = create(uow_for(ADMIN), party_type="company", name="华为技术有限公司")
    _, warnings = create(uow_for(ADMIN), party_type="company", name="華為技術股份有限公司")
    assert warnings and warnings[0]["number"] == company.number


@pytest.mark.parametrize("written", ["(+86) 155 2298 6403", "+86 155-2298-6403", "０１５５２２９８６４０３"])
def test_written_phone_forms_are_found(uow_for, written):
    person, _ = create(uow_for(ADMIN), name="陈静", phones=[{"value": "15522986403"}])
    uow = uow_for(ADMIN)
    assert numbers(uow, phone=written) == {person.number}
    assert numbers(uow, q=written) == {person.number}
