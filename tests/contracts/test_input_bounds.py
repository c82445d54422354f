"""The contracts refuse bad input themselves, so an RPC caller meets the same rules as an
HTTP client: Unicode-valid text without control characters, trimmed non-blank names,
bounded free-form JSON, plain bounded decimals (refused, never rounded), bounded pages;
and the bounds keep every total exact."""
import decimal
from decimal import Decimal

import pytest
from marshmallow import ValidationError

from guanxi_common.contracts import compatibility, customer, fields
from guanxi_common.contracts.sales import billing, opportunities, orders, products, quotes, replica
from sales.domain import pricing
from sales.domain.errors import DomainRuleError


def _errors(schema, data, **kwargs):
    try:
        schema.load(data, **kwargs)
    except ValidationError as exc:
        return exc.messages
    return {}


def _create(**changes):
    return {"party_type": "company", "name": "Acme", **changes}


# ---- text -----------------------------------------------------------------------------------

@pytest.mark.parametrize("schema, data, field", [
    (customer.CustomerCreateSchema(), _create(name="\ud800"), "name"),
    (customer.CustomerCreateSchema(), _create(name="Ac\u0000me"), "name"),
    (customer.CustomerCreateSchema(), _create(city="\udfff"), "city"),
    (customer.CustomerCreateSchema(), _create(tags=["ok", "\x00"]), "tags"),
    (customer.CustomerCreateSchema(), _create(phones=[{"value": "\ud800"}]), "phones"),
    (customer.ReleaseRequestSchema(), {"reason": "gone\x1b[31m"}, "reason"),
    (products.ProductCreateSchema(), {"sku": "A-1", "name": "\ud800", "list_price": "1"}, "name"),
    (billing.PaymentSchema(), {"invoice": "INV\x00", "amount": "1"}, "invoice"),
    (orders.PlaceOrderSchema(), {"sold_to": "C1", "lines": [
        {"product": "\ud800", "quantity": "1"}]}, "lines"),
])
def test_strings_are_valid_unicode_without_control_characters(schema, data, field):
    assert field in _errors(schema, data)


def test_free_text_keeps_its_line_breaks_and_tabs():
    loaded = customer.ReleaseRequestSchema().load({"reason": "moved\n\tto Beijing"})
    assert loaded["reason"] == "moved\n\tto Beijing"


@pytest.mark.parametrize("name", ["", " ", "   ", "\t", "\u3000", " \u3000 "])
def test_a_blank_name_is_refused_on_create_and_update(name):
    assert "name" in _errors(customer.CustomerCreateSchema(), _create(name=name))
    assert "name" in _errors(customer.CustomerUpdateSchema(), {"name": name},
                             partial=customer.UPDATABLE)


def test_names_are_trimmed_before_their_length_is_checked():
    assert customer.CustomerCreateSchema().load(_create(name="  华为 "))["name"] == "华为"
    assert "name" in _errors(customer.CustomerCreateSchema(), _create(name="x" * 201))


def test_every_name_the_producer_accepts_the_replica_reads():
    """The structural check, on what the input contract lets through: a name the customer
    service stores (its create and update inputs) is one the sales replica accepts."""
    for schema in (customer.CustomerCreateSchema, customer.CustomerUpdateSchema):
        produced = type("NameOnly", (fields.StrictSchema,), {
            "name": fields.name_text(200, required=True)})
        assert type(schema().fields["name"]) is type(produced().fields["name"])
        reader = type("NameReader", (replica._Reader,), {
            "name": replica.CustomerReplicaIn().fields["name"]})
        assert compatibility.problems(produced, reader) == []
    # the record the producer publishes declares the same bound, which the structural
    # contract test (test_sales_replica) holds the replica to
    record_name = customer.CustomerRecordSchema().fields["name"]
    assert compatibility._bounds(record_name)["min_length"] == 1


# ---- free-form JSON -------------------------------------------------------------------------

@pytest.mark.parametrize("preferences", [
    {"s": float("nan")}, {"s": float("inf")}, {"s": [float("-inf")]},
    {"n": 2 ** 60}, {"k": "\ud800"}, {"\ud800": 1}, {"k": "x" * 2001},
    {"items": list(range(1001))}, {"o": object()},
])
def test_preferences_are_plain_bounded_json(preferences):
    assert "preferences" in _errors(customer.CustomerCreateSchema(),
                                    _create(preferences=preferences))


def test_preferences_nest_a_bounded_number_of_levels():
    deep = current = {}
    for _ in range(40):
        current["a"] = {}
        current = current["a"]
    assert "preferences" in _errors(customer.CustomerCreateSchema(), _create(preferences=deep))
    ok = {"ui": {"theme": "dark", "columns": ["name", "city"], "zoom": 1.5, "pinned": None}}
    assert customer.CustomerCreateSchema().load(_create(preferences=ok))["preferences"] == ok


# ---- decimals -------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["0.001", "1e3", "1E3", " 5.00", "5.00 ", "+5", ".5", "5.",
                                   "-1", "05", "NaN", "Infinity", "1_000", "１２", 12.5,
                                   Decimal("0.001"), Decimal("NaN"), "1000000000000",
                                   "99999999999999999999.99", True])
def test_a_credit_limit_outside_its_pattern_is_refused_not_rounded(value):
    errors = _errors(customer.CreditLimitSchema(), {"credit_limit": value,
                                                    "credit_policy": "block"})
    assert "credit_limit" in errors


@pytest.mark.parametrize("value, loaded", [("0", "0.00"), ("5", "5.00"), ("0.5", "0.50"),
                                           ("999999999999.99", "999999999999.99"),
                                           (Decimal("1E+3"), "1000.00"), (7, "7.00")])
def test_a_credit_limit_in_its_pattern_is_loaded_in_the_column_places(value, loaded):
    data = customer.CreditLimitSchema().load({"credit_limit": value, "credit_policy": "block"})
    assert str(data["credit_limit"]) == loaded


@pytest.mark.parametrize("amount", [" 5.00", "+5", ".5", "1e10", "0", "0.00", "-5", "5.001",
                                    "1000000000000"])
def test_payments_refuse_amounts_outside_their_pattern(amount):
    assert "amount" in _errors(billing.PaymentSchema(), {"invoice": "INV-1", "amount": amount})


@pytest.mark.parametrize("figure, ok", [("-9999999999999999.99", True), ("10000000000000000", False),
                                        ("1.005", False)])
def test_company_figures_are_bounded_by_their_column(figure, ok):
    data = _create(financials=[{"fiscal_year": 2025, "revenue": figure}])
    assert bool(_errors(customer.CustomerCreateSchema(), data)) is not ok


@pytest.mark.parametrize("quantity", ["99999999999999999999", "1000000", "0", "0.000", "0.0001",
                                      "-1", "1e2"])
def test_order_and_quote_quantities_are_bounded(quantity):
    line = {"product": "SKU-1", "quantity": quantity}
    assert "lines" in _errors(orders.PlaceOrderSchema(), {"sold_to": "C1", "lines": [line]})
    assert "lines" in _errors(quotes.QuoteCreateSchema(), {"customer": "C1", "lines": [line]})


def test_probability_is_a_fraction_up_to_one():
    stage = {"code": "won", "name": "Won", "position": 9}
    assert opportunities.StageSchema().load({**stage, "probability": "1"})["probability"] == 1
    assert "probability" in _errors(opportunities.StageSchema(), {**stage, "probability": "1.5"})


def test_the_largest_line_and_order_stay_exact_and_are_refused_past_their_column():
    biggest_quantity = Decimal("999999.999")
    biggest_price = Decimal("999999999999.99")
    with decimal.localcontext() as context:
        context.traps[decimal.Inexact] = True  # any rounding at the bounds is a failure
        net = biggest_quantity * biggest_price * (1 - Decimal("0.0001"))
        context.traps[decimal.Inexact] = False
        net = net.quantize(Decimal("0.01"))  # each line is rounded to the cent (pricing)
        context.traps[decimal.Inexact] = True
        total = net * orders.ORDER_LINES_MAX
        tax = total * Decimal("0.9999")
        assert total + tax > 0
    assert total > pricing.AMOUNT_LIMIT
    with pytest.raises(DomainRuleError) as refused:
        pricing.price_line(pricing.Line("p", biggest_quantity, biggest_price))
    assert refused.value.code == "amount_too_large"
    fits = pricing.Line("p", Decimal("1000"), Decimal("9999999999.99"))
    assert pricing.price_line(fits).net == Decimal("9999999999990.00")
    with pytest.raises(DomainRuleError):
        pricing.totals([fits] * 1001)


# ---- pages ----------------------------------------------------------------------------------

@pytest.mark.parametrize("schema", [customer.SearchSchema, orders.OrderCriteriaSchema,
                                    billing.InvoiceCriteriaSchema, products.ProductPage,
                                    opportunities.OpportunityPage])
@pytest.mark.parametrize("page", [{"page": 10 ** 30}, {"page": 0}, {"page_size": 10 ** 30},
                                  {"page_size": 0}, {"page": fields.MAX_PAGE + 1}])
def test_every_list_bounds_its_page_and_page_size(schema, page):
    assert set(_errors(schema(), page)) & {"page", "page_size"}
