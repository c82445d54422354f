"""What text the contracts accept, as pure functions the fields and the gateway share.

- Valid Unicode: a lone surrogate (``"\\ud800"``, which JSON can spell) is no character;
  no UTF-8 encoder writes it, so the database, the broker or a client's ``JSON.parse``
  would be the ones to fail on it.
- No NUL, nor other control characters than tab and line breaks, in free text: nothing
  types them, they truncate strings in C libraries and hide text in logs and exports.
- A one-line value (a name, a code, a reference) has no control character at all.
- JSON nests at most :data:`MAX_JSON_DEPTH` levels: past that, recursive code (parsers,
  dumpers, validators) runs out of stack.
"""
import re

#: the deepest nesting of objects and arrays accepted anywhere (a request body, a
#: free-form field such as a customer's preferences); real documents nest a few levels
MAX_JSON_DEPTH = 32

_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LINE_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")

NOT_UNICODE = "must be valid Unicode text (a lone surrogate is not a character)"
CONTROL_CHARACTER = "must not contain NUL or other control characters"
LINE_BREAK = "must be one line without control characters"
TOO_DEEP = f"nested deeper than {MAX_JSON_DEPTH} levels"

#: a JSON Schema ``pattern`` (ECMA 262 and Python alike) of one-line text
SINGLE_LINE_PATTERN = "^[^\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029]*$"


def text_problem(value, *, single_line=False):
    """Why ``value`` (a str) is refused, or None."""
    if _SURROGATE.search(value):
        return NOT_UNICODE
    if single_line and _LINE_CONTROL.search(value):
        return LINE_BREAK
    if _CONTROL.search(value):
        return CONTROL_CHARACTER
    return None


def _unicode_problem(value):
    return NOT_UNICODE if _SURROGATE.search(value) else None


def text_problems(data, depth=0, *, unicode_only=False):
    """The refused strings in ``data`` (JSON-like: dicts, lists, scalars) as marshmallow
    nests its errors: ``{"name": [reason]}``, ``{"lines": {0: {"sku": [reason]}}}``;
    ``{}`` when every string (keys included) is acceptable free text (``unicode_only``:
    valid Unicode, whatever characters)."""
    check = _unicode_problem if unicode_only else text_problem
    if depth >= MAX_JSON_DEPTH:
        return {"_schema": [TOO_DEEP]} if isinstance(data, (dict, list)) and data else {}
    if isinstance(data, dict):
        items = data.items()
    elif isinstance(data, (list, tuple)):
        items = enumerate(data)
    else:
        return {}
    errors = {}
    for key, value in items:
        if isinstance(key, str) and check(key):
            errors.setdefault("_schema", []).append(f"a key {check(key)}")
            continue
        if isinstance(value, str):
            problem = check(value)
            if problem:
                errors[key] = [problem]
        elif isinstance(value, (dict, list, tuple)):
            nested = text_problems(value, depth + 1, unicode_only=unicode_only)
            if nested:
                errors[key] = nested
    return errors


def depth_of(data):
    """How deep ``data`` nests (a scalar 0, ``{}`` 1, ``{"a": []}`` 2), counted without
    recursion, stopping once past :data:`MAX_JSON_DEPTH`."""
    deepest, stack = 0, [(data, 1)]
    while stack:
        value, level = stack.pop()
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, (list, tuple)):
            children = value
        else:
            continue
        deepest = max(deepest, level)
        if deepest > MAX_JSON_DEPTH:
            return deepest
        stack.extend((child, level + 1) for child in children)
    return deepest
