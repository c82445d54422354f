"""An amount has at most its currency's decimal places (JPY none, CNY 2), but never more
than the 2 the money columns store; more are refused with the field named, never
rounded."""
from decimal import Decimal

import pytest
from marshmallow import ValidationError

from guanxi_common.contracts import customer, fields
from guanxi_common.contracts.sales import billing, opportunities, orders, products, quotes


def _errors(schema, data, **kwargs):
    try:
        schema.load(data, **kwargs)
    except ValidationError as exc:
        return exc.messages
    return {}


def _credit(limit, currency):
    return {"credit_limit": limit, "credit_currency": currency, "credit_policy": "block"}


def test_jpy_refuses_a_fraction_and_accepts_a_whole_amount():
    schema = customer.CreditLimitSchema()
    assert _errors(schema, _credit("100.5", "JPY")) == {
        "credit_limit": ["JPY has no decimal places"]}
    assert schema.load(_credit("100", "JPY"))["credit_limit"] == Decimal("100")


def test_cny_accepts_two_places_and_refuses_three():
    schema = customer.CreditLimitSchema()
    assert schema.load(_credit("100.50", "CNY"))["credit_limit"] == Decimal("100.50")
    assert "credit_limit" in _errors(schema, _credit("100.501", "CNY"))


def test_a_three_place_currency_is_limited_to_the_two_the_columns_store():
    assert fields.currency_places_limit("BHD") == 2
    assert fields.currency_places_limit("KWD") == 2
    schema = customer.CreditLimitSchema()
    assert schema.load(_credit("100.25", "BHD"))["credit_limit"] == Decimal("100.25")
    assert "credit_limit" in _errors(schema, _credit("100.125", "KWD"))


def test_the_minor_units_come_from_the_currency():
    assert [fields.currency_places_limit(code) for code in ("CNY", "USD", "EUR", "JPY", "KRW")] \
        == [2, 2, 2, 0, 0]


@pytest.mark.parametrize("schema, data, errors", [
    (customer.CustomerCreateSchema(),
     {"party_type": "company", "name": "Acme", "credit_limit": "10.5", "credit_currency": "KRW"},
     {"credit_limit": ["KRW has no decimal places"]}),
    (customer.CustomerCreateSchema(),
     {"party_type": "company", "name": "Acme", "registered_capital": "1000.01",
      "registered_capital_currency": "JPY"},
     {"registered_capital": ["JPY has no decimal places"]}),
    (customer.CustomerCreateSchema(),
     {"party_type": "company", "name": "Acme",
      "financials": [{"fiscal_year": 2024, "currency": "JPY", "revenue": "1.5",
                      "total_assets": "2"}]},
     {"financials": {0: {"revenue": ["JPY has no decimal places"]}}}),
    (products.ProductCreateSchema(),
     {"sku": "A-1", "name": "Widget", "currency": "JPY", "list_price": "100.5",
      "unit_cost": "0.1"},
     {"list_price": ["JPY has no decimal places"], "unit_cost": ["JPY has no decimal places"]}),
    (quotes.QuoteCreateSchema(),
     {"customer": "C1", "currency": "JPY",
      "lines": [{"product": "A-1", "quantity": "1", "unit_price": "100"},
                {"product": "A-2", "quantity": "1", "unit_price": "99.9"}]},
     {"lines": {1: {"unit_price": ["JPY has no decimal places"]}}}),
    (orders.PlaceOrderSchema(),
     {"sold_to": "C1", "currency": "JPY",
      "lines": [{"product": "A-1", "quantity": "1", "unit_price": "0.5"}]},
     {"lines": {0: {"unit_price": ["JPY has no decimal places"]}}}),
    (billing.PaymentSchema(), {"invoice": "INV1", "amount": "5.5", "currency": "JPY"},
     {"amount": ["JPY has no decimal places"]}),
    (opportunities.OpportunityCreateSchema(),
     {"customer": "C1", "title": "Deal", "amount": "1000.10", "currency": "JPY"},
     {"amount": ["JPY has no decimal places"]}),
])
def test_every_amount_next_to_its_currency_has_the_currency_places(schema, data, errors):
    assert _errors(schema, data) == errors


@pytest.mark.parametrize("schema, data, options", [
    (products.ProductCreateSchema(),
     {"sku": "A-1", "name": "Widget", "currency": "JPY", "list_price": "100"}, {}),
    (orders.PlaceOrderSchema(),
     {"sold_to": "C1", "currency": "JPY",
      "lines": [{"product": "A-1", "quantity": "1.5", "unit_price": "100"}]}, {}),
    # the currency is not in the body (the invoice's, the stored one): the service's to check
    (billing.PaymentSchema(), {"invoice": "INV1", "amount": "5.50"}, {}),
    (products.ProductUpdateSchema(), {"list_price": "5.50"}, {"partial": True}),
])
def test_whole_amounts_and_amounts_without_their_currency_pass(schema, data, options):
    assert _errors(schema, data, **options) == {}
