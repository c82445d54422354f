"""The demo-data generator behind `make seed` and `make bench` (pure: no broker, no database)."""
from collections import Counter

import pytest

from customer.adapters.models import Base
from customer.domain import lifecycle, names, relationships
from customer.queries.duplicates import match_key
from customer.tools import demo
from guanxi_common import contact, identifiers
from guanxi_common.contracts.customer import CustomerCreateSchema, RelationshipCreateSchema
from guanxi_common.validation import load

COUNT = 600


@pytest.fixture(scope="module")
def data():
    return demo.generate(COUNT, seed=7)


def test_every_customer_validates_against_the_create_schema(data):
    loaded = [load(CustomerCreateSchema(), record) for record in data.customers]
    assert len(loaded) == COUNT
    # the written forms of the phones normalise to the generator's canonical E.164 values
    for record, s in zip(loaded, data.specs):
        assert [p["value"] for p in record["phones"]] == [p[0] for p in s.phones]
        assert record["name"] == s.name


def test_the_mix_is_realistic(data):
    kinds = Counter(s.kind for s in data.specs)
    assert set(kinds) == {"person_cn", "person_en", "company_cn", "company_en"}
    assert 0.2 < sum(1 for s in data.specs if s.owner_id is None) / COUNT < 0.4
    assert {s.owner_id for s in data.specs if s.owner_id} <= set(demo.REPS)
    assert {s.tier for s in data.specs} == set(lifecycle.TIERS)
    assert {s.province for s in data.specs} <= set(demo.REGIONS)
    assert len({s.province for s in data.specs}) >= 20
    assert {c for s in data.specs for c in s.roles} <= demo.ROLE_CODES
    assert {s.credit_policy for s in data.specs} == set(lifecycle.CREDIT_POLICIES)
    assert {r["status"] for r in data.customers} <= set(lifecycle.INITIAL_STATUSES)
    chinese_companies = [s.name for s in data.specs if s.kind == "company_cn"]
    assert all(n.endswith(("有限公司", "股份有限公司", "有限责任公司")) for n in chinese_companies)
    english_companies = [s.name for s in data.specs if s.kind == "company_en"]
    assert any(n.endswith("Co., Ltd.") for n in english_companies)
    for s in data.specs:
        if s.party_type == "company":
            assert 2 <= len(s.financials) <= 3 and s.founded_on and s.registered_capital
        else:
            assert s.gender and s.birth_date and not s.financials


def test_two_character_chinese_queries_hit_several_people():
    specs = [demo.spec(i) for i in range(5000)]
    assert sum("张伟" in s.name for s in specs) >= 3
    assert all(len(s.name) <= 4 for s in specs if s.kind == "person_cn")


def test_credit_codes_are_valid_and_unique(data):
    codes = [s.credit_code for s in data.specs if s.party_type == "company"]
    assert codes and all(identifiers.is_valid_credit_code(c) for c in codes)
    assert len(set(codes)) == len(codes)
    far = [demo.credit_code_for(i, "440305") for i in range(0, demo.MAX_INDEX, 997_331)]
    assert len(set(far)) == len(far) and all(map(identifiers.is_valid_credit_code, far))


def test_phones_and_emails_are_unique(data):
    phones = [p[0] for s in data.specs for p in s.phones]
    emails = [e[0] for s in data.specs for e in s.emails]
    assert len(set(phones)) == len(phones)
    assert len(set(emails)) == len(emails)
    assert all(p == contact.normalize_phone(p) for p in phones)
    assert all(e == contact.normalize_email(e) for e in emails)
    assert all(p.startswith(("+861", "+862", "+863", "+864", "+865", "+867", "+868", "+869"))
               for p in phones)
    mobiles = [demo.mobile_for(i, slot) for i in range(20_000) for slot in (0, 1)]
    assert len(set(mobiles)) == len(mobiles)
    assert all(m[3] == "1" and m[4] in "3456789" for m in mobiles)


def test_written_forms_normalise_back():
    for e164 in (demo.mobile_for(42), demo.landline_for(42, "755"), demo.landline_for(42, "10")):
        assert {contact.normalize_phone(f) for f in demo.written_forms(e164)} == {e164}


def test_deterministic_for_a_seed():
    assert demo.generate(50, seed=3).customers == demo.generate(50, seed=3).customers
    assert demo.generate(50, seed=3).customers != demo.generate(50, seed=4).customers
    # a customer is a function of (seed, index): a slice on its own gives the same people
    assert demo.spec(35, 3).id == demo.generate(50, seed=3).specs[35].id
    assert demo.generate(20, seed=3, start=30).specs[5].phones == demo.spec(35, 3).phones


def test_relationship_plan_respects_the_catalogue(data):
    types = relationships.RELATIONSHIP_TYPES_BY_CODE
    seen = Counter()
    for rel in data.relationships:
        rel_type = types[rel["type"]]
        source, target = data.specs[rel["from"]], data.specs[rel["to"]]
        relationships.check_relationship(rel_type, source.party_type, target.party_type,
                                         rel["from"], rel["to"])
        load(RelationshipCreateSchema(), {"type": rel["type"], "from_customer": "C00000001",
                                          "to_customer": "C00000002",
                                          **({"valid_from": rel["valid_from"]}
                                             if rel.get("valid_from") else {})})
        seen[rel["type"]] += 1
    assert seen["holding_of"] and seen["employer_of"] and seen["contact_person_of"]


def test_holding_groups_are_trees_two_to_three_levels_deep(data):
    edges = [(r["from"], r["to"]) for r in data.relationships if r["type"] == "holding_of"]
    children = {child for _, child in edges}
    roots = {parent for parent, _ in edges} - children
    assert roots
    depths = []
    for root in roots:
        assert "集团" in data.specs[root].name
        tree = relationships.group_tree(root, edges)

        def depth(node):
            return 1 + max((depth(c) for c in node["children"]), default=0)

        depths.append(depth(tree) - 1)
        brand = demo.brand_text(data.specs[root].brand)
        members = relationships.descendants(root, edges)
        assert all(brand in data.specs[m].name for m in members)
    assert max(depths) >= 2 and min(depths) >= 1 and max(depths) <= 3
    for parent, child in edges:
        assert not relationships.would_create_cycle([e for e in edges if e != (parent, child)],
                                                    parent, child)


def test_bulk_rows_have_the_columns_of_the_models():
    batches = list(demo.bulk_rows(1, 250, batch_size=100))
    assert [len(b["customers"]) for b in batches] == [100, 100, 50]
    for table in demo.BULK_TABLES:
        columns = {c.name for c in Base.metadata.tables[table].columns}
        if table == "contact_points":
            columns.discard("id")  # autoincrement: the database assigns it
        rows = [row for b in batches for row in b[table]]
        assert rows, table
        assert all(set(row) == columns for row in rows), table
    customers = [row for b in batches for row in b["customers"]]
    assert [c["seq"] for c in customers] == list(range(1, 251))
    assert customers[0]["number"] == "C00000001"
    for row in customers:
        assert row["name_normalized"] == names.search_normalize(row["name"])
        assert row["match_key"] == match_key(row["party_type"], row["name"])
        assert row["status"] in lifecycle.PUBLIC_STATUSES
    tokens = {(t["seq"], t["token"]) for b in batches for t in b["name_tokens"]}
    for row in customers[:50]:
        assert {t for seq, t in tokens if seq == row["seq"]} == names.index_tokens(row["party_type"], row["name"])
    ids = {row["id"] for row in customers}
    assert len(ids) == 250
    assert all(r["role_code"] in demo.ROLE_CODES for b in batches for r in b["customer_roles"])


def test_bulk_rows_match_the_generator():
    row = next(demo.bulk_rows(11, 1))["customers"][0]
    s = demo.spec(10)
    assert (row["id"], row["name"], row["credit_code"]) == (s.id, s.name, s.credit_code)
    assert row["number"] == "C00000011"
