"""Money and rates as Decimal: the one place that converts and rounds.

Why: amounts travel as strings on the wire and as Decimal in the database; a float
slipping in (``0.1 + 0.2``) makes totals that differ by a cent from what the customer
sees on the invoice.  So floats (and bools, which are ints) are refused outright rather
than converted, and every amount is rounded the same way: to the cent (0.01) with
ROUND_HALF_UP, the commercial rounding used on Chinese VAT invoices (四舍五入).
Rates (tax, discount, probability) are fractions (0.13 = 13 %), kept at their own
precision and never rounded on input.
"""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from .errors import DomainRuleError

CENT = Decimal("0.01")
RATE_PLACES = Decimal("0.0001")  # computed ratios (margin rate, conversion, growth): 4 places = 0.01 %
ZERO = Decimal("0")
ONE = Decimal("1")


def to_decimal(value, field: str = "amount") -> Decimal:
    """``value`` (Decimal, int or numeric string) as a finite Decimal; floats are refused."""
    if isinstance(value, (float, bool)) or value is None:
        raise DomainRuleError("invalid_number", f"{field} must be a Decimal, an int or a numeric string, "
                                                f"not {type(value).__name__}")
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation:
        raise DomainRuleError("invalid_number", f"{field}: {value!r} is not a number") from None
    if not number.is_finite():
        raise DomainRuleError("invalid_number", f"{field} must be finite")
    return number


def money(value) -> Decimal:
    """An amount rounded to the cent, half up (2.345 -> 2.35, -2.345 -> -2.35)."""
    return to_decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def ratio(numerator: Decimal, denominator: Decimal) -> Decimal | None:
    """``numerator / denominator`` to 4 places, half up; None when the denominator is 0."""
    if denominator == 0:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(RATE_PLACES, rounding=ROUND_HALF_UP)
