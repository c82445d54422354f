"""Reusable contract fields: money, rates and quantities with the precision their columns
store (more decimals are an error, never silently rounded), currencies, aware times,
strict schemas, bounded pages, Unicode-valid text and names, bounded free-form JSON.
Every service's contracts and the gateway build on these."""
import math
import re
from datetime import timezone
from decimal import Decimal, InvalidOperation

from babel.numbers import get_currency_precision
from marshmallow import (RAISE, Schema, ValidationError, fields, pre_load, validate,
                         validates_schema)

from guanxi_common.contracts.text import (MAX_JSON_DEPTH, SINGLE_LINE_PATTERN, TOO_DEEP,
                                          depth_of, text_problem, text_problems)

CURRENCY = validate.Regexp(r"^[A-Z]{3}$", error="must be an ISO 4217 code such as CNY")


class StrictSchema(Schema):
    """Unknown fields refused; every string it is given (at any depth) valid Unicode
    without NUL or other control characters than tab and line breaks, whatever field
    reads it (a field of its own may be stricter: :class:`Text`)."""

    class Meta:
        unknown = RAISE

    @pre_load
    def refuse_invalid_text(self, data, **kwargs):
        if isinstance(data, dict):
            errors = text_problems(data)
            if errors:
                raise ValidationError(errors)
        return data


def places(limit):
    """A validator: at most ``limit`` decimal places (what the column stores)."""
    quantum = Decimal(1).scaleb(-limit)

    def check(value):
        if value is None:
            return
        try:
            exact = value == value.quantize(quantum)
        except InvalidOperation:  # more digits than a decimal context holds (28)
            raise ValidationError("too large") from None
        if not exact:
            raise ValidationError(f"at most {limit} decimal places")
    return check


places_validator = places  # for the fields below, whose ``places`` argument shadows it


#: integer digits of an amount (prices, payments, credit limits, opportunity values):
#: under 10^12, so that a line (quantity x price) and a 200-line total stay exact in a
#: 28-digit decimal context; the sales domain checks that totals fit their columns
AMOUNT_DIGITS = 12
#: integer digits of a company's figures (registered capital, revenue, assets): what a
#: ``Numeric(18, 2)`` column holds; they are never summed
FIGURE_DIGITS = 16
#: integer digits of a quantity: under a million units, 3 places
QUANTITY_DIGITS = 6
MONEY_PLACES = 2
QUANTITY_PLACES = 3
RATE_PLACES = 4


def decimal_pattern(integer_digits, places, *, signed=False, positive=False, below_one=False,
                    up_to_one=False):
    """The regular expression (unanchored) of a plain decimal: digits, at most ``places``
    after a point; no exponent, sign (unless ``signed``), spaces or leading zeros.
    ``positive``: more than 0; ``below_one``: 0 up to (not including) 1; ``up_to_one``:
    0 to 1."""
    fraction = r"(\.[0-9]{1,%d})?" % places if places else ""
    if below_one:
        return "0" + fraction
    if up_to_one:
        return "(0" + fraction + r"|1(\.0{1,%d})?)" % places
    whole = r"(0|[1-9][0-9]{0,%d})" % (integer_digits - 1)
    if not positive:
        return ("-?" if signed else "") + whole + fraction
    over_zero = r"[1-9][0-9]{0,%d}" % (integer_digits - 1) + fraction
    if places:
        # 0.x with at least one digit that is not 0 among at most ``places`` digits
        small = "|".join("0" * zeros + "[1-9]" + (r"[0-9]{0,%d}" % (places - zeros - 1)
                                                   if places - zeros - 1 else "")
                         for zeros in range(places))
        over_zero += r"|0\.(" + small + ")"
    return "(" + over_zero + ")"


class PlainDecimal(fields.Decimal):
    """A decimal in, as a plain string (``"1234.50"``): the OpenAPI ``pattern`` is the
    rule, so a client can check it before sending. ``" 5"``, ``"+5"``, ``".5"``, ``"1e3"``
    and more places than the column keeps are refused, never rounded. Python callers may
    pass a ``Decimal`` or an ``int`` (exact); floats are refused (0.1 is not 0.1).
    ``padded``: loaded with all its places (``"5"`` -> ``Decimal("5.00")``), as stored."""

    default_error_messages = {
        "pattern": "must be a plain decimal string such as \"{example}\" ({rule})",
        "float": "must be a decimal string such as \"{example}\", not a floating-point number",
    }

    def __init__(self, *, integer_digits, places, signed=False, positive=False,
                 below_one=False, up_to_one=False, padded=False, rule, **kwargs):
        self.quantum = Decimal(1).scaleb(-places) if padded else None
        self.pattern = decimal_pattern(integer_digits, places, signed=signed, positive=positive,
                                       below_one=below_one, up_to_one=up_to_one)
        if below_one or up_to_one:
            integer_digits = 1
        self.max_length = (1 if signed else 0) + integer_digits + (places + 1 if places else 0)
        self.rule = rule
        self._full = re.compile(self.pattern)
        self._example = ("0.13" if below_one or up_to_one else "1234." + "5".ljust(places, "0") if places
                         else "1234")
        validators = list(kwargs.pop("validate", None) or [])
        low = Decimal(0) if not signed else -Decimal(10) ** integer_digits
        high = Decimal(1) if below_one or up_to_one else Decimal(10) ** integer_digits
        validators += [validate.Range(min=low, max=high, min_inclusive=not (positive or signed),
                                      max_inclusive=up_to_one), places_validator(places)]
        metadata = dict(kwargs.pop("metadata", None) or {})
        given = metadata.get("description")
        metadata["description"] = (given + " " if given else "") + rule[0].upper() + rule[1:] + "."
        kwargs["metadata"] = metadata
        super().__init__(as_string=True, allow_nan=False, validate=validators, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, float):
            raise self.make_error("float", example=self._example)
        if isinstance(value, (Decimal, int)) and not isinstance(value, bool):
            if isinstance(value, Decimal) and not value.is_finite():
                raise self.make_error("special")
            text = format(Decimal(value), "f")
        else:
            text = value
        if not isinstance(text, str) or not self._full.fullmatch(text):
            if not isinstance(text, str):
                raise self.make_error("invalid")
            raise self.make_error("pattern", example=self._example, rule=self.rule)
        number = super()._deserialize(text, attr, data, **kwargs)
        return number.quantize(self.quantum) if self.quantum is not None else number


def money_in(positive=False, *, signed=False, integer_digits=AMOUNT_DIGITS, **kwargs):
    """An amount in: 0 or more (more than 0 when ``positive``, any sign when ``signed``:
    a net loss), at most 2 decimals and ``integer_digits`` digits before the point."""
    sign = "more than 0" if positive else "any sign" if signed else "0 or more"
    return PlainDecimal(integer_digits=integer_digits, places=MONEY_PLACES, signed=signed,
                        positive=positive, rule=f"{sign}, under 10^{integer_digits}, at most "
                                                f"{MONEY_PLACES} decimal places", **kwargs)


def currency_places_limit(code):
    """The decimal places an amount in ``code`` may have: the currency's minor units (JPY
    0, CNY 2) but never more than MONEY_PLACES, what the money columns store, so a
    3-place currency (BHD, KWD) is limited to 2. The table is Babel's (CLDR), which
    follows ISO 4217 except where usage has no minor unit any more (IQD 0); an unknown
    code counts as 2 places."""
    return min(get_currency_precision(code), MONEY_PLACES)


def currency_places(*amounts, currency="currency"):
    """A schema check, assigned in the schema's body
    (``check_places = currency_places("list_price", "unit_cost")``): each of ``amounts``
    has no more decimal places than the currency named by the ``currency`` field of the
    same body allows (:func:`currency_places_limit`); more are refused, never rounded.
    ``"lines.unit_price"`` names an amount in each item of a list of bodies. Without a
    currency in the body (a partial update, a payment in its invoice's currency) the
    amounts keep the field's own MONEY_PLACES rule."""

    @validates_schema
    def check_currency_places(self, data, **kwargs):
        code = data.get(currency)
        if not code:
            return
        limit = currency_places_limit(code)
        if limit >= MONEY_PLACES:  # the amount fields already refuse more
            return
        reason = (f"{code} has no decimal places" if limit == 0 else
                  f"{code} has at most {limit} decimal place{'s' if limit > 1 else ''}")
        quantum = Decimal(1).scaleb(-limit)
        errors = {}
        for path in amounts:
            errors.update(_places_errors(data, path.split("."), quantum, reason))
        if errors:
            raise ValidationError(errors)

    return check_currency_places


def _places_errors(data, path, quantum, reason):
    """``{field: [reason]}`` (nested as marshmallow nests errors) for each amount at
    ``path`` in ``data`` with more places than ``quantum``."""
    name, rest = path[0], path[1:]
    value = data.get(name) if isinstance(data, dict) else None
    if value is None:
        return {}
    if not rest:
        return {} if value == value.quantize(quantum) else {name: [reason]}
    items = enumerate(value) if isinstance(value, list) else [(None, value)]
    nested = {}
    for index, item in items:
        found = _places_errors(item, rest, quantum, reason)
        if found:
            if index is None:
                nested.update(found)
            else:
                nested[index] = found
    return {name: nested} if nested else {}


def figure_in(**kwargs):
    """A company's figure (revenue, profit, assets, registered capital): any sign, 2
    decimals, up to what its column holds."""
    return money_in(signed=True, integer_digits=FIGURE_DIGITS, **kwargs)


def quantity_in(**kwargs):
    """A quantity in: more than 0, under 10^6, at most 3 decimals."""
    return PlainDecimal(integer_digits=QUANTITY_DIGITS, places=QUANTITY_PLACES, positive=True,
                        rule=f"more than 0, under 10^{QUANTITY_DIGITS}, at most "
                             f"{QUANTITY_PLACES} decimal places", **kwargs)


def fraction_in(**kwargs):
    """A rate from 0 up to (not including) 1, at most 4 decimals: 0.13 for 13 %."""
    kwargs.setdefault("metadata", {"description": "0.13 for 13 %."})
    return PlainDecimal(integer_digits=1, places=RATE_PLACES, below_one=True,
                        rule=f"a fraction from 0 up to (not including) 1, at most {RATE_PLACES} "
                             f"decimal places", **kwargs)


def money_out(**kwargs):
    return fields.Decimal(as_string=True, places=2, **kwargs)


def rate_out(**kwargs):
    return fields.Decimal(as_string=True, places=4, **kwargs)


class UTCAwareDateTime(fields.AwareDateTime):
    """ISO 8601 with an offset in (naive refused), UTC out of ``load``."""

    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(value, attr, data, **kwargs).astimezone(timezone.utc)


def aware(**kwargs):
    return UTCAwareDateTime(default_timezone=None, **kwargs)


class Text(fields.String):
    """A string in that is valid Unicode without NUL or other control characters than tab
    and line breaks; ``single_line``: no control character at all (stated as the OpenAPI
    ``pattern``); ``trim``: surrounding white space removed before the length is checked,
    so ``"   "`` is as empty as ``""``."""

    def __init__(self, *, single_line=False, trim=False, **kwargs):
        self.single_line, self.trim = single_line, trim
        if single_line:
            kwargs.setdefault("metadata", {}).setdefault("pattern", SINGLE_LINE_PATTERN)
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        problem = text_problem(value, single_line=self.single_line)
        if problem:
            raise ValidationError(problem)
        return value.strip() if self.trim else value


def name_text(max_length, *, min_length=1, **kwargs):
    """A name in: one line, trimmed, then ``min_length`` to ``max_length`` characters (a
    name of white space only is refused, not stored as ``""``)."""
    return Text(single_line=True, trim=True,
                validate=validate.Length(min=min_length, max=max_length), **kwargs)


#: the most keys and items a free-form JSON field holds, all levels together
JSON_ITEMS_MAX = 1_000
#: the longest string or key in a free-form JSON field
JSON_STRING_MAX = 2_000
_JSON_NUMBER_MAX = 2 ** 53  # beyond it JavaScript numbers are not exact


class JsonObject(fields.Dict):
    """A free-form JSON object in (a customer's preferences): keys of 1 to ``key_max``
    characters; values only what JSON has (no NaN or Infinity, which ``JSON.parse``
    refuses, integers a JavaScript client reads exactly), valid text, bounded depth,
    item count and string length."""

    def __init__(self, *, key_max=60, **kwargs):
        self.key_max = key_max
        metadata = kwargs.setdefault("metadata", {})
        metadata.setdefault("maxProperties", JSON_ITEMS_MAX)
        metadata.setdefault("description", (
            f"Free-form JSON: keys of 1 to {key_max} characters, at most {MAX_JSON_DEPTH} "
            f"levels and {JSON_ITEMS_MAX} items, strings of at most {JSON_STRING_MAX} "
            f"characters, finite numbers."))
        super().__init__(keys=fields.String(validate=validate.Length(min=1, max=key_max)),
                         values=fields.Raw(allow_none=True), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        if depth_of(value) > MAX_JSON_DEPTH - 1:  # the object itself is one level
            raise ValidationError(TOO_DEEP)
        problems = text_problems(value)
        if problems:
            raise ValidationError(problems)
        reason = _json_value_problem(value)
        if reason:
            raise ValidationError(reason)
        return value


def _json_value_problem(value):
    """Why ``value`` is not plain, bounded JSON, or None (walked without recursion)."""
    stack, items = [value], 0
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            items += len(item)
            if any(not isinstance(key, str) or len(key) > JSON_STRING_MAX for key in item):
                return f"keys must be strings of at most {JSON_STRING_MAX} characters"
            stack.extend(item.values())
        elif isinstance(item, list):
            items += len(item)
            stack.extend(item)
        elif isinstance(item, str):
            if len(item) > JSON_STRING_MAX:
                return f"strings of at most {JSON_STRING_MAX} characters"
        elif isinstance(item, bool) or item is None:
            pass
        elif isinstance(item, int):
            if abs(item) > _JSON_NUMBER_MAX:
                return "integers from -2^53 to 2^53"
        elif isinstance(item, float):
            if not math.isfinite(item):
                return "numbers must be finite (no NaN or Infinity)"
        else:
            return f"only JSON values (not {type(item).__name__})"
        if items > JSON_ITEMS_MAX:
            return f"at most {JSON_ITEMS_MAX} items"
    return None


#: the highest version of a record (its ``version`` column is a 32-bit integer)
VERSION_MAX = 2 ** 31 - 1

#: the highest page number any list accepts: far past any real list, low enough that
#: ``(page - 1) * page_size`` stays a sane OFFSET on every database
MAX_PAGE = 100_000


def page_schema(default_size=20, max_size=200, name="PageSchema"):
    """A strict schema of ``page`` (1 to MAX_PAGE) and ``page_size`` (1 to ``max_size``):
    the base of every list's criteria, so bounds are declared once per list."""
    return type(name, (StrictSchema,), {
        "page": fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE)),
        "page_size": fields.Integer(load_default=default_size,
                                    validate=validate.Range(min=1, max=max_size)),
    })


class WireDateTime(fields.AwareDateTime):
    """A time in a record: dumps a ``datetime`` as ISO 8601, passes an ISO string through
    (a record that already crossed RPC as JSON, dumped again by the gateway); loads only
    ISO 8601 with an offset."""

    def __init__(self, **kwargs):
        super().__init__(default_timezone=None, **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        return value if isinstance(value, str) else super()._serialize(value, attr, obj, **kwargs)


class WireDate(fields.Date):
    """A date in a record: dumps a ``date`` as ``YYYY-MM-DD``, passes an ISO string through."""

    def _serialize(self, value, attr, obj, **kwargs):
        return value if isinstance(value, str) else super()._serialize(value, attr, obj, **kwargs)


#: the longest idempotency key a service stores (its ``idempotency_keys.key`` column)
IDEMPOTENCY_KEY_MAX = 100


def decimal_out(places, **kwargs):
    """A decimal out with the digits the value holds: a stored value has the column's
    ``places`` ("0.1300"), one just written reads as it was given ("0.13"). ``places``
    is kept in the metadata for a presenter that pads to it (the gateway does)."""
    metadata = {"places": places, **kwargs.pop("metadata", {})}
    return fields.Decimal(as_string=True, metadata=metadata, **kwargs)
