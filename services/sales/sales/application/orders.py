"""Orders: placement with partner, customer and credit checks, changes, the lifecycle.

The application layer: plain functions taking a unit of work and already-validated input
(``guanxi_common.contracts.sales.orders``). Each applies the pure rules of ``sales.domain`` (pricing,
credit, order lifecycle), records every status change as an ``OrderTransition`` with
actor, request id and time, and emits the events other services react to through
``uow.emit`` — all in the caller's transaction (call them inside ``with uow:``).

Decisions worth knowing:
- Partners are read from sales' own customer replica only, so orders and credit checks
  work while the customer service is down.
- Credit exposure is the payer's (``sales.adapters.repository.exposure``): the gross of its orders in
  ``domain.orders.EXPOSURE_STATES`` — credit_hold, confirmed and shipped; orders on hold
  count because each may still be released — plus the outstanding amount of its unpaid
  invoices, in the payer's credit currency. An order in another currency is refused under
  a warn/block policy (rule ``currency_mismatch``): sales converts no currencies. The
  payer's replica row is locked while checking, so two orders of one payer are checked
  one after the other.
- A warn outcome confirms the order and keeps the warning (``credit_note``, and the
  ``order.confirmed`` event's ``credit.warning``). A hold outcome puts it on credit_hold.
- A change of lines that raises the value re-runs the check on the increase
  (``domain.credit.check_increase``). A confirmed order whose new value is over the limit
  under the block policy goes back to credit_hold (a credit decision, recorded as a
  transition like any other; the lifecycle table has no such user command). A held order
  whose value falls stays on hold: only a credit manager releases it.
- A product without a known unit cost is costed at 0 on the line (the order columns
  ``cost``/``margin`` are required), so its margin equals its net.
- Idempotency (scope ``order.place``): the first answer's order is stored with the key in
  the same transaction; a retry with the same key and body returns that order (as it is
  now) and creates nothing; the same key with another body is a Conflict.
"""
import uuid
from decimal import Decimal

from guanxi_common import access, idempotency
from guanxi_common.clock import utcnow
from guanxi_common.errors import BusinessRuleViolation, NotFound, ValidationFailed
from guanxi_common.errors import domain_rules as rules
from sales.access import ensure_write
from sales.adapters import records
from sales.adapters.document_numbers import next_number
from sales.adapters.models import CustomerReplica, Order, OrderLine, OrderTransition, Quote, idempotency_keys
from sales.adapters.repository import (exposure, find_customer, find_order, find_quote_of_order,
                                       sold_to_of)
from sales.adapters.repository import find_product as catalogue_product
from sales.domain import credit as credit_rules
from sales.domain import orders as order_rules
from sales.domain import pricing

PLACE_SCOPE = "order.place"
#: who may release an order from credit hold (admins and the system actor always may)
CREDIT_RELEASERS = ("credit_manager",)
PARTNER_FUNCTIONS = order_rules.PARTNER_FUNCTIONS
ZERO = Decimal("0.00")


# ---- shared helpers (billing uses them too) ----------------------------------------------------

def new_id():
    return str(uuid.uuid4())


def office_today(now=None):
    """Today's date in the office's time zone (invoices and due dates are office dates)."""
    return records.office_today(now)


def transition(uow, order, new_status, reason=None, credit_outcome=None):
    """Move ``order`` to ``new_status`` and record who, when and why.

    ``credit_outcome`` is given only by the credit re-check of a value rise, the one caller
    allowed the confirmed → credit_hold re-hold (see module doc)."""
    old = order.status
    if not order_rules.is_credit_rehold(old, new_status, credit_outcome):
        with rules(order=order.number):
            order_rules.check_transition(old, new_status)
    now = utcnow()
    order.status = new_status
    order.version += 1
    order.updated_at = now
    order.transitions.append(OrderTransition(
        from_status=old, to_status=new_status, actor_id=uow.actor.user_id,
        request_id=uow.actor.request_id, reason=reason, at=now))
    return old


def emit(uow, event_type, order, **extra):
    """An ``order.*`` event: ``{"order": <the order without transitions>, ...extra}``."""
    data = {"order": records.order_record(uow.session, order, transitions=False)}
    data.update(extra)
    return uow.emit(event_type, "order", order.id, data, number=order.number, version=order.version)


def ensure_order_write(uow, order):
    customer = sold_to_of(uow.session, order)
    ensure_write(uow.actor, customer)
    return customer


# ---- customers and partners --------------------------------------------------------------------

def _survivor_number(session, customer):
    if not customer.merged_into_id:
        return True if customer.status == "merged" else False
    survivor = session.get(CustomerReplica, customer.merged_into_id)
    return survivor.number if survivor is not None else customer.merged_into_id


def check_can_order(session, customer, function):
    merged = _survivor_number(session, customer)
    with rules(customer=customer.number, function=function):
        order_rules.check_customer_can_order(customer.status, merged=merged, erased=customer.erased)


def resolve_partners(session, data, sold_to, actor=None):
    """``{function: CustomerReplica}``: the named parties, else the sold-to where it holds
    the role; a function neither named nor fillable by the sold-to is a ValidationFailed
    naming the field. Each party must hold its function's role and be allowed to order.

    With ``actor``, each named party must be one the actor may act for, as the sold-to:
    the order bills it, ships to it and books its credit. One the actor may not see
    answers like an unknown customer."""
    partners, missing = {"sold_to": sold_to}, {}
    roles = set(sold_to.roles or [])
    for function in PARTNER_FUNCTIONS[1:]:
        ref = data.get(function)
        if ref is None:
            if function in roles:
                partners[function] = sold_to
            else:
                missing[function] = [f"required: the sold-to {sold_to.number} does not hold the "
                                     f"role {function}, so name a party that does"]
            continue
        if ref in (sold_to.number, sold_to.id):
            partners[function] = sold_to
            continue
        partners[function] = find_customer(session, ref)
        if actor is not None:
            ensure_write(actor, partners[function], ref, field=function)
    if missing:
        raise ValidationFailed("; ".join(f"{f}: {r[0]}" for f, r in missing.items()), missing)
    checked = set()
    for function in PARTNER_FUNCTIONS:
        customer = partners[function]
        if customer.id not in checked:
            checked.add(customer.id)
            check_can_order(session, customer, function)
    roles_by_function = {f: list(partners[f].roles or []) for f in PARTNER_FUNCTIONS}
    refs = {f: partners[f].number for f in PARTNER_FUNCTIONS}
    violations = order_rules.check_partner_roles(roles_by_function, refs, raise_error=False)
    if violations:
        function, number = violations[0]
        with rules(function=function, customer=number):
            order_rules.check_partner_roles(roles_by_function, refs)
    return partners


# ---- pricing -----------------------------------------------------------------------------------

def find_product(session, ref):
    """The catalogue's lookup (id, or SKU in any case); None when unknown, so the caller
    names the order line in its error."""
    try:
        return catalogue_product(session, ref)
    except NotFound:
        return None


def check_quote(session, quote, sold_to, order_id=None):
    """The quote whose agreed prices an order may carry: the sold-to's own, not rejected,
    not expired, and not yet turned into another order."""
    detail = {"quote": quote.number, "customer": sold_to.number}
    if quote.customer_id != sold_to.id:
        raise BusinessRuleViolation(f"quote {quote.number} was made for another customer",
                                    {"rule": "quote_customer_mismatch", **detail})
    if quote.status in ("draft", "rejected", "expired") or quote.valid_until < office_today():
        status = "expired" if quote.status != "rejected" and quote.valid_until < office_today() \
            else quote.status
        raise BusinessRuleViolation(f"quote {quote.number} is {status}: its prices cannot be used",
                                    {"rule": f"quote_{status}", **detail})
    if quote.order_id and quote.order_id != order_id:
        raise BusinessRuleViolation(f"quote {quote.number} was already turned into an order",
                                    {"rule": "quote_already_ordered", **detail})


def price_lines(session, lines, currency, quote=None):
    """``[(OrderLine, PricedLine)]`` priced from the products (a snapshot of list price, unit
    cost and tax rate); a ``unit_price`` is honoured only with a quote. Unknown products
    and prices without a quote are ValidationFailed naming the line's field; inactive
    products and products in another currency are business rule violations."""
    errors, made = {}, []
    for index, line in enumerate(lines):
        product = find_product(session, line["product"])
        if product is None:
            errors[f"lines.{index}.product"] = [f"unknown product {line['product']!r}"]
            continue
        if line.get("unit_price") is not None and quote is None:
            errors[f"lines.{index}.unit_price"] = ["a unit price is accepted only with a quote_id "
                                                   "(the quote's agreed price)"]
            continue
        if line.get("unit_price") is not None and not _agreed_in(quote, product, line):
            errors[f"lines.{index}.unit_price"] = [
                f"quote {quote.number} has no line for {product.sku} at this price and discount"]
            continue
        made.append((index, line, product))
    if errors:
        raise ValidationFailed("invalid order lines", errors)
    result = []
    for position, (index, line, product) in enumerate(made, start=1):
        where = {"line": index, "product": product.sku}
        if not product.active:
            raise BusinessRuleViolation(f"product {product.sku} is no longer sold",
                                        {"rule": "product_inactive", **where})
        if product.currency != currency:
            raise BusinessRuleViolation(
                f"product {product.sku} is priced in {product.currency}, the order is in {currency}",
                {"rule": "currency_mismatch", **where})
        unit_price = line["unit_price"] if line.get("unit_price") is not None else product.list_price
        with rules(**where):
            spec = pricing.Line(product.id, line["quantity"], unit_price, line.get("discount") or 0,
                                product.tax_rate, product.unit_cost)
            priced = pricing.price_line(spec)
        cost = priced.cost if priced.cost is not None else ZERO
        result.append(OrderLine(
            position=position, product_id=product.id, sku=product.sku, description=product.name,
            quantity=spec.quantity, unit_price=spec.unit_price, discount=spec.discount,
            tax_rate=spec.tax_rate, unit_cost=spec.unit_cost, net=priced.net, tax=priced.tax,
            gross=priced.gross, cost=cost, margin=priced.net - cost))
    return result


def _agreed_in(quote, product, line):
    """Whether the quote agreed this price (and discount) for this product: an order may
    carry a quote's prices, never prices the quote does not hold."""
    discount = line.get("discount") or 0
    return any(q.product_id == product.id and q.unit_price == line["unit_price"]
               and q.discount == discount for q in quote.lines)


def apply_totals(order, lines):
    order.net = sum((l.net for l in lines), ZERO)
    order.tax = sum((l.tax for l in lines), ZERO)
    order.gross = sum((l.gross for l in lines), ZERO)
    order.cost = sum((l.cost for l in lines), ZERO)
    order.margin = order.net - order.cost
    for field in ("net", "gross", "cost", "margin"):
        if abs(getattr(order, field)) > pricing.AMOUNT_LIMIT:
            raise BusinessRuleViolation(f"the order's {field} would be more than "
                                        f"{pricing.AMOUNT_LIMIT}",
                                        {"rule": "amount_too_large", "field": field})


# ---- credit ------------------------------------------------------------------------------------

def _credit_currency_check(payer, currency):
    if payer.credit_policy != credit_rules.NONE and currency != (payer.credit_currency or "CNY"):
        raise BusinessRuleViolation(
            f"the payer {payer.number}'s credit is in {payer.credit_currency}, the order is in "
            f"{currency}: sales does not convert currencies for the credit check",
            {"rule": "currency_mismatch", "customer": payer.number, "function": "payer"})


def credit_check(session, payer, amount, currency, exclude_order=None, old_amount=None):
    """The domain's decision for an order of ``amount`` (or a rise from ``old_amount``)."""
    _credit_currency_check(payer, currency)
    payer_exposure = exposure(session, payer.id, currency=payer.credit_currency or "CNY",
                              exclude_order_id=exclude_order)
    with rules(customer=payer.number, function="payer"):
        if old_amount is None:
            return credit_rules.check_credit(payer.credit_policy, payer.credit_limit, payer_exposure,
                                            amount)
        return credit_rules.check_increase(payer.credit_policy, payer.credit_limit, payer_exposure,
                                           old_amount, amount)


def _store_decision(order, decision):
    order.credit_outcome = decision.outcome
    order.credit_exposure = decision.exposure_after
    order.credit_limit = decision.limit
    order.credit_note = None if decision.outcome == credit_rules.PASS else decision.reason


def credit_data(order):
    return {"outcome": order.credit_outcome,
            "exposure": None if order.credit_exposure is None else str(order.credit_exposure),
            "limit": None if order.credit_limit is None else str(order.credit_limit),
            "warning": order.credit_note if order.credit_outcome == credit_rules.WARNED else None,
            "note": order.credit_note}


# ---- commands ----------------------------------------------------------------------------------

def _idempotent_request(data):
    return {k: v for k, v in data.items() if k != "idempotency_key"}


def _recall_order(session, key, data):
    if not key:
        return None
    stored = idempotency.recall(session, idempotency_keys, PLACE_SCOPE, key, _idempotent_request(data))
    return None if stored is None else find_order(session, stored["id"])


def place_order(uow, data):
    """Place an order (see the module doc); returns the Order."""
    session, actor = uow.session, uow.actor
    key = data.get("idempotency_key")
    replayed = _recall_order(session, key, data)
    if replayed is not None:
        return replayed
    sold_to = find_customer(session, data["sold_to"])
    ensure_write(actor, sold_to, data["sold_to"], field="sold_to")
    partners = resolve_partners(session, data, sold_to, actor)
    # the payer's row is locked until commit: its exposure must not move during the check
    find_customer(session, partners["payer"].id, for_update=True)
    replayed = _recall_order(session, key, data)   # a concurrent first use committed meanwhile
    if replayed is not None:
        return replayed
    quote = None
    if data.get("quote_id"):
        quote = find_quote_of_order(session, data["quote_id"])
        check_quote(session, quote, sold_to)
    lines = price_lines(session, data["lines"], data["currency"], quote)
    now = utcnow()
    order = Order(id=new_id(), number=next_number(session, "SO", now), sold_to_id=sold_to.id,
                  ship_to_id=partners["ship_to"].id, bill_to_id=partners["bill_to"].id,
                  payer_id=partners["payer"].id, owner_id=sold_to.owner_id, region=sold_to.province,
                  quote_id=quote.id if quote else None, currency=data["currency"],
                  ordered_at=now, created_by=actor.user_id, version=1, created_at=now,
                  updated_at=now, status=order_rules.CONFIRMED, credit_outcome=credit_rules.PASS)
    order.lines = lines
    apply_totals(order, lines)
    if quote is not None:
        quote.order_id = order.id  # a quote's prices back one order only
    decision = credit_check(session, partners["payer"], order.gross, order.currency)
    _store_decision(order, decision)
    with rules():
        order.status = order_rules.initial_state(decision.outcome)
    order.transitions.append(OrderTransition(
        from_status=None, to_status=order.status, actor_id=actor.user_id,
        request_id=actor.request_id, reason=order.credit_note, at=now))
    session.add(order)
    session.flush()
    emit(uow, "order.placed", order, credit=credit_data(order))
    if order.status == order_rules.CREDIT_HOLD:
        emit(uow, "order.credit_held", order, credit=credit_data(order))
    else:
        emit(uow, "order.confirmed", order, credit=credit_data(order), released=False)
    if key:
        idempotency.remember(session, idempotency_keys, PLACE_SCOPE, key, _idempotent_request(data),
                             {"id": order.id, "number": order.number,
                              "order": records.order_record(session, order, transitions=False)})
    return order


def release_order(uow, ref, reason):
    """credit_hold → confirmed by a credit manager (or admin/system), with a reason."""
    session, actor = uow.session, uow.actor
    access.ensure_role(actor, *CREDIT_RELEASERS, action="release an order from credit hold")
    with rules():
        reason = order_rules.check_release_reason(reason)
    order = find_order(session, ref, for_update=True)
    ensure_order_write(uow, order)
    if order.status != order_rules.CREDIT_HOLD:
        raise BusinessRuleViolation(f"order {order.number} is {order.status}, not on credit hold",
                                    {"rule": "transition_not_allowed", "order": order.number,
                                     "from": order.status, "to": order_rules.CONFIRMED})
    transition(uow, order, order_rules.CONFIRMED, reason=reason)
    order.released_by, order.released_at, order.release_reason = actor.user_id, order.updated_at, reason
    session.flush()
    emit(uow, "order.released", order, reason=reason, released_by=actor.user_id)
    emit(uow, "order.confirmed", order, credit=credit_data(order), released=True)
    return order


def change_order_lines(uow, ref, lines):
    """Replace the lines of a credit_hold or confirmed order; a rise in value re-runs the
    credit check on the increase (a confirmed order may go back on credit hold)."""
    session = uow.session
    order = find_order(session, ref, for_update=True)
    ensure_order_write(uow, order)
    with rules(order=order.number):
        order_rules.check_editable(order.status)
    payer = find_customer(session, order.payer_id, for_update=True)
    quote = session.get(Quote, order.quote_id) if order.quote_id else None
    new_lines = price_lines(session, lines, order.currency, quote)
    old_gross = order.gross
    order.lines.clear()
    session.flush()
    order.lines.extend(new_lines)
    apply_totals(order, new_lines)
    held = False
    if order.gross > old_gross:
        decision = credit_check(session, payer, order.gross, order.currency, exclude_order=order.id,
                                old_amount=old_gross)
        _store_decision(order, decision)
        if decision.outcome == credit_rules.HOLD and order.status == order_rules.CONFIRMED:
            transition(uow, order, order_rules.CREDIT_HOLD, reason=decision.reason,
                       credit_outcome=decision.outcome)
            held = True
    if not held:
        order.version += 1
        order.updated_at = utcnow()
    session.flush()
    emit(uow, "order.changed", order, old_gross=str(old_gross), new_gross=str(order.gross),
         credit=credit_data(order))
    if held:
        emit(uow, "order.credit_held", order, credit=credit_data(order))
    return order


def cancel_order(uow, ref, reason):
    """credit_hold or confirmed → cancelled, with a reason."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("a cancellation needs a reason", {"reason": ["required"]})
    order = find_order(uow.session, ref, for_update=True)
    ensure_order_write(uow, order)
    old = transition(uow, order, order_rules.CANCELLED, reason=reason)
    uow.session.flush()
    emit(uow, "order.cancelled", order, reason=reason, from_status=old)
    return order


def ship_order(uow, ref):
    """confirmed → shipped."""
    order = find_order(uow.session, ref, for_update=True)
    ensure_order_write(uow, order)
    transition(uow, order, order_rules.SHIPPED)
    uow.session.flush()
    emit(uow, "order.shipped", order)
    return order


def close_order(uow, ref, reason=None):
    """paid → closed: nothing more will happen on the order (only a paid one closes, so
    closing never hides an unpaid invoice)."""
    order = find_order(uow.session, ref, for_update=True)
    ensure_order_write(uow, order)
    transition(uow, order, order_rules.CLOSED, reason=reason)
    uow.session.flush()
    emit(uow, "order.closed", order, reason=reason)
    return order
