"""Orders, credit control, invoices and payments on a real database (SQLite and
PostgreSQL), without the broker: each rule of issue #3 shown on known figures."""
import json
import uuid
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from guanxi_common.errors import (BusinessRuleViolation, Conflict, Forbidden, NotFound,
                                  ValidationFailed)
from guanxi_common.messaging_models import outbox_events
from guanxi_common.validation import load
from sales.adapters import records, repository
from sales.application import billing, orders
from sales.domain.credit import Exposure
from sales.queries import billing as billing_queries
from sales.queries import orders as order_queries
from sales.adapters.models import Invoice, Order, OrderTransition, Payment, Product, Quote, QuoteLine
from guanxi_common.contracts.sales.billing import PaymentSchema
from guanxi_common.contracts.sales.orders import OrderLinesSchema, PlaceOrderSchema

from sales_testkit import ADMIN, CREDIT, MANAGER, REP, REP2, add_customer

D = Decimal


# ---- helpers ----------------------------------------------------------------------------------

def add_product(uow, sku=None, price="1.00", cost="0.50", tax_rate="0", active=True, currency="CNY"):
    now = datetime.now(timezone.utc)
    with uow:
        product = Product(id=str(uuid.uuid4()), sku=sku or f"SKU-{uuid.uuid4().hex[:8]}",
                          name=f"产品 {sku or 'x'}", unit="pcs", currency=currency,
                          list_price=D(price), unit_cost=None if cost is None else D(cost),
                          tax_rate=D(tax_rate), active=active, created_at=now, updated_at=now)
        uow.session.add(product)
    return product


def customer(uow, **fields):
    with uow:
        return add_customer(uow.session, **fields)


def place(uow, sold_to, lines, **fields):
    """``lines``: [(product, quantity)] or dicts; money and quantities as strings."""
    payload = {"sold_to": sold_to.number if hasattr(sold_to, "number") else sold_to,
               "lines": [line if isinstance(line, dict) else
                         {"product": line[0].sku, "quantity": str(line[1])} for line in lines]}
    for key, value in fields.items():
        payload[key] = value.number if hasattr(value, "number") else value
    data = load(PlaceOrderSchema(), payload)
    with uow:
        return orders.place_order(uow, data)


def pay(uow, invoice, amount, **fields):
    data = load(PaymentSchema(), {"invoice": invoice, "amount": amount, **fields})
    with uow:
        return billing.record_payment(uow, data)


def invoiced(uow, order, terms_days=30, issue_date=None):
    with uow:
        orders.ship_order(uow, order.number)
    with uow:
        return billing.issue_invoice(uow, order.number, terms_days, issue_date)


def events(uow, event_type=None):
    rows = uow.session.execute(select(outbox_events.c.payload).order_by(outbox_events.c.id)).all()
    uow.session.rollback()
    found = [json.loads(r[0]) for r in rows]
    return [e for e in found if event_type is None or e["type"] == event_type]


def rule_of(excinfo):
    return excinfo.value.details["rule"]


@pytest.fixture
def unit(sales_uow):
    """A product at 1.00 without tax: a quantity of 2999.99 is an order of 2,999.99."""
    return add_product(sales_uow(ADMIN), sku="UNIT", price="1.00", cost="0.40")


def payer_with_history(sales_uow, unit, policy, limit="10000.00"):
    """A customer with an open order of 4,000.00 and an unpaid invoice of 3,000.00."""
    uow = sales_uow(ADMIN)
    payer = customer(uow, credit_limit=limit, credit_policy=policy)
    open_order = place(uow, payer, [(unit, "4000")])
    billed = place(uow, payer, [(unit, "3000")])
    invoice = invoiced(uow, billed)
    assert open_order.status == "confirmed" and invoice.outstanding == D("3000.00")
    assert repository.exposure(uow.session, payer.id) == Exposure(D("4000.00"), D("3000.00"))
    return payer


# ---- credit -----------------------------------------------------------------------------------

@pytest.mark.parametrize("policy", ["block", "warn"])
def test_credit_exposure_spans_open_orders_and_unpaid_invoices(sales_uow, unit, policy):
    uow = sales_uow(ADMIN)
    results = {}
    for amount in ("2999.99", "3000.00", "3000.01"):
        payer = payer_with_history(sales_uow, unit, policy)
        order = place(uow, payer, [(unit, amount)])
        results[amount] = order
    assert results["2999.99"].status == "confirmed" and results["2999.99"].credit_outcome == "pass"
    assert results["3000.00"].status == "confirmed" and results["3000.00"].credit_outcome == "pass"
    assert results["3000.00"].credit_exposure == D("10000.00")
    over = results["3000.01"]
    assert over.credit_exposure == D("10000.01") and over.credit_limit == D("10000.00")
    if policy == "block":
        assert over.status == "credit_hold" and over.credit_outcome == "hold"
        held = events(uow, "order.credit_held")
        assert [e["aggregate"]["number"] for e in held] == [over.number]
        assert held[0]["data"]["credit"]["exposure"] == "10000.01"
    else:
        assert over.status == "confirmed" and over.credit_outcome == "warn"
        assert "exceeds the credit limit 10000.00 by 0.01" in over.credit_note
        confirmed = [e for e in events(uow, "order.confirmed") if e["aggregate"]["number"] == over.number]
        assert confirmed[0]["data"]["credit"]["warning"] == over.credit_note
        assert not events(uow, "order.credit_held")
    transitions = over.transitions
    assert [(t.from_status, t.to_status, t.actor_id) for t in transitions] == \
        [(None, over.status, "admin-1")]


def test_paid_part_of_an_invoice_no_longer_counts_and_policy_none_never_holds(sales_uow, unit):
    uow = sales_uow(ADMIN)
    payer = payer_with_history(sales_uow, unit, "block")
    invoice = uow.session.scalars(select(Invoice).where(Invoice.customer_id == payer.id)).one()
    pay(uow, invoice.number, "0.01")
    assert place(uow, payer, [(unit, "3000.01")]).status == "confirmed"
    free = customer(uow, credit_limit="10", credit_policy="none")
    assert place(uow, free, [(unit, "99999")]).status == "confirmed"
    nolimit = customer(uow, credit_limit=None, credit_policy="block")
    assert place(uow, nolimit, [(unit, "1")]).status == "credit_hold"


def test_held_orders_count_as_exposure_cancelled_ones_do_not(sales_uow, unit):
    uow = sales_uow(ADMIN)
    payer = customer(uow, credit_limit="1000.00", credit_policy="block")
    held = place(uow, payer, [(unit, "1000.01")])
    assert held.status == "credit_hold"
    assert place(uow, payer, [(unit, "1")]).status == "credit_hold"   # the held 1000.01 counts
    with uow:
        orders.cancel_order(uow, held.number, "customer changed its mind")
    assert place(uow, payer, [(unit, "998")]).status == "confirmed"   # 1.00 held + 998 + ...


def test_release_by_a_credit_manager_only_with_a_reason(sales_uow, unit):
    payer = customer(sales_uow(ADMIN), credit_limit="100.00", credit_policy="block")
    order = place(sales_uow(REP), payer, [(unit, "150")])
    assert order.status == "credit_hold"
    for actor in (MANAGER, REP):
        uow = sales_uow(actor)
        with pytest.raises(Forbidden):
            with uow:
                orders.release_order(uow, order.number, "good customer")
    uow = sales_uow(CREDIT)
    with pytest.raises(BusinessRuleViolation) as err:
        with uow:
            orders.release_order(uow, order.number, "  ")
    assert rule_of(err) == "release_reason_required"
    with uow:
        released = orders.release_order(uow, order.number, "担保函已收到 (guarantee received)")
    assert released.status == "confirmed" and released.released_by == "cm-1"
    last = released.transitions[-1]
    assert (last.from_status, last.to_status, last.actor_id, last.reason) == \
        ("credit_hold", "confirmed", "cm-1", "担保函已收到 (guarantee received)")
    assert last.at is not None
    assert [e["type"] for e in events(uow) if e["aggregate"]["number"] == order.number] == \
        ["order.placed", "order.credit_held", "order.released", "order.confirmed"]
    released_event = events(uow, "order.released")[0]
    assert released_event["actor"]["user_id"] == "cm-1"
    assert released_event["data"]["reason"].startswith("担保函")
    with pytest.raises(BusinessRuleViolation) as err:   # a confirmed order is not on hold
        with uow:
            orders.release_order(uow, order.number, "again")
    assert rule_of(err) == "transition_not_allowed"


def test_a_value_rise_rechecks_credit(sales_uow, unit):
    uow = sales_uow(ADMIN)
    payer = customer(uow, credit_limit="1000.00", credit_policy="block")
    order = place(uow, payer, [(unit, "800")])
    assert order.status == "confirmed"

    def change(quantity):
        lines = load(OrderLinesSchema(), {"lines": [{"product": unit.sku, "quantity": quantity}]})["lines"]
        with uow:
            return orders.change_order_lines(uow, order.number, lines)

    assert change("1000").status == "confirmed"          # up to the limit: still fine
    assert change("900").status == "confirmed"           # a decrease is never re-checked
    changed = change("1000.01")
    assert changed.status == "credit_hold" and changed.gross == D("1000.01")
    assert changed.credit_exposure == D("1000.01")
    assert changed.transitions[-1].to_status == "credit_hold"
    assert "rises from 900.00 to 1000.01" in changed.transitions[-1].reason
    assert [e["aggregate"]["number"] for e in events(uow, "order.credit_held")] == [order.number]
    assert events(uow, "order.changed")[-1]["data"]["new_gross"] == "1000.01"
    assert change("10").status == "credit_hold"          # only a credit manager releases it

    warned_payer = customer(uow, credit_limit="100.00", credit_policy="warn")
    warned = place(uow, warned_payer, [(unit, "50")])
    lines = load(OrderLinesSchema(), {"lines": [{"product": unit.sku, "quantity": "150"}]})["lines"]
    with uow:
        warned = orders.change_order_lines(uow, warned.number, lines)
    assert warned.status == "confirmed" and warned.credit_outcome == "warn"
    assert "exceeds the credit limit" in warned.credit_note
    with uow:
        orders.ship_order(uow, warned.number)
    with pytest.raises(BusinessRuleViolation) as err:
        with uow:
            orders.change_order_lines(uow, warned.number, lines)
    assert rule_of(err) == "order_not_editable"


# ---- partners and customers -------------------------------------------------------------------

def test_partners_default_to_the_sold_to_where_it_holds_the_role(sales_uow, unit):
    uow = sales_uow(ADMIN)
    sold_to = customer(uow)
    order = place(uow, sold_to, [(unit, "1")])
    assert {order.sold_to_id, order.ship_to_id, order.bill_to_id, order.payer_id} == {sold_to.id}
    record = records.order_record(uow.session, order)
    assert record["payer"]["number"] == sold_to.number


def test_partner_roles_are_checked(sales_uow, unit):
    uow = sales_uow(ADMIN)
    shop = customer(uow, roles=("sold_to", "bill_to", "payer"))
    with pytest.raises(ValidationFailed) as err:
        place(uow, shop, [(unit, "1")])
    assert list(err.value.details) == ["ship_to"]
    not_a_ship_to = customer(uow, roles=("sold_to",))
    with pytest.raises(BusinessRuleViolation) as err:
        place(uow, shop, [(unit, "1")], ship_to=not_a_ship_to)
    assert rule_of(err) == "partner_role_missing"
    assert err.value.details["function"] == "ship_to"
    assert err.value.details["customer"] == not_a_ship_to.number
    warehouse = customer(uow, roles=("ship_to",))
    order = place(uow, shop, [(unit, "1")], ship_to=warehouse)
    assert order.ship_to_id == warehouse.id and order.payer_id == shop.id
    with pytest.raises(BusinessRuleViolation) as err:     # the sold-to itself needs sold_to
        place(uow, warehouse, [(unit, "1")], bill_to=shop, payer=shop)
    assert rule_of(err) == "partner_role_missing" and err.value.details["function"] == "sold_to"


def test_the_credit_check_uses_the_payers_limit(sales_uow, unit):
    uow = sales_uow(ADMIN)
    branch = customer(uow, roles=("sold_to", "ship_to", "bill_to"), credit_limit="1000000",
                      credit_policy="block")
    head_office = customer(uow, roles=("payer",), credit_limit="100.00", credit_policy="block")
    order = place(uow, branch, [(unit, "100.01")], payer=head_office)
    assert order.status == "credit_hold" and order.credit_limit == D("100.00")
    assert repository.exposure(uow.session, head_office.id).open_orders == D("100.01")
    assert repository.exposure(uow.session, branch.id).open_orders == D("0.00")


@pytest.mark.parametrize("state, rule", [
    ({"status": "blocked"}, "customer_blocked"),
    ({"status": "lost"}, "customer_lost"),
    ({"status": "merged"}, "customer_merged"),
    ({"status": "active", "erased": True}, "customer_erased"),
])
def test_blocked_lost_merged_and_erased_customers_are_refused(sales_uow, unit, state, rule):
    uow = sales_uow(ADMIN)
    if state.get("status") == "merged":
        survivor = customer(uow)
        state = dict(state, merged_into_id=survivor.id)
    refused = customer(uow, **state)
    with pytest.raises(BusinessRuleViolation) as err:
        place(uow, refused, [(unit, "1")])
    assert rule_of(err) == rule and err.value.details["customer"] == refused.number
    if rule == "customer_merged":
        assert err.value.details["merged_into"] == survivor.number
    good = customer(uow, roles=("sold_to", "ship_to", "bill_to"))
    with pytest.raises(BusinessRuleViolation) as err:     # as payer too
        place(uow, good, [(unit, "1")], payer=refused)
    assert rule_of(err) == rule and err.value.details["function"] == "payer"
    assert uow.session.scalar(select(func.count()).select_from(Order)) == 0


def test_unknown_customers_and_products(sales_uow, unit):
    uow = sales_uow(ADMIN)
    with pytest.raises(NotFound):
        place(uow, "C09999999", [(unit, "1")])
    buyer = customer(uow)
    with pytest.raises(ValidationFailed) as err:
        place(uow, buyer, [(unit, "1"), {"product": "NO-SUCH", "quantity": "1"}])
    assert list(err.value.details) == ["lines.1.product"]
    old = add_product(uow, sku="OLD", active=False)
    with pytest.raises(BusinessRuleViolation) as err:
        place(uow, buyer, [(old, "1")])
    assert rule_of(err) == "product_inactive" and err.value.details["product"] == "OLD"
    with pytest.raises(ValidationFailed) as err:     # a price of its own needs a quote
        place(uow, buyer, [{"product": unit.sku, "quantity": "1", "unit_price": "0.10"}])
    assert list(err.value.details) == ["lines.0.unit_price"]
    with pytest.raises(ValidationFailed) as err:
        load(PlaceOrderSchema(), {"sold_to": buyer.number, "lines": [
            {"product": "X", "quantity": "0", "discount": "1"}], "colour": "red"})
    assert set(err.value.details) == {"lines.0.quantity", "lines.0.discount", "colour"}


# ---- pricing ------------------------------------------------------------------------------------

def test_lines_are_priced_from_products_and_the_snapshot_is_kept(sales_uow):
    uow = sales_uow(ADMIN)
    buyer = customer(uow)
    widget = add_product(uow, sku="WIDGET", price="100.00", cost="60.00", tax_rate="0.13")
    order = place(uow, buyer, [{"product": "WIDGET", "quantity": "3", "discount": "0.1"}])
    line = order.lines[0]
    assert (line.unit_price, line.unit_cost, line.tax_rate) == (D("100.00"), D("60.00"), D("0.1300"))
    assert (order.net, order.tax, order.gross, order.cost, order.margin) == \
        (D("270.00"), D("35.10"), D("305.10"), D("180.00"), D("90.00"))
    with uow:
        product = uow.session.get(Product, widget.id)
        product.list_price, product.unit_cost, product.tax_rate = D("120.00"), D("70.00"), D("0.09")
    record = order_queries.get_order(uow.session, ADMIN, order.number)
    assert record["lines"][0]["unit_price"] == "100.00" and record["lines"][0]["tax_rate"] == "0.1300"
    assert record["gross"] == "305.10" and record["margin"] == "90.00"
    assert place(uow, buyer, [(widget, "1")]).lines[0].unit_price == D("120.00")


def add_quote(uow, customer, status="accepted", valid_until=date(2099, 12, 31), agreed=()):
    """A quote holding ``agreed`` lines: (product, unit price) pairs."""
    now = datetime.now(timezone.utc)
    with uow:
        quote = Quote(id=str(uuid.uuid4()), number=f"QT-{uuid.uuid4().hex[:8]}", customer_id=customer.id,
                      owner_id="rep-1", currency="CNY", valid_until=valid_until, status=status,
                      net=D("0"), tax=D("0"), gross=D("0"), version=1, created_at=now, updated_at=now)
        quote.lines = [QuoteLine(position=i, product_id=product.id, sku=product.sku,
                                 description=product.name, quantity=D("1"), unit_price=D(price),
                                 discount=D("0"), tax_rate=product.tax_rate, net=D(price),
                                 tax=D("0"), gross=D(price))
                       for i, (product, price) in enumerate(agreed, start=1)]
        uow.session.add(quote)
    return quote


def test_a_quotes_agreed_price_is_honoured_for_its_customer_only(sales_uow):
    uow = sales_uow(ADMIN)
    buyer, other = customer(uow), customer(uow)
    tea = add_product(uow, sku="TEA", price="100.00", cost="55.00", tax_rate="0.13")
    quote = add_quote(uow, buyer, agreed=[(tea, "88.00")])
    line = {"product": "TEA", "quantity": "10", "unit_price": "88.00"}
    with pytest.raises(ValidationFailed) as err:  # a price the quote does not hold
        place(uow, buyer, [dict(line, unit_price="1.00")], quote_id=quote.number)
    assert "lines.0.unit_price" in err.value.details
    order = place(uow, buyer, [line], quote_id=quote.number)
    assert order.lines[0].unit_price == D("88.00") and order.net == D("880.00")
    assert order.quote_id == quote.id and order.margin == D("330.00")
    with pytest.raises(BusinessRuleViolation) as err:  # one quote backs one order
        place(uow, buyer, [line], quote_id=quote.number)
    assert rule_of(err) == "quote_already_ordered"
    with pytest.raises(BusinessRuleViolation) as err:
        place(uow, other, [line], quote_id=add_quote(uow, buyer, agreed=[(tea, "88.00")]).id)
    assert rule_of(err) == "quote_customer_mismatch"
    stale = add_quote(uow, buyer, status="sent", valid_until=date(2020, 1, 1),
                      agreed=[(tea, "88.00")])
    with pytest.raises(BusinessRuleViolation) as err:
        place(uow, buyer, [line], quote_id=stale.number)
    assert rule_of(err) == "quote_expired"
    assert tea.list_price == D("100.00")


# ---- lifecycle and authorization -----------------------------------------------------------------

def test_lifecycle_moves_are_checked_and_recorded(sales_uow, unit):
    uow = sales_uow(ADMIN)
    buyer = customer(uow, credit_limit="10", credit_policy="block")
    held = place(uow, buyer, [(unit, "20")])
    with pytest.raises(BusinessRuleViolation) as err:
        with uow:
            orders.ship_order(uow, held.number)
    assert rule_of(err) == "transition_not_allowed"
    with pytest.raises(ValidationFailed):
        with uow:
            orders.cancel_order(uow, held.number, "")
    with uow:
        cancelled = orders.cancel_order(uow, held.number, "duplicate order")
    assert cancelled.status == "cancelled"
    assert events(uow, "order.cancelled")[0]["data"]["from_status"] == "credit_hold"
    other = place(uow, customer(uow), [(unit, "5")])
    with pytest.raises(BusinessRuleViolation) as err:     # invoice only what was shipped
        with uow:
            billing.issue_invoice(uow, other.number)
    assert rule_of(err) == "transition_not_allowed"
    invoiced(uow, other)
    with pytest.raises(BusinessRuleViolation) as err:
        with uow:
            orders.cancel_order(uow, other.number, "too late")
    assert rule_of(err) == "transition_not_allowed"
    rows = uow.session.scalars(select(OrderTransition).where(OrderTransition.order_id == other.id)
                               .order_by(OrderTransition.id)).all()
    assert [(t.from_status, t.to_status) for t in rows] == \
        [(None, "confirmed"), ("confirmed", "shipped"), ("shipped", "invoiced")]
    assert all(t.actor_id == "admin-1" and t.request_id == "req-admin" for t in rows)


def test_record_level_authorization(sales_uow, unit):
    mine = customer(sales_uow(ADMIN), owner_id="rep-1", province="广东")
    elsewhere = customer(sales_uow(ADMIN), owner_id="rep-9", province="北京")
    order = place(sales_uow(REP), mine, [(unit, "1")])
    with pytest.raises(NotFound):  # a sold-to out of scope answers as an unknown customer
        place(sales_uow(REP2), mine, [(unit, "1")])
    with pytest.raises(Forbidden):
        order_queries.get_order(sales_uow(REP2).session, REP2, order.number)
    assert order_queries.get_order(sales_uow(MANAGER).session, MANAGER, order.number)["number"] == order.number
    place(sales_uow(ADMIN), elsewhere, [(unit, "2")])
    listed = order_queries.list_orders(sales_uow(MANAGER).session, MANAGER, {"page": 1, "page_size": 20})
    assert [o["number"] for o in listed["items"]] == [order.number] and listed["total"] == 1
    assert order_queries.list_orders(sales_uow(REP2).session, REP2, {})["total"] == 0
    everything = order_queries.list_orders(sales_uow(ADMIN).session, ADMIN, {"status": "confirmed"})
    assert everything["total"] == 2
    assert order_queries.list_orders(sales_uow(ADMIN).session, ADMIN, {"customer": elsewhere.number})["items"][0][
        "sold_to"] == elsewhere.number
    assert order_queries.list_orders(sales_uow(ADMIN).session, ADMIN, {"owner": "rep-9"})["total"] == 1
    uow = sales_uow(REP2)
    with pytest.raises(Forbidden):
        with uow:
            orders.ship_order(uow, order.number)


# ---- idempotency ----------------------------------------------------------------------------------

def test_an_order_retried_under_its_key_is_placed_once(sales_uow, unit):
    uow = sales_uow(ADMIN)
    buyer = customer(uow)
    first = place(uow, buyer, [(unit, "3")], idempotency_key="po-4711")
    again = place(uow, buyer, [(unit, "3")], idempotency_key="po-4711")
    assert again.id == first.id and again.number == first.number
    assert uow.session.scalar(select(func.count()).select_from(Order)) == 1
    assert len(events(uow, "order.placed")) == 1
    with pytest.raises(Conflict):
        place(uow, buyer, [(unit, "4")], idempotency_key="po-4711")


def test_payments_partial_overpayment_idempotency_and_paid_order(sales_uow, unit):
    uow = sales_uow(ADMIN)
    buyer = customer(uow)
    order = place(uow, buyer, [(unit, "1000")])
    invoice = invoiced(uow, order, terms_days=30, issue_date=date(2026, 1, 31))
    assert invoice.due_date == date(2026, 3, 2) and invoice.status == "open"
    assert invoice.customer_id == buyer.id and invoice.amount == D("1000.00")
    issued = events(uow, "invoice.issued")[0]["data"]["invoice"]
    assert issued["order"] == order.number and issued["due_date"] == "2026-03-02"

    first = pay(uow, invoice.number, "400.00", idempotency_key="bank-123", method="bank_transfer",
                received_at="2026-02-10T09:30:00+08:00")
    answer = records.payment_record(uow.session, first)
    again = pay(uow, invoice.number, "400.00", idempotency_key="bank-123", method="bank_transfer",
                received_at="2026-02-10T09:30:00+08:00")
    assert records.payment_record(uow.session, again) == answer
    assert uow.session.scalar(select(func.count()).select_from(Payment)) == 1
    with pytest.raises(Conflict):
        pay(uow, invoice.number, "500.00", idempotency_key="bank-123")
    uow.session.expire_all()
    record = billing_queries.get_invoice(uow.session, ADMIN, invoice.number)
    assert (record["status"], record["paid_amount"], record["outstanding"]) == \
        ("partially_paid", "400.00", "600.00")
    assert [p["number"] for p in record["payments"]] == [first.number]
    assert answer["received_at"].startswith("2026-02-10T01:30:00")

    with pytest.raises(BusinessRuleViolation) as err:
        pay(uow, invoice.id, "600.01")
    assert rule_of(err) == "overpayment" and err.value.details["invoice"] == invoice.number
    with pytest.raises(ValidationFailed) as err:
        load(PaymentSchema(), {"invoice": invoice.number, "amount": "10.005"})
    assert list(err.value.details) == ["amount"]
    pay(uow, invoice.number, "600.00")
    uow.session.expire_all()
    assert uow.session.get(Invoice, invoice.id).status == "paid"
    assert uow.session.get(Order, order.id).status == "paid"
    received = events(uow, "payment.received")
    assert len(received) == 2
    assert received[-1]["data"]["invoice"]["status"] == "paid"
    assert received[-1]["data"]["order"]["status"] == "paid"
    assert received[0]["data"]["payment"]["amount"] == "400.00"
    with pytest.raises(BusinessRuleViolation) as err:
        pay(uow, invoice.number, "0.01")
    assert rule_of(err) == "overpayment"
    listed = billing_queries.list_invoices(uow.session, ADMIN, {"status": "paid"})
    assert [i["number"] for i in listed["items"]] == [invoice.number]
    with uow:  # paid, so it may close; the transition is recorded and announced
        closed = orders.close_order(uow, order.number, "settled")
    assert (closed.status, closed.transitions[-1].from_status) == ("closed", "paid")
    assert events(uow, "order.closed")[0]["data"]["reason"] == "settled"


def test_an_unpaid_order_does_not_close(sales_uow, unit):
    uow = sales_uow(ADMIN)
    order = place(uow, customer(uow), [(unit, "1")])
    with pytest.raises(BusinessRuleViolation) as err:
        with uow:
            orders.close_order(uow, order.number)
    assert rule_of(err) == "transition_not_allowed"


def test_invoices_list_overdue_and_scope(sales_uow, unit):
    uow = sales_uow(ADMIN)
    mine = customer(uow, owner_id="rep-1")
    theirs = customer(uow, owner_id="rep-2")
    late = invoiced(uow, place(uow, mine, [(unit, "10")]), terms_days=0, issue_date=date(2020, 1, 1))
    invoiced(uow, place(uow, theirs, [(unit, "20")]))
    assert [i["number"] for i in billing_queries.list_invoices(uow.session, ADMIN, {"overdue": True})["items"]] == \
        [late.number]
    assert billing_queries.list_invoices(sales_uow(REP).session, REP, {})["items"][0]["number"] == late.number
    assert billing_queries.list_invoices(sales_uow(REP).session, REP, {})["total"] == 1
    with pytest.raises(Forbidden):
        billing_queries.get_invoice(sales_uow(REP2).session, REP2, late.number)


def test_events_carry_the_order(sales_uow, unit):
    uow = sales_uow(REP)
    buyer = customer(sales_uow(ADMIN))
    order = place(uow, buyer, [(unit, "12.5")])
    placed = events(uow, "order.placed")[0]
    assert placed["source"] == "sales" and placed["aggregate"] == {
        "type": "order", "id": order.id, "number": order.number, "version": 1}
    data = placed["data"]["order"]
    assert data["gross"] == "12.50" and data["sold_to"]["number"] == buyer.number
    assert data["lines"][0]["sku"] == "UNIT" and data["lines"][0]["quantity"] == "12.500"
    assert "transitions" not in data and placed["actor"]["user_id"] == "rep-1"
    assert events(uow, "order.confirmed")[0]["data"]["credit"]["outcome"] == "pass"
    with uow:
        orders.ship_order(uow, order.number)
    shipped = events(uow, "order.shipped")[0]
    assert shipped["aggregate"]["version"] == 2 and shipped["data"]["order"]["status"] == "shipped"


def test_concurrent_retries_of_one_payment_record_it_once(sales_uow, unit):
    import eventlet

    uow = sales_uow(ADMIN)
    order = place(uow, customer(uow), [(unit, "500")])
    invoice = invoiced(uow, order)
    threads = [eventlet.spawn(pay, sales_uow(ADMIN), invoice.number, "120.00", idempotency_key="dup-1")
               for _ in range(4)]
    numbers = {thread.wait().number for thread in threads}
    assert len(numbers) == 1
    assert uow.session.scalar(select(func.count()).select_from(Payment)) == 1
    assert uow.session.scalar(select(Invoice.outstanding).where(Invoice.id == invoice.id)) == D("380.00")
