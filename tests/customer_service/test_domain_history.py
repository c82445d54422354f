import uuid
from datetime import date, datetime, timezone
from decimal import Decimal

from customer.domain.history import Change, diff, json_safe


def test_changed_fields_only():
    old = {"name": "张伟", "status": "prospect", "tier": "C"}
    new = {"name": "张伟", "status": "active", "tier": "C"}
    assert diff(old, new) == [Change("status", "prospect", "active")]
    assert diff(old, dict(old)) == []


def test_added_and_removed_keys():
    assert diff({"a": 1}, {"b": 2}) == [Change("a", 1, None), Change("b", None, 2)]
    assert diff(None, {"a": 1}) == [Change("a", None, 1)]


def test_missing_equals_none():
    assert diff({"a": None}, {}) == []
    assert diff({}, {"a": None}) == []


def test_nested_dicts_become_dotted_paths():
    old = {"region": {"province": "广东", "city": "深圳"}, "preferences": {"room": "1201", "pillow": "soft"}}
    new = {"region": {"province": "广东", "city": "广州"}, "preferences": {"room": "1508"}}
    assert diff(old, new) == [
        Change("preferences.pillow", "soft", None),
        Change("preferences.room", "1201", "1508"),
        Change("region.city", "深圳", "广州"),
    ]
    assert diff({"a": {"b": {"c": 1}}}, {"a": {"b": {"c": 2}}}) == [Change("a.b.c", 1, 2)]


def test_prefix():
    assert diff({"x": 1}, {"x": 2}, prefix="company.") == [Change("company.x", 1, 2)]


def test_lists_are_whole_values():
    assert diff({"tags": ["vip", "hotel"]}, {"tags": ["vip", "hotel", "golf"]}) == [
        Change("tags", ["vip", "hotel"], ["vip", "hotel", "golf"])]
    assert diff({"tags": ["a", "b"]}, {"tags": ["b", "a"]}) == [Change("tags", ["a", "b"], ["b", "a"])]
    assert diff({"tags": ("a",)}, {"tags": ["a"]}) == []


def test_dict_replaced_by_scalar_is_one_change():
    assert diff({"address": {"city": "深圳"}}, {"address": None}) == [Change("address", {"city": "深圳"}, None)]


def test_values_are_json_safe():
    when = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)
    uid = uuid.UUID("12345678-1234-5678-1234-567812345678")
    changes = diff(
        {"limit": Decimal("1000.00"), "born": date(1985, 3, 12), "at": None, "id": None, "codes": None},
        {"limit": Decimal("2500.50"), "born": date(1985, 3, 21), "at": when, "id": uid, "codes": {"b", "a"}},
    )
    assert changes == [
        Change("at", None, "2026-11-23T10:00:00+00:00"),
        Change("born", "1985-03-12", "1985-03-21"),
        Change("codes", None, ["a", "b"]),
        Change("id", None, "12345678-1234-5678-1234-567812345678"),
        Change("limit", "1000.00", "2500.50"),
    ]
    assert json_safe({"x": [Decimal("1.5"), date(2020, 1, 2)]}) == {"x": ["1.5", "2020-01-02"]}


def test_equality_rules():
    assert diff({"limit": Decimal("10.0")}, {"limit": Decimal("10.00")}) == []
    assert diff({"consent": 1}, {"consent": True}) == [Change("consent", 1, True)]
    assert diff({"consent": False}, {"consent": 0}) == [Change("consent", False, 0)]
    assert diff({"flags": [1]}, {"flags": [True]}) == [Change("flags", [1], [True])]
