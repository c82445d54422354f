from datetime import date

import pytest

from guanxi_common.rules import DomainRuleError
from customer.domain.relationships import (
    DEFAULT_RELATIONSHIP_TYPES,
    DEFAULT_ROLES,
    RELATIONSHIP_TYPES_BY_CODE,
    RelationshipRuleError,
    check_no_cycle,
    check_period,
    check_relationship,
    descendants,
    group_tree,
    is_active,
    resolve_relationship_code,
    would_create_cycle,
)

HOLDING = RELATIONSHIP_TYPES_BY_CODE["holding_of"]
EMPLOYER = RELATIONSHIP_TYPES_BY_CODE["employer_of"]
SPOUSE = RELATIONSHIP_TYPES_BY_CODE["spouse_of"]


def test_catalogue_has_the_required_types_and_roles():
    codes = [t.code for t in DEFAULT_RELATIONSHIP_TYPES]
    codes += [t.inverse_code for t in DEFAULT_RELATIONSHIP_TYPES if not t.symmetric]
    assert len(codes) == len(set(codes))  # no code names two things
    assert {"parent_of", "child_of", "employer_of", "employee_of", "holding_of", "subsidiary_of",
            "contact_person_of", "spouse_of", "branch_of"} <= set(codes)
    hierarchical = {t.code for t in DEFAULT_RELATIONSHIP_TYPES if t.hierarchical}
    assert hierarchical == {"parent_of", "holding_of", "head_office_of"}
    assert all(t.name and t.inverse_name and t.name_zh and t.inverse_name_zh for t in DEFAULT_RELATIONSHIP_TYPES)
    roles = {r.code: r for r in DEFAULT_ROLES}
    assert len(roles) == len(DEFAULT_ROLES)
    required = {"sold_to", "ship_to", "bill_to", "payer", "dealer", "employee", "debtor", "supplier", "contact"}
    assert required <= set(roles)
    assert roles["sold_to"].label_zh == "售达方" and roles["payer"].label_en == "Payer"
    assert all(r.label_en and r.label_zh for r in DEFAULT_ROLES)


def test_resolve_inverse_codes():
    assert resolve_relationship_code("holding_of") == (HOLDING, False)
    assert resolve_relationship_code("subsidiary_of") == (HOLDING, True)
    assert resolve_relationship_code("branch_of")[0].code == "head_office_of"
    assert resolve_relationship_code("spouse_of") == (SPOUSE, False) and SPOUSE.symmetric
    assert not HOLDING.symmetric
    with pytest.raises(RelationshipRuleError) as info:
        resolve_relationship_code("friend_of")
    assert info.value.code == "unknown_relationship_type"


def test_valid_relationship_passes():
    check_relationship(HOLDING, "company", "company", "a", "b")
    check_relationship(EMPLOYER, "company", "person", "a", "b")


@pytest.mark.parametrize("rel, from_type, to_type, from_id, to_id, code", [
    (HOLDING, "company", "company", "a", "a", "self_link"),
    (SPOUSE, "person", "person", 7, 7, "self_link"),
    (HOLDING, "person", "company", "a", "b", "wrong_from_party_type"),
    (HOLDING, "company", "person", "a", "b", "wrong_to_party_type"),
    (EMPLOYER, "person", "person", "a", "b", "wrong_from_party_type"),
    (EMPLOYER, "company", "company", "a", "b", "wrong_to_party_type"),
    (SPOUSE, "robot", "person", "a", "b", "unknown_party_type"),
])
def test_invalid_relationships_are_refused(rel, from_type, to_type, from_id, to_id, code):
    with pytest.raises(RelationshipRuleError) as info:
        check_relationship(rel, from_type, to_type, from_id, to_id)
    assert info.value.code == code
    assert isinstance(info.value, DomainRuleError) and info.value.message


def test_period_and_is_active():
    check_period(date(2024, 1, 1), date(2024, 1, 1))
    with pytest.raises(RelationshipRuleError) as info:
        check_period(date(2024, 2, 1), date(2024, 1, 31))
    assert info.value.code == "invalid_period"
    start, end = date(2024, 1, 1), date(2024, 12, 31)
    assert is_active(start, end, start) and is_active(start, end, end)  # both ends inclusive
    assert not is_active(start, end, date(2023, 12, 31))
    assert not is_active(start, end, date(2025, 1, 1))
    assert is_active(None, None, date(1900, 1, 1))
    assert is_active(None, end, date(2000, 1, 1)) and not is_active(start, None, date(2000, 1, 1))


GROUP = [("H", "A"), ("H", "B"), ("A", "A1"), ("A", "A2"), ("A1", "A1x"), ("B", "B1"), ("X", "Y")]


def test_descendants_are_transitive():
    assert descendants("H", GROUP) == {"A", "B", "A1", "A2", "A1x", "B1"}
    assert descendants("A", GROUP) == {"A1", "A2", "A1x"}
    assert descendants("A1x", GROUP) == set()
    assert descendants("unknown", GROUP) == set()


def test_cycles_are_detected():
    assert would_create_cycle(GROUP, "A1x", "H")       # H -> ... -> A1x -> H
    assert would_create_cycle(GROUP, "A", "A")
    assert would_create_cycle([("a", "b")], "b", "a")
    assert not would_create_cycle(GROUP, "H", "A1x")    # a shortcut is not a cycle
    assert not would_create_cycle(GROUP, "B1", "A2")    # a second parent is not a cycle
    assert not would_create_cycle(GROUP, "Y", "H")


def test_check_no_cycle_only_for_hierarchical_types():
    with pytest.raises(RelationshipRuleError) as info:
        check_no_cycle(HOLDING, GROUP, "B1", "H")
    assert info.value.code == "cycle"
    check_no_cycle(RELATIONSHIP_TYPES_BY_CODE["partner_of"], [("a", "b")], "b", "a")


def test_group_tree_nests_all_subsidiaries():
    assert group_tree("H", GROUP) == {"id": "H", "children": [
        {"id": "A", "children": [
            {"id": "A1", "children": [{"id": "A1x", "children": []}]},
            {"id": "A2", "children": []},
        ]},
        {"id": "B", "children": [{"id": "B1", "children": []}]},
    ]}
    assert group_tree("lonely", GROUP) == {"id": "lonely", "children": []}


def _ids(tree):
    yield tree["id"]
    for child in tree["children"]:
        yield from _ids(child)


def test_group_tree_survives_cycles_and_diamonds_in_stored_data():
    edges = [("H", "A"), ("A", "B"), ("B", "H"), ("B", "B"), ("H", "C"), ("C", "B"), ("A", "D"), ("D", "A")]
    tree = group_tree("H", edges)
    ids = list(_ids(tree))
    assert sorted(ids) == ["A", "B", "C", "D", "H"]  # each once, no loop
    assert descendants("H", edges) == {"A", "B", "C", "D"}
    # B is reachable from A and C at the same depth: it goes under the first edge's parent
    assert [c["id"] for c in tree["children"]] == ["A", "C"]
    assert [c["id"] for c in tree["children"][0]["children"]] == ["B", "D"]


def test_deep_chains_do_not_recurse():
    edges = [(i, i + 1) for i in range(20000)]
    assert len(descendants(0, edges)) == 20000
    assert would_create_cycle(edges, 20000, 0)
    node, depth = group_tree(0, edges), 0
    while node["children"]:
        node, depth = node["children"][0], depth + 1
    assert depth == 20000


def test_edges_may_be_a_generator():
    assert descendants("H", (e for e in GROUP)) == descendants("H", GROUP)
    assert would_create_cycle((e for e in GROUP), "A1x", "H")
