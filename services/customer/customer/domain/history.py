"""Field-by-field differences between two snapshots of a customer.

Why: the history records every change with old and new value, and
``customer.updated`` lists the changed fields; both need one definition of "changed"
and JSON-safe values.  Nested dicts (address, preferences) are compared key by key and
named with dotted paths ("region.city"); lists (tags, phones) are compared as whole
values because their order or membership is the change.  A missing key and None are the
same (no change is recorded between them); ``True`` differs from ``1``; Decimals
that are numerically equal ("10.0", "10.00") are the same; a list and a tuple with
equal items are the same.
"""

import base64
import enum
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class Change:
    field: str
    old: Any
    new: Any


def diff(old: dict | None, new: dict | None, prefix: str = "") -> list[Change]:
    """Changes from ``old`` to ``new``, sorted by field path, values made JSON-safe."""
    old, new = old or {}, new or {}
    changes = []
    for key in sorted(set(old) | set(new), key=str):
        path = f"{prefix}{key}"
        before, after = old.get(key), new.get(key)
        if isinstance(before, dict) and isinstance(after, dict):
            changes.extend(diff(before, after, prefix=f"{path}."))
        elif not _equal(before, after):
            changes.append(Change(path, json_safe(before), json_safe(after)))
    return changes


def json_safe(value: Any) -> Any:
    """Decimal -> str, date/datetime/time -> ISO 8601, UUID -> str, sets -> sorted lists…"""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, enum.Enum):
        return json_safe(value.value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted((json_safe(v) for v in value), key=repr)
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return str(value)


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    return a == b
