"""Pricing of order and quote lines: net, tax, gross, cost and margin.

Why these rules:
- net = quantity x unit price x (1 - discount), rounded to the cent per line; tax is
  computed on the rounded net of each line (as a Chinese VAT invoice prints it, line by
  line), and gross = net + tax.  Totals are the sums of the rounded line figures, so an
  order's total always equals the sum of the lines shown to the customer.
- cost = quantity x unit cost, margin (profit contribution) = net - cost: tax is not
  revenue.  A line whose product has no known unit cost has cost and margin None; an
  order with such a line has total cost, margin and margin rate None rather than a
  margin that silently counts the unknown cost as 0 and overstates profit.
- Validation happens when a ``Line`` is made, so an invalid line never exists:
  quantity > 0 (fractions allowed: 2.5 kg), unit price >= 0 (0 = a free item),
  0 <= discount < 1 (a 100 % discount is a free item: price 0, not discount 1),
  0 <= tax rate < 1 (a rate of 1 or more is almost always a percentage typed as 13
  instead of 0.13), unit cost >= 0 when known.  Floats are refused (see :mod:`.money`).
- ``tax_rate`` defaults to 0 only so the fields keep their documented order
  (product_id, quantity, unit_price, discount, tax_rate, unit_cost); callers pass the
  product's rate.
"""

from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from .errors import DomainRuleError
from .money import ONE, ZERO, money, ratio, to_decimal


class PricingRuleError(DomainRuleError):
    """codes: quantity_not_positive, discount_out_of_range, price_negative,
    tax_rate_out_of_range, cost_negative, invalid_number, amount_too_large."""


#: the largest figure a line or a total may reach: what its ``Numeric(18, 2)`` column holds
#: (the contracts bound quantities and prices; their products and sums can still exceed it)
AMOUNT_LIMIT = Decimal("9999999999999999.99")


def check_amount(value: Decimal | None, field: str) -> None:
    """Raise ``PricingRuleError('amount_too_large')`` when ``value`` does not fit its column."""
    if value is not None and abs(value) > AMOUNT_LIMIT:
        raise PricingRuleError("amount_too_large", f"the {field} would be more than {AMOUNT_LIMIT}",
                               {"field": field})


@dataclass(frozen=True)
class Line:
    """One priced item; the values are normalised to Decimal on creation."""

    product_id: Hashable
    quantity: Decimal
    unit_price: Decimal
    discount: Decimal = ZERO
    tax_rate: Decimal = ZERO
    unit_cost: Decimal | None = None

    def __post_init__(self):
        quantity = _number(self.quantity, "quantity")
        unit_price = _number(self.unit_price, "unit_price")
        discount = _number(self.discount, "discount")
        tax_rate = _number(self.tax_rate, "tax_rate")
        unit_cost = None if self.unit_cost is None else _number(self.unit_cost, "unit_cost")
        check_line_values(quantity, unit_price, discount, tax_rate, unit_cost)
        for name, value in (("quantity", quantity), ("unit_price", unit_price), ("discount", discount),
                            ("tax_rate", tax_rate), ("unit_cost", unit_cost)):
            object.__setattr__(self, name, value)


@dataclass(frozen=True)
class PricedLine:
    net: Decimal
    tax: Decimal
    gross: Decimal
    cost: Decimal | None
    margin: Decimal | None


@dataclass(frozen=True)
class Totals:
    net: Decimal
    tax: Decimal
    gross: Decimal
    cost: Decimal | None
    margin: Decimal | None
    margin_rate: Decimal | None  # margin / net, 4 places; None without net or without a known cost


def _number(value, field: str) -> Decimal:
    try:
        return to_decimal(value, field)
    except DomainRuleError as error:
        raise PricingRuleError(error.code, error.message, {"field": field}) from None


def check_line_values(quantity: Decimal, unit_price: Decimal, discount: Decimal, tax_rate: Decimal,
                      unit_cost: Decimal | None = None) -> None:
    """Raise ``PricingRuleError`` for the first value outside its range (see module doc)."""
    if quantity <= 0:
        raise PricingRuleError("quantity_not_positive", f"quantity must be more than 0, not {quantity}",
                               {"field": "quantity"})
    if unit_price < 0:
        raise PricingRuleError("price_negative", f"unit price cannot be negative ({unit_price})",
                               {"field": "unit_price"})
    if not ZERO <= discount < ONE:
        raise PricingRuleError("discount_out_of_range",
                               f"discount is a fraction from 0 up to (not including) 1, not {discount}",
                               {"field": "discount"})
    if not ZERO <= tax_rate < ONE:
        raise PricingRuleError("tax_rate_out_of_range",
                               f"tax rate is a fraction from 0 up to (not including) 1 (13 % = 0.13), "
                               f"not {tax_rate}", {"field": "tax_rate"})
    if unit_cost is not None and unit_cost < 0:
        raise PricingRuleError("cost_negative", f"unit cost cannot be negative ({unit_cost})",
                               {"field": "unit_cost"})


def price_line(line: Line) -> PricedLine:
    """Net, tax, gross, cost and margin of one line, each rounded to the cent."""
    net = money(line.quantity * line.unit_price * (ONE - line.discount))
    tax = money(net * line.tax_rate)
    cost = None if line.unit_cost is None else money(line.quantity * line.unit_cost)
    margin = None if cost is None else net - cost
    for field, value in (("net", net), ("gross", net + tax), ("cost", cost), ("margin", margin)):
        check_amount(value, field)
    return PricedLine(net=net, tax=tax, gross=net + tax, cost=cost, margin=margin)


def totals(lines: Iterable[Line | PricedLine]) -> Totals:
    """Sums of the priced lines (``Line``s are priced first); an empty order totals 0."""
    priced = [line if isinstance(line, PricedLine) else price_line(line) for line in lines]
    net = sum((p.net for p in priced), ZERO)
    tax = sum((p.tax for p in priced), ZERO)
    cost_known = all(p.cost is not None for p in priced)
    cost = sum((p.cost for p in priced), ZERO) if cost_known else None
    margin = None if cost is None else net - cost
    margin_rate = None if margin is None else ratio(margin, net)
    for field, value in (("net", net), ("gross", net + tax), ("cost", cost), ("margin", margin)):
        check_amount(value, f"total {field}")
    return Totals(net=money(net), tax=money(tax), gross=money(net + tax), cost=None if cost is None else money(cost),
                  margin=None if margin is None else money(margin), margin_rate=margin_rate)
