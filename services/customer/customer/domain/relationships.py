"""Relationship types, partner-function roles and the group tree.

Why: relationships ("X holds Y", "A is B's contact person") and roles (sold-to,
ship-to, payer…) are catalogue data that offices extend without a release, but a few
rules hold for every type: no party relates to itself, each side takes only the party
types the catalogue allows, and hierarchical types (holding, parent, head office) form
trees, so a new edge must not close a cycle.  Stored data may still contain a cycle
(imports, older rules), so walking a group never loops.

Direction: every type is stored from the superior / owning side to the other
(``holding_of``: holding -> subsidiary; ``head_office_of``: head office -> branch;
``contact_person_of``: person -> company).  ``resolve_relationship_code`` maps an
inverse code ("subsidiary_of", "branch_of") to its type and says the ends are swapped.
Validity: ``valid_from`` and ``valid_to`` are both inclusive; None means open.
"""

from collections import deque
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from datetime import date

from guanxi_common.rules import DomainRuleError

PERSON, COMPANY = "person", "company"
_ANY = frozenset({PERSON, COMPANY})


class RelationshipRuleError(DomainRuleError):
    """codes: self_link, wrong_from_party_type, wrong_to_party_type, unknown_party_type,
    unknown_relationship_type, invalid_period, cycle."""


@dataclass(frozen=True)
class RelationshipType:
    code: str
    name: str
    inverse_name: str
    from_party_types: frozenset[str]
    to_party_types: frozenset[str]
    hierarchical: bool = False
    inverse_code: str = ""
    name_zh: str = ""
    inverse_name_zh: str = ""

    @property
    def symmetric(self) -> bool:
        return self.inverse_code == self.code


@dataclass(frozen=True)
class Role:
    """A partner function a customer can take (any number of them)."""

    code: str
    label_en: str
    label_zh: str


def _type(code, inverse_code, name, inverse_name, zh, inverse_zh, from_types, to_types, hierarchical=False):
    return RelationshipType(code, name, inverse_name, frozenset(from_types), frozenset(to_types),
                            hierarchical, inverse_code, zh, inverse_zh)


DEFAULT_RELATIONSHIP_TYPES = (
    _type("parent_of", "child_of", "parent of", "child of", "父母", "子女", {PERSON}, {PERSON}, True),
    _type("spouse_of", "spouse_of", "spouse of", "spouse of", "配偶", "配偶", {PERSON}, {PERSON}),
    _type("employer_of", "employee_of", "employer of", "employee of", "雇主", "雇员", {COMPANY}, {PERSON}),
    _type("contact_person_of", "has_contact_person", "contact person of", "has contact person",
          "联系人", "所属单位", {PERSON}, {COMPANY}),
    _type("holding_of", "subsidiary_of", "holding company of", "subsidiary of", "控股公司", "子公司",
          {COMPANY}, {COMPANY}, True),
    _type("head_office_of", "branch_of", "head office of", "branch of", "总公司", "分支机构",
          {COMPANY}, {COMPANY}, True),
    _type("shareholder_of", "has_shareholder", "shareholder of", "has shareholder", "股东", "被投资企业",
          _ANY, {COMPANY}),
    _type("legal_representative_of", "has_legal_representative", "legal representative of",
          "has legal representative", "法定代表人", "所代表企业", {PERSON}, {COMPANY}),
    _type("guarantor_of", "guaranteed_by", "guarantor of", "guaranteed by", "担保人", "被担保人", _ANY, _ANY),
    _type("partner_of", "partner_of", "business partner of", "business partner of", "合作伙伴", "合作伙伴",
          _ANY, _ANY),
)

DEFAULT_ROLES = (
    Role("sold_to", "Sold-to party", "售达方"),
    Role("ship_to", "Ship-to party", "送达方"),
    Role("bill_to", "Bill-to party", "收票方"),
    Role("payer", "Payer", "付款方"),
    Role("dealer", "Dealer", "经销商"),
    Role("agent", "Agent", "代理商"),
    Role("end_user", "End user", "最终用户"),
    Role("employee", "Employee", "员工"),
    Role("debtor", "Debtor", "债务人"),
    Role("creditor", "Creditor", "债权人"),
    Role("supplier", "Supplier", "供应商"),
    Role("partner", "Partner", "合作伙伴"),
    Role("competitor", "Competitor", "竞争对手"),
    Role("contact", "Contact", "联系人"),
    Role("guest", "Guest", "宾客"),
)

RELATIONSHIP_TYPES_BY_CODE = {t.code: t for t in DEFAULT_RELATIONSHIP_TYPES}
ROLES_BY_CODE = {r.code: r for r in DEFAULT_ROLES}


def resolve_relationship_code(code: str, types: Iterable[RelationshipType] = DEFAULT_RELATIONSHIP_TYPES):
    """``(type, swapped)`` for a code or an inverse code ("subsidiary_of" -> holding_of, True)."""
    for rel_type in types:
        if rel_type.code == code:
            return rel_type, False
    for rel_type in types:
        if rel_type.inverse_code == code:
            return rel_type, True
    raise RelationshipRuleError("unknown_relationship_type", f"no relationship type {code!r}")


def check_relationship(rel_type: RelationshipType, from_party_type: str, to_party_type: str,
                       from_id: Hashable, to_id: Hashable) -> None:
    """Raise ``RelationshipRuleError`` unless ``from -> to`` may have this type."""
    if from_id == to_id:
        raise RelationshipRuleError("self_link", "a customer cannot have a relationship with itself")
    for side, party_type, allowed in (("from", from_party_type, rel_type.from_party_types),
                                      ("to", to_party_type, rel_type.to_party_types)):
        if party_type not in _ANY:
            raise RelationshipRuleError("unknown_party_type", f"unknown party type {party_type!r}")
        if party_type not in allowed:
            raise RelationshipRuleError(
                f"wrong_{side}_party_type",
                f"'{rel_type.name}' needs a {' or '.join(sorted(allowed))} on the {side} side, not a {party_type}",
            )


def check_period(valid_from: date | None, valid_to: date | None) -> None:
    if valid_from and valid_to and valid_to < valid_from:
        raise RelationshipRuleError("invalid_period", f"valid_to {valid_to} is before valid_from {valid_from}")


def is_active(valid_from: date | None, valid_to: date | None, on: date) -> bool:
    """Whether a relationship is in force on ``on`` (both ends inclusive, None = open)."""
    return (valid_from is None or valid_from <= on) and (valid_to is None or on <= valid_to)


def _children(edges: Iterable[tuple]) -> dict:
    children: dict = {}
    for parent, child in edges:
        children.setdefault(parent, []).append(child)
    return children


def descendants(root_id: Hashable, edges: Iterable[tuple]) -> set:
    """Every id reachable from ``root_id`` (transitively), never ``root_id`` itself."""
    children = _children(edges)
    seen = {root_id}
    stack = [root_id]
    while stack:
        for child in children.get(stack.pop(), ()):
            if child not in seen:
                seen.add(child)
                stack.append(child)
    seen.discard(root_id)
    return seen


def would_create_cycle(edges: Iterable[tuple], new_from: Hashable, new_to: Hashable) -> bool:
    """True when adding ``new_from -> new_to`` closes a cycle (including a self-link)."""
    return new_from == new_to or new_from in descendants(new_to, edges)


def check_no_cycle(rel_type: RelationshipType, edges: Iterable[tuple], new_from: Hashable, new_to: Hashable) -> None:
    """For hierarchical types: raise ``cycle`` when the new edge would close one."""
    if rel_type.hierarchical and would_create_cycle(edges, new_from, new_to):
        raise RelationshipRuleError(
            "cycle", f"'{rel_type.name}' from {new_from} to {new_to} would make {new_from} its own descendant"
        )


def group_tree(root_id: Hashable, edges: Iterable[tuple]) -> dict:
    """``{"id": root, "children": [...]}`` of all descendants, breadth first.

    Each id appears once, under the parent that reaches it on a shortest path (ties:
    the first in ``edges`` order); edges back to an id already placed are ignored, so
    cycles and diamonds in stored data neither loop nor repeat subtrees.
    """
    children = _children(edges)
    root = {"id": root_id, "children": []}
    placed = {root_id}
    queue = deque([root])
    while queue:
        node = queue.popleft()
        for child_id in children.get(node["id"], ()):
            if child_id not in placed:
                placed.add(child_id)
                child = {"id": child_id, "children": []}
                node["children"].append(child)
                queue.append(child)
    return root
