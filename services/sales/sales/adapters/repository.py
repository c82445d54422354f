"""Loading (and locking) sales' aggregates by number or id; NotFound when there is none.

``for_update`` locks the row until the transaction ends (PostgreSQL; SQLite serialises
writers in the unit of work), so a command's read-check-write cannot interleave with
another's.
"""
from decimal import Decimal

from sqlalchemy import func, or_, select

from guanxi_common.errors import NotFound
from guanxi_common.messaging_models import inbox_events
from sales.adapters.models import (Activity, CustomerReplica, Invoice, Opportunity, Order,
                                   PipelineStage, Product, Quote)
from sales.domain import funnel
from sales.domain import orders as order_rules
from sales.domain import receivables
from sales.domain.credit import Exposure

OPPORTUNITY_PREFIX = "OP"
QUOTE_PREFIX = "QT"


def _first(session, stmt, for_update):
    if for_update:
        stmt = stmt.with_for_update()
    return session.scalars(stmt).first()


# ---- customers (the replica) ----------------------------------------------------------------

def find_customer(session, ref, for_update=False):
    """The replica row for a number (C00001234) or id; NotFound when sales does not know it.

    A merged customer is returned as it is (``merged_into_id`` set): callers decide
    whether to refuse it (orders) or to follow the pointer (reports)."""
    ref = (ref or "").strip()
    by_number = ref.upper().startswith("C") and ref[1:].isdigit()
    stmt = select(CustomerReplica).where(CustomerReplica.number == ref.upper() if by_number
                                         else CustomerReplica.id == ref)
    customer = _first(session, stmt, for_update)
    if customer is None:
        raise NotFound(f"customer {ref} is not known to sales", {"customer": ref})
    return customer


def province_of(session, customer_id):
    """The province of a replica customer (None when sales does not know it)."""
    customer = session.get(CustomerReplica, customer_id)
    return customer.province if customer is not None else None


def customer_numbers(session, ids):
    """``{customer id: number}`` of the replica rows of ``ids``."""
    if not ids:
        return {}
    return dict(session.execute(select(CustomerReplica.id, CustomerReplica.number)
                                .where(CustomerReplica.id.in_(ids))).all())


# ---- products -------------------------------------------------------------------------------

def normalize_sku(sku):
    return (sku or "").strip().upper()


def find_product(session, ref):
    """A product by id or SKU (any case); NotFound otherwise."""
    ref = (ref or "").strip()
    product = session.scalars(select(Product).where(
        or_(Product.id == ref, Product.sku == normalize_sku(ref)))).first()
    if product is None:
        raise NotFound(f"product {ref} not found", {"product": ref})
    return product


def sku_taken(session, sku, exclude_id=None):
    stmt = select(Product.id).where(Product.sku == sku)
    if exclude_id:
        stmt = stmt.where(Product.id != exclude_id)
    return session.scalar(stmt) is not None


# ---- pipeline and opportunities -------------------------------------------------------------

def stage_rows(session):
    return session.scalars(select(PipelineStage).order_by(PipelineStage.position,
                                                          PipelineStage.code)).all()


def load_pipeline(session):
    """The configured pipeline as domain stages, in order."""
    return tuple(funnel.Stage(code=row.code, name=row.name, order=row.position,
                              probability=row.probability, is_won=row.is_won,
                              is_lost=row.is_lost)
                 for row in stage_rows(session))


def opportunities_in_stage(session, stage_code):
    return session.scalar(select(func.count()).select_from(Opportunity)
                          .where(Opportunity.stage_code == stage_code))


def find_opportunity(session, ref, for_update=False):
    ref = (ref or "").strip()
    by_number = ref.upper().startswith(OPPORTUNITY_PREFIX + "-")
    stmt = select(Opportunity).where(Opportunity.number == ref.upper() if by_number
                                     else Opportunity.id == ref)
    opportunity = _first(session, stmt, for_update)
    if opportunity is None:
        raise NotFound(f"opportunity {ref} not found", {"opportunity": ref})
    return opportunity


# ---- quotes ---------------------------------------------------------------------------------

def find_quote(session, ref, for_update=False):
    """A quote by number (QT-2026-000001) or id."""
    ref = (ref or "").strip()
    by_number = ref.upper().startswith(QUOTE_PREFIX + "-")
    stmt = select(Quote).where(Quote.number == ref.upper() if by_number else Quote.id == ref)
    quote = _first(session, stmt, for_update)
    if quote is None:
        raise NotFound(f"quote {ref} not found", {"quote": ref})
    return quote


def find_quote_of_order(session, ref):
    """The quote an order names by ``quote_id``: its id or its number in any case."""
    ref = (ref or "").strip()
    quote = session.scalars(select(Quote).where(
        or_(Quote.id == ref, Quote.number.in_({ref, ref.upper()})))).first()
    if quote is None:
        raise NotFound(f"quote {ref} not found", {"quote": ref})
    return quote


# ---- orders, invoices, payments -------------------------------------------------------------

def find_order(session, ref, for_update=False):
    """An order by number (SO-2026-000123) or id; NotFound otherwise."""
    ref = (ref or "").strip()
    order = _first(session, select(Order).where(or_(Order.number == ref.upper(), Order.id == ref)),
                   for_update)
    if order is None:
        raise NotFound(f"order {ref} not found", {"order": ref})
    return order


def sold_to_of(session, order):
    customer = session.get(CustomerReplica, order.sold_to_id)
    if customer is None:  # the FK makes this impossible short of a manual delete
        raise NotFound(f"the sold-to of order {order.number} is not known to sales",
                       {"order": order.number})
    return customer


def find_invoice(session, ref, for_update=False):
    ref = (ref or "").strip()
    invoice = _first(session, select(Invoice).where(or_(Invoice.number == ref.upper(),
                                                        Invoice.id == ref)), for_update)
    if invoice is None:
        raise NotFound(f"invoice {ref} not found", {"invoice": ref})
    return invoice


def invoice_of_order(session, order_id):
    return session.scalars(select(Invoice).where(Invoice.order_id == order_id)).first()


def exposure(session, customer_id, currency="CNY", exclude_order_id=None):
    """What ``customer_id`` (a payer) owes or has ordered, in ``currency``: the gross of its
    orders in ``EXPOSURE_STATES`` (credit_hold, confirmed, shipped: not yet invoiced) and
    the outstanding amount of its unpaid invoices. ``exclude_order_id`` leaves one order
    out (the one being re-checked)."""
    stmt = select(func.coalesce(func.sum(Order.gross), 0)).where(
        Order.payer_id == customer_id, Order.currency == currency,
        Order.status.in_(sorted(order_rules.EXPOSURE_STATES)))
    if exclude_order_id is not None:
        stmt = stmt.where(Order.id != exclude_order_id)
    open_orders = Decimal(session.scalar(stmt) or 0)
    unpaid = Decimal(session.scalar(select(func.coalesce(func.sum(Invoice.outstanding), 0)).where(
        Invoice.customer_id == customer_id, Invoice.currency == currency,
        Invoice.status != receivables.PAID)) or 0)
    return Exposure(open_orders=open_orders.quantize(Decimal("0.01")),
                    unpaid_invoices=unpaid.quantize(Decimal("0.01")))


# ---- activities -----------------------------------------------------------------------------

def find_activity(session, activity_id, for_update=False):
    activity = _first(session, select(Activity).where(Activity.id == (activity_id or "").strip()),
                      for_update)
    if activity is None:
        raise NotFound(f"activity {activity_id} not found", {"activity": activity_id})
    return activity


# ---- the replica's catch-up marker ----------------------------------------------------------

#: "The replica has been caught up once" is kept as a row of the inbox (no table of its
#: own): a fixed key for a fixed consumer, written in the transaction of the last batch.
CATCH_UP_KEY = "customer-replica-catch-up"
CATCH_UP_CONSUMER = "sales.catch_up_replica"
CATCH_UP_TYPE = "replica.caught_up"


def caught_up_at(session):
    """When the replica was first filled from the export (None: not yet)."""
    return session.scalar(select(inbox_events.c.processed_at).where(
        inbox_events.c.event_id == CATCH_UP_KEY, inbox_events.c.consumer == CATCH_UP_CONSUMER))
