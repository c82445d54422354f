from decimal import Decimal

import pytest

from sales.domain.errors import DomainRuleError
from sales.domain.money import money, to_decimal
from sales.domain.pricing import Line, PricedLine, PricingRuleError, Totals, price_line, totals

D = Decimal


def code_of(func, *args, **kwargs):
    with pytest.raises(DomainRuleError) as info:
        func(*args, **kwargs)
    assert info.value.message
    return info.value.code


def test_a_line_is_priced_net_tax_gross_cost_margin():
    # 3 x 19.99 x 0.9 = 53.973 -> 53.97; tax 53.97 x 0.13 = 7.0161 -> 7.02; cost 3 x 12.50
    priced = price_line(Line("p-1", D("3"), D("19.99"), D("0.1"), D("0.13"), D("12.50")))
    assert priced == PricedLine(net=D("53.97"), tax=D("7.02"), gross=D("60.99"), cost=D("37.50"), margin=D("16.47"))


def test_rounding_is_half_up_to_the_cent():
    assert price_line(Line("p", D("1"), D("0.125"), tax_rate=D("0"))).net == D("0.13")  # banker's: 0.12
    # tax on 10.50 at 13 % = 1.365 -> 1.37 (banker's: 1.36)
    priced = price_line(Line("p", D("1"), D("10.50"), tax_rate=D("0.13")))
    assert (priced.tax, priced.gross) == (D("1.37"), D("11.87"))
    assert money("-2.345") == D("-2.35")


def test_tax_is_computed_on_the_rounded_net():
    # net 0.125 -> 0.13; tax on 0.13 at 0.5 = 0.065 -> 0.07 (on the unrounded 0.125 it would be 0.0625 -> 0.06)
    assert price_line(Line("p", D("1"), D("0.125"), tax_rate=D("0.5"))).tax == D("0.07")


def test_fractional_quantities_and_positional_field_order():
    line = Line("p-2", D("2.5"), D("8.00"), D("0"), D("0.09"), D("5"))
    assert (line.tax_rate, line.unit_cost) == (D("0.09"), D("5"))
    assert price_line(line) == PricedLine(D("20.00"), D("1.80"), D("21.80"), D("12.50"), D("7.50"))


def test_values_are_normalised_to_decimal_and_floats_refused():
    line = Line("p", 2, "10.5", "0.1", "0.13", "4")
    assert all(isinstance(v, Decimal) for v in (line.quantity, line.unit_price, line.discount, line.tax_rate))
    assert price_line(line).net == D("18.90")
    assert code_of(Line, "p", 1.5, D("1")) == "invalid_number"
    assert code_of(Line, "p", D("1"), D("1"), tax_rate=0.13) == "invalid_number"
    assert code_of(to_decimal, "NaN") == "invalid_number"


def test_unknown_cost_gives_no_margin():
    priced = price_line(Line("p", D("2"), D("10"), tax_rate=D("0.13")))
    assert (priced.net, priced.cost, priced.margin) == (D("20.00"), None, None)


def test_totals_are_sums_of_the_rounded_lines():
    lines = [Line("a", D("3"), D("19.99"), D("0.1"), D("0.13"), D("12.50")),  # 53.97 / 7.02 / 37.50
             Line("b", D("2"), D("100"), D("0"), D("0.06"), D("80"))]         # 200.00 / 12.00 / 160.00
    result = totals(lines)
    assert result == Totals(net=D("253.97"), tax=D("19.02"), gross=D("272.99"), cost=D("197.50"),
                            margin=D("56.47"), margin_rate=D("0.2223"))  # 56.47 / 253.97 = 0.22235 -> 0.2223(49)
    assert totals([price_line(line) for line in lines]) == result


def test_totals_do_not_round_the_sum_again():
    # three lines of 0.125 -> 0.13 each: 0.39, not round(0.375) = 0.38
    assert totals([Line(str(i), D("1"), D("0.125")) for i in range(3)]).net == D("0.39")


def test_totals_margin_unknown_when_any_cost_is_unknown():
    result = totals([Line("a", D("1"), D("100"), unit_cost=D("60")), Line("b", D("1"), D("50"))])
    assert (result.net, result.cost, result.margin, result.margin_rate) == (D("150.00"), None, None, None)


def test_empty_and_free_orders():
    assert totals([]) == Totals(D("0.00"), D("0.00"), D("0.00"), D("0.00"), D("0.00"), None)
    free = totals([Line("gift", D("1"), D("0"), tax_rate=D("0.13"), unit_cost=D("3"))])
    assert (free.net, free.margin, free.margin_rate) == (D("0.00"), D("-3.00"), None)


def test_a_loss_making_line_has_a_negative_margin():
    result = totals([Line("a", D("10"), D("9"), D("0.2"), D("0"), D("8"))])  # net 72, cost 80
    assert (result.margin, result.margin_rate) == (D("-8.00"), D("-0.1111"))


@pytest.mark.parametrize("quantity", [D("0"), D("-1")])
def test_quantity_must_be_positive(quantity):
    assert code_of(Line, "p", quantity, D("1")) == "quantity_not_positive"


@pytest.mark.parametrize("discount,ok", [(D("0"), True), (D("0.99"), True), (D("1"), False), (D("-0.01"), False),
                                         (D("10"), False)])
def test_discount_range(discount, ok):
    if ok:
        assert Line("p", D("1"), D("100"), discount).discount == discount
    else:
        assert code_of(Line, "p", D("1"), D("100"), discount) == "discount_out_of_range"


def test_price_may_be_zero_but_not_negative():
    assert price_line(Line("p", D("1"), D("0"))).gross == D("0.00")
    assert code_of(Line, "p", D("1"), D("-0.01")) == "price_negative"


@pytest.mark.parametrize("rate,ok", [(D("0"), True), (D("0.13"), True), (D("1"), False), (D("13"), False),
                                     (D("-0.01"), False)])
def test_tax_rate_range(rate, ok):
    if ok:
        assert Line("p", D("1"), D("1"), tax_rate=rate).tax_rate == rate
    else:
        assert code_of(Line, "p", D("1"), D("1"), tax_rate=rate) == "tax_rate_out_of_range"


def test_negative_cost_is_refused_and_errors_name_the_field():
    with pytest.raises(PricingRuleError) as info:
        Line("p", D("1"), D("1"), unit_cost=D("-1"))
    assert info.value.code == "cost_negative" and info.value.details == {"field": "unit_cost"}
    assert isinstance(info.value, ValueError)
