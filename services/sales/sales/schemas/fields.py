"""Field helpers every sales schema uses: money, rates and quantities with the precision
their columns store (more decimals are an error, never silently rounded), currencies,
aware times, strict schemas."""
from datetime import timezone
from decimal import Decimal

from marshmallow import RAISE, Schema, ValidationError, fields, validate

CURRENCY = validate.Regexp(r"^[A-Z]{3}$", error="must be an ISO 4217 code such as CNY")


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


def places(limit):
    """A validator: at most ``limit`` decimal places (what the column stores)."""
    quantum = Decimal(1).scaleb(-limit)

    def check(value):
        if value is not None and value != value.quantize(quantum):
            raise ValidationError(f"at most {limit} decimal places")
    return check


def money_in(positive=False, **kwargs):
    """An amount in: 0 or more (more than 0 when ``positive``), at most 2 decimals."""
    return fields.Decimal(as_string=True, allow_nan=False,
                          validate=[validate.Range(min=0, min_inclusive=not positive), places(2)],
                          **kwargs)


def quantity_in(**kwargs):
    """A quantity in: more than 0, at most 3 decimals."""
    return fields.Decimal(as_string=True, allow_nan=False,
                          validate=[validate.Range(min=0, min_inclusive=False), places(3)],
                          **kwargs)


def fraction_in(**kwargs):
    """A rate from 0 up to (not including) 1, at most 4 decimals: 0.13 for 13 %."""
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
