"""The one parser of request bodies: strict JSON, so that what passes can be stored,
forwarded over RPC and served back to any client.

Refused as malformed (400): bytes that are not UTF-8, ``NaN``/``Infinity`` (not JSON,
though Python's parser takes them, and ``JSON.parse`` refuses them when served back),
numbers too large for a double (``1e400`` would become infinity), nesting deeper than
``MAX_JSON_DEPTH``. Refused as invalid (422, naming the field): strings holding a lone
surrogate (``"\\ud800"``), which no UTF-8 encoder can write.
"""
import json
import math

from werkzeug.exceptions import BadRequest

from guanxi_common.contracts.text import MAX_JSON_DEPTH, depth_of, text_problems
from guanxi_common.errors import ValidationFailed, flatten_marshmallow


class MalformedBody(BadRequest):
    """A body that is not (strict, bounded) JSON."""


def parse_body(raw):
    """``raw`` (bytes) as JSON data, or :class:`MalformedBody` / ``ValidationFailed``."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedBody("The request body is not UTF-8 text.") from None
    try:
        data = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except RecursionError:
        raise MalformedBody(_too_deep()) from None
    except MalformedBody:
        raise
    except ValueError:
        raise MalformedBody("The request body is not valid JSON.") from None
    if depth_of(data) > MAX_JSON_DEPTH:
        raise MalformedBody(_too_deep())
    problems = text_problems(data, unicode_only=True) if isinstance(data, (dict, list)) else {}
    if isinstance(data, str) and text_problems([data], unicode_only=True):
        problems = {"_schema": ["must be valid Unicode text"]}
    if problems:
        errors = flatten_marshmallow(problems)
        summary = "; ".join(f"{k}: {', '.join(map(str, v))}" for k, v in list(errors.items())[:5])
        raise ValidationFailed(f"invalid input: {summary}", errors)
    return data


def _too_deep():
    return f"The request body nests objects and arrays deeper than {MAX_JSON_DEPTH} levels."


def _refuse_constant(name):
    raise MalformedBody(f"The request body is not valid JSON: {name} is not a JSON number.")


def _finite_float(literal):
    number = float(literal)
    if not math.isfinite(number):
        raise MalformedBody(f"The request body holds a number out of range ({literal[:40]}).")
    return number
