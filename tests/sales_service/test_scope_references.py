"""Customers named inside a sales request are scope-checked like the sold-to: an order's
ship-to, bill-to and payer (also through a quote's acceptance), an opportunity's
customer. One the caller may not see answers exactly like a customer sales does not know."""
import uuid
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from guanxi_common.context import Actor
from guanxi_common.contracts.sales.opportunities import OpportunityCreateSchema
from guanxi_common.contracts.sales.orders import PlaceOrderSchema
from guanxi_common.errors import Forbidden, NotFound
from guanxi_common.validation import load
from sales.adapters.models import Opportunity, Order, Product
from sales.application import opportunities, orders

from sales_testkit import ADMIN, MANAGER, REP, add_customer

AUDITOR = Actor(user_id="aud-1", roles=frozenset({"auditor"}))


@pytest.fixture
def world(sales_uow):
    admin = sales_uow(ADMIN)
    with admin:
        mine = add_customer(admin.session, owner_id="rep-1")
        theirs = add_customer(admin.session, owner_id="rep-2")
        pooled = add_customer(admin.session, owner_id=None)
        now = datetime.now(timezone.utc)
        product = Product(id=str(uuid.uuid4()), sku="SCOPE-1", name="范围产品", unit="pcs",
                          currency="CNY", list_price=Decimal("1.00"), unit_cost=Decimal("0.5"),
                          tax_rate=Decimal("0"), active=True, created_at=now, updated_at=now)
        admin.session.add(product)
    return mine.number, theirs.number, pooled.number


def order(sold_to, **partners):
    return load(PlaceOrderSchema(), {"sold_to": sold_to, **partners,
                                     "lines": [{"product": "SCOPE-1", "quantity": "1"}]})


def place(uow, data):
    with uow:
        return orders.place_order(uow, data)


def refusal(call):
    with pytest.raises((NotFound, Forbidden)) as err:
        call()
    return type(err.value), err.value.message, err.value.details


def orders_of(sales_uow):
    return sales_uow(ADMIN).session.scalar(select(func.count()).select_from(Order))


@pytest.mark.parametrize("function", ["payer", "bill_to", "ship_to"])
def test_a_partner_out_of_scope_is_refused_like_an_unknown_customer(sales_uow, world, function):
    mine, theirs, _ = world
    hidden = refusal(lambda: place(sales_uow(REP), order(mine, **{function: theirs})))
    missing = refusal(lambda: place(sales_uow(REP), order(mine, **{function: "C09999999"})))
    assert hidden == (NotFound, f"customer {theirs} is not known to sales", {"customer": theirs})
    assert missing == (NotFound, "customer C09999999 is not known to sales",
                       {"customer": "C09999999"})
    assert orders_of(sales_uow) == 0


def test_partners_in_scope_still_order(sales_uow, world):
    mine, theirs, pooled = world
    placed = place(sales_uow(REP), order(mine, payer=pooled, ship_to=mine))
    assert placed.status == "confirmed"
    # a manager of the region acts for every customer of it
    assert place(sales_uow(MANAGER), order(mine, payer=theirs)).status == "confirmed"


def test_a_readable_partner_the_caller_may_not_act_for_is_forbidden_naming_the_function(
        sales_uow, world):
    mine, theirs, _ = world
    kind, _, details = refusal(lambda: place(sales_uow(AUDITOR), order(mine, payer=theirs)))
    assert kind is Forbidden and set(details) == {"sold_to"}  # the sold-to is refused first


def test_an_opportunity_for_an_unseen_customer_answers_like_an_unknown_one(sales_uow, world):
    _, theirs, _ = world
    data = load(OpportunityCreateSchema(), {"customer": theirs, "title": "范围", "amount": "10"})
    uow = sales_uow(REP)
    with uow:
        assert refusal(lambda: opportunities.create_opportunity(uow, data)) == (
            NotFound, f"customer {theirs} is not known to sales", {"customer": theirs})
    assert sales_uow(ADMIN).session.scalar(select(func.count()).select_from(Opportunity)) == 0
