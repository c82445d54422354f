"""Quotes: priced lines, a validity date, draft → sent → accepted / rejected, expired.

- Lines name a product (SKU or id), a quantity, a unit price (default: the product's list
  price) and a discount; they are priced by ``domain.pricing`` (net per line to the cent,
  tax on the rounded net, totals = sums of the lines) with the product's tax rate and cost.
- A quote not yet decided (draft or sent) is *expired* once its ``valid_until`` office day
  (Asia/Shanghai) has passed: reads show ``expired``, and sending or accepting it is
  refused (rule ``quote_expired``) — the customer gets a new quote with today's terms.
- Accepting a sent quote places an order for its customer with the quote's agreed unit
  prices and discounts (``orders.place_order`` with ``quote_id``) in the same transaction,
  keeps the order id on the quote and emits ``quote.accepted``.
"""
import uuid
from datetime import timedelta

from guanxi_common.clock import utcnow
from guanxi_common.errors import BusinessRuleViolation, NotFound, domain_rules
from sales.access import ensure_opportunity_write, ensure_quote_write, ensure_write
from sales.adapters import records
from sales.adapters.document_numbers import next_number
from sales.adapters.models import CustomerReplica, Quote, QuoteLine
from sales.adapters.repository import QUOTE_PREFIX, find_customer, find_opportunity, find_product, find_quote
from sales.application import orders
from sales.application.opportunities import ensure_customer_usable
from sales.domain import pricing
from sales.domain.money import money
from sales.domain.quotes import ACCEPTED, DEFAULT_VALIDITY_DAYS, DRAFT, EXPIRED, REJECTED, SENT

NUMBER_PREFIX = QUOTE_PREFIX


def office_today():
    return records.office_today()


def _refuse(message, rule, quote, **details):
    raise BusinessRuleViolation(message, {"rule": rule, "quote": quote.number, **details})


def _line(session, index, spec, currency):
    field = f"lines.{index}.product"
    try:
        product = find_product(session, spec["product"])
    except NotFound:
        raise NotFound(f"product {spec['product']} not found",
                       {"product": spec["product"], "field": field}) from None
    if not product.active:
        raise BusinessRuleViolation(f"product {product.sku} is not sold any more",
                                    {"rule": "product_inactive", "product": product.sku, "field": field})
    if product.currency != currency:
        raise BusinessRuleViolation(f"product {product.sku} is priced in {product.currency}, "
                                    f"the quote in {currency}",
                                    {"rule": "currency_mismatch", "product": product.sku, "field": field})
    unit_price = spec["unit_price"] if spec.get("unit_price") is not None else product.list_price
    with domain_rules():
        line = pricing.Line(product_id=product.id, quantity=spec["quantity"], unit_price=unit_price,
                            discount=spec.get("discount") or 0, tax_rate=product.tax_rate,
                            unit_cost=product.unit_cost)
        priced = pricing.price_line(line)
    row = QuoteLine(position=index + 1, product_id=product.id, sku=product.sku,
                    description=(spec.get("description") or product.name)[:200],
                    quantity=line.quantity, unit_price=money(line.unit_price), discount=line.discount,
                    tax_rate=line.tax_rate, unit_cost=line.unit_cost,
                    net=priced.net, tax=priced.tax, gross=priced.gross)
    return row, priced


def create_quote(uow, data):
    session, actor = uow.session, uow.actor
    customer = find_customer(session, data["customer"])
    ensure_write(actor, customer)
    ensure_customer_usable(customer)
    owner, opportunity_id = actor.user_id, None
    if data.get("opportunity"):
        opportunity = find_opportunity(session, data["opportunity"])
        ensure_opportunity_write(actor, opportunity)
        if opportunity.customer_id != customer.id:
            raise BusinessRuleViolation(f"opportunity {opportunity.number} is for another customer",
                                        {"rule": "opportunity_customer_mismatch",
                                         "opportunity": opportunity.number})
        if opportunity.status != "open":
            raise BusinessRuleViolation(f"opportunity {opportunity.number} is {opportunity.status}",
                                        {"rule": "opportunity_closed", "opportunity": opportunity.number})
        owner, opportunity_id = opportunity.owner_id, opportunity.id
    today = office_today()
    valid_until = data.get("valid_until") or today + timedelta(days=DEFAULT_VALIDITY_DAYS)
    if valid_until < today:
        raise BusinessRuleViolation(f"valid_until {valid_until} is in the past",
                                    {"rule": "valid_until_past", "field": "valid_until"})
    currency = data.get("currency") or "CNY"
    rows, priced = [], []
    for index, spec in enumerate(data["lines"]):
        row, line_price = _line(session, index, spec, currency)
        rows.append(row)
        priced.append(line_price)
    with domain_rules():
        total = pricing.totals(priced)
    now = utcnow()
    quote = Quote(id=str(uuid.uuid4()), number=next_number(session, NUMBER_PREFIX, now),
                  customer_id=customer.id, opportunity_id=opportunity_id, owner_id=owner,
                  currency=currency, valid_until=valid_until, status=DRAFT,
                  net=total.net, tax=total.tax, gross=total.gross, version=1,
                  created_at=now, updated_at=now, lines=rows)
    session.add(quote)
    session.flush()
    return quote


def _decidable(quote, today):
    if records.quote_status(quote, today) == EXPIRED:
        _refuse(f"quote {quote.number} expired on {quote.valid_until}", "quote_expired", quote,
                valid_until=quote.valid_until.isoformat())


def _touch(quote, status):
    quote.status = status
    quote.version += 1
    quote.updated_at = utcnow()


def send_quote(uow, ref):
    quote = find_quote(uow.session, ref, for_update=True)
    ensure_quote_write(uow.session, uow.actor, quote)
    _decidable(quote, office_today())
    if quote.status != DRAFT:
        _refuse(f"quote {quote.number} is {quote.status}; only a draft is sent", "quote_not_draft",
                quote, status=quote.status)
    _touch(quote, SENT)
    uow.session.flush()
    return quote


def accept_quote(uow, ref, partners=None):
    """Accept a sent, unexpired quote: place its order in this transaction, at the quote's
    prices. ``partners`` may name the ship-to, bill-to and payer (each defaults to the
    quote's customer where it holds that role). → (quote, order)"""
    partners = partners or {}
    session = uow.session
    quote = find_quote(session, ref, for_update=True)
    ensure_quote_write(session, uow.actor, quote)
    _decidable(quote, office_today())
    if quote.status != SENT:
        _refuse(f"quote {quote.number} is {quote.status}; only a sent quote is accepted",
                "quote_not_sent", quote, status=quote.status)
    customer = session.get(CustomerReplica, quote.customer_id)
    ensure_customer_usable(customer)
    order = orders.place_order(uow, {
        "sold_to": customer.id, "ship_to": partners.get("ship_to"),
        "bill_to": partners.get("bill_to"), "payer": partners.get("payer"),
        "currency": quote.currency, "quote_id": quote.id,
        "lines": [{"product": line.product_id, "quantity": line.quantity,
                   "unit_price": line.unit_price, "discount": line.discount}
                  for line in quote.lines]})
    quote.order_id = order.id
    _touch(quote, ACCEPTED)
    session.flush()
    uow.emit("quote.accepted", "quote", quote.id, {
        "quote_id": quote.id, "number": quote.number, "customer_id": quote.customer_id,
        "opportunity_id": quote.opportunity_id, "owner_id": quote.owner_id,
        "currency": quote.currency, "net": str(money(quote.net)), "tax": str(money(quote.tax)),
        "gross": str(money(quote.gross)), "order_id": order.id, "order_number": order.number,
        "order_status": order.status}, number=quote.number, version=quote.version)
    return quote, order


def reject_quote(uow, ref):
    quote = find_quote(uow.session, ref, for_update=True)
    ensure_quote_write(uow.session, uow.actor, quote)
    if quote.status != SENT:
        _refuse(f"quote {quote.number} is {quote.status}; only a sent quote is rejected",
                "quote_not_sent", quote, status=quote.status)
    _touch(quote, REJECTED)
    uow.session.flush()
    return quote
