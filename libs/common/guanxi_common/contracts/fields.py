"""Reusable contract fields: money, rates and quantities with the precision their columns
store (more decimals are an error, never silently rounded), currencies, aware times,
strict schemas, bounded pages. Every service's contracts and the gateway build on these."""
from datetime import timezone
from decimal import Decimal, InvalidOperation

from marshmallow import RAISE, Schema, ValidationError, fields, validate

CURRENCY = validate.Regexp(r"^[A-Z]{3}$", error="must be an ISO 4217 code such as CNY")


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


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


def money_in(positive=False, **kwargs):
    """An amount in: 0 or more (more than 0 when ``positive``), at most 2 decimals."""
    kwargs.setdefault("metadata", {"description": "Decimal string, at most 2 places."})
    return fields.Decimal(as_string=True, allow_nan=False,
                          validate=[validate.Range(min=0, min_inclusive=not positive), places(2)],
                          **kwargs)


def quantity_in(**kwargs):
    """A quantity in: more than 0, at most 3 decimals."""
    kwargs.setdefault("metadata", {"description": "More than 0, at most 3 places."})
    return fields.Decimal(as_string=True, allow_nan=False,
                          validate=[validate.Range(min=0, min_inclusive=False), places(3)],
                          **kwargs)


def fraction_in(**kwargs):
    """A rate from 0 up to (not including) 1, at most 4 decimals: 0.13 for 13 %."""
    kwargs.setdefault("metadata", {"description": "A fraction: 0.13 for 13 %."})
    return fields.Decimal(as_string=True, allow_nan=False,
                          validate=[validate.Range(min=0, max=1, max_inclusive=False), places(4)],
                          **kwargs)


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


def rounded_money_in(signed=False, **kwargs):
    """An amount in, rounded half-even to 2 decimals instead of refused (the customer master
    data: credit limits, registered capital, financial figures); 0 or more unless
    ``signed`` (a net loss)."""
    return fields.Decimal(as_string=True, places=2, allow_nan=False,
                          validate=[] if signed else [validate.Range(min=0)], **kwargs)


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
