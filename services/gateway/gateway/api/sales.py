"""Sales endpoints: products, pipeline, opportunities, quotes, orders (with credit-hold
release), invoices, payments and activities -- the sales service over RPC
(docs/rpc/sales.md), under ``/api/v1``.

Every view declares itself with ``gateway.http.endpoint``, so its checks, its answer and
its OpenAPI entry come from the schemas of ``gateway.api.sales_schemas`` (the sales
contract, ``guanxi_common.contracts.sales``, with HTTP additions). The caller's
``Actor`` travels in the RPC context (``rpc_pool().client()``), so the sales service
enforces the record-level scope (owner / region) on every call; the gateway checks the
roles it can see without the record (products: ``sales_manager``; release:
``credit_manager``; admin always passes), the service checks them again.

Errors the service raises (``NotFound``, ``Forbidden``, ``Conflict``,
``ValidationFailed``, ``BusinessRuleViolation`` with its ``rule``) come back as the same
classes and leave as problem+json with their details (``gateway.problems``).

**Idempotency.** ``POST /orders`` and ``POST /payments`` take an ``Idempotency-Key``
header, handed to ``place_order`` / ``record_payment`` as ``idempotency_key``. The
service stores the key with the order or payment in the same transaction, so a retry
with the same key and the same body creates nothing and answers the same record: the
order *as it is now*, the payment as recorded (payments never change). The gateway
cannot tell a replay from a first answer, and does not need to: both answer **201
Created** with ``Location`` of the record, so a client that retries after a lost
response sees exactly what the first attempt would have shown. The same key with a
different body is a 409 problem (``idempotency_key``, ``scope``); two concurrent first
uses of a key: one wins, the other gets 409 with ``retry: true``.
"""
from flask import Blueprint, g

from guanxi_common.errors import NotFound

from gateway import owners
from gateway.app import rpc_pool
from gateway.http import IDEMPOTENCY_HEADER, endpoint
from gateway.api import sales_schemas as s
from gateway.api.bodies import sent_body
from gateway.api.sales_schemas import wire

blueprint = Blueprint("sales", __name__)

PRODUCTS, PIPELINE, OPPORTUNITIES, QUOTES = "products", "pipeline", "opportunities", "quotes"
ORDERS, INVOICES, PAYMENTS, ACTIVITIES = "orders", "invoices", "payments", "activities"
PRODUCT_LOOKUP_PAGE = s.PRODUCT_PAGE_MAX


def _sales(method, *args, **kwargs):
    """Call ``sales.<method>`` as the request's actor."""
    with rpc_pool().client() as rpc:
        return getattr(rpc.sales, method)(*args, **kwargs)


def _criteria(query=None, paging=None):
    criteria = wire(dict(query or {}))
    if paging is not None:
        criteria.update(page=paging.page, page_size=paging.page_size)
    return criteria


def _check_owner(body, customers):
    """An owner named in the body other than the caller must be an active user who may hold
    work for each of ``customers`` (refs), judged by the region sales knows them in."""
    owner_id = body.get("owner_id")
    if owner_id is None or owner_id == g.actor.user_id:
        return
    for ref in dict.fromkeys(customers):
        owners.ensure_may_hold(owner_id,
                               lambda ref=ref: _sales("replica_customer", ref).get("province"))


def _location(path, number, idempotency_key=None):
    headers = {"Location": f"/api/v1/{path}/{number}"}
    if idempotency_key is not None:
        headers[IDEMPOTENCY_HEADER] = idempotency_key
    return headers


# ---- products ---------------------------------------------------------------------------

@endpoint(blueprint, "/products", ["GET"], summary="List products", tags=[PRODUCTS],
          query=s.ProductQuerySchema, response=s.ProductSchema, paginated=True)
def list_products(query, paging):
    """SKU order. ``active``: active products (default), inactive ones, or ``all``."""
    criteria = _criteria(query, paging)
    criteria["active"] = {"true": True, "false": False, "all": None}[criteria["active"]]
    return _sales("list_products", criteria)


@endpoint(blueprint, "/products", ["POST"], summary="Create a product", tags=[PRODUCTS],
          body=s.ProductCreateSchema, response=s.ProductSchema, status=201,
          roles=["sales_manager"], errors=(409,))
def create_product(body):
    """The SKU is stored trimmed and upper-case; a taken SKU is a 409."""
    product = _sales("create_product", sent_body(body))
    return product, 201, _location("products", product["sku"])


def _find_product(sku):
    wanted = sku.strip().upper()
    page = 1
    while 0 < len(wanted) <= 40:
        found = _sales("list_products", {"q": wanted, "active": None,
                                         "page": page, "page_size": PRODUCT_LOOKUP_PAGE})
        for item in found["items"]:
            if item["sku"].upper() == wanted:
                return item
        if page * PRODUCT_LOOKUP_PAGE >= found["total"]:
            break
        page += 1
    raise NotFound(f"product {sku} not found", {"product": sku})


@endpoint(blueprint, "/products/<sku>", ["GET"], summary="Get a product", tags=[PRODUCTS],
          response=s.ProductSchema)
def get_product(sku):
    """By SKU (any case); inactive products too."""
    return _find_product(sku)


@endpoint(blueprint, "/products/<sku>", ["PATCH"], summary="Change a product",
          tags=[PRODUCTS], body=s.ProductUpdateSchema, response=s.ProductSchema,
          roles=["sales_manager"], errors=(409,))
def update_product(sku, body):
    """Only the fields sent change; ``active: false`` deactivates (an inactive product
    cannot be quoted or ordered). Price changes do not touch existing quotes or orders."""
    return _sales("update_product", sku, sent_body(body))


# ---- pipeline and opportunities ---------------------------------------------------------

@endpoint(blueprint, "/pipeline", ["GET"], summary="The pipeline's stages", tags=[PIPELINE],
          response=s.StageSchema, many=True)
def pipeline():
    """By position."""
    return _sales("pipeline")


@endpoint(blueprint, "/opportunities", ["GET"], summary="List opportunities",
          tags=[OPPORTUNITIES], query=s.OpportunityQuerySchema,
          response=s.OpportunitySummarySchema, paginated=True)
def list_opportunities(query, paging):
    """Newest first; a sales rep sees their own, regional roles their region."""
    return _sales("list_opportunities", _criteria(query, paging))


@endpoint(blueprint, "/opportunities", ["POST"], summary="Create an opportunity",
          tags=[OPPORTUNITIES], body=s.OpportunityCreateSchema, response=s.OpportunitySchema,
          status=201, errors=(404,))
def create_opportunity(body):
    """Starts in the first open stage. Another ``owner_id`` than the caller's must be an
    active user who may hold the customer's work (422 otherwise)."""
    _check_owner(body, [body["customer"]])
    created = _sales("create_opportunity", sent_body(body))
    return created, 201, _location("opportunities", created["number"])


@endpoint(blueprint, "/opportunities/<number>", ["GET"], summary="Get an opportunity",
          tags=[OPPORTUNITIES], response=s.OpportunitySchema)
def get_opportunity(number):
    return _sales("get_opportunity", number)


@endpoint(blueprint, "/opportunities/<number>/stage", ["POST"],
          summary="Move an opportunity to a stage", tags=[OPPORTUNITIES],
          body=s.StageMoveSchema, response=s.OpportunitySchema)
def move_opportunity_stage(number, body):
    """Won and lost are final; a lost stage needs ``lost_reason``."""
    return _sales("move_opportunity_stage", number, body["stage"], body.get("lost_reason"))


@endpoint(blueprint, "/opportunities/<number>/win", ["POST"], summary="Win an opportunity",
          tags=[OPPORTUNITIES], response=s.OpportunitySchema)
def win_opportunity(number):
    return _sales("win_opportunity", number)


@endpoint(blueprint, "/opportunities/<number>/lose", ["POST"], summary="Lose an opportunity",
          tags=[OPPORTUNITIES], body=s.LoseSchema, response=s.OpportunitySchema)
def lose_opportunity(number, body):
    return _sales("lose_opportunity", number, body["reason"])


# ---- quotes -----------------------------------------------------------------------------

@endpoint(blueprint, "/quotes", ["POST"], summary="Create a quote", tags=[QUOTES],
          body=s.QuoteCreateSchema, response=s.QuoteSchema, status=201, errors=(404,))
def create_quote(body):
    """A draft; unit prices default to the list prices, validity to 30 days."""
    quote = _sales("create_quote", sent_body(body))
    return quote, 201, _location("quotes", quote["number"])


@endpoint(blueprint, "/quotes/<number>", ["GET"], summary="Get a quote", tags=[QUOTES],
          response=s.QuoteSchema)
def get_quote(number):
    """``status`` is effective: an undecided quote past its validity reads ``expired``."""
    return _sales("get_quote", number)


@endpoint(blueprint, "/quotes/<number>/send", ["POST"], summary="Send a quote",
          tags=[QUOTES], response=s.QuoteSchema)
def send_quote(number):
    return _sales("send_quote", number)


@endpoint(blueprint, "/quotes/<number>/accept", ["POST"],
          summary="Accept a quote, placing its order", tags=[QUOTES],
          body=s.QuoteAcceptSchema, response=s.QuoteAcceptanceSchema)
def accept_quote(number, body):
    """Places the order (credit-checked: it may start on credit hold) and marks the quote
    accepted, in one transaction. ``partners`` names ship-to, bill-to, payer when the
    quote's customer does not fill those functions itself."""
    return _sales("accept_quote", number, sent_body(body.get("partners") or {}, "partners"))


@endpoint(blueprint, "/quotes/<number>/reject", ["POST"], summary="Reject a quote",
          tags=[QUOTES], response=s.QuoteSchema)
def reject_quote(number):
    return _sales("reject_quote", number)


# ---- orders -----------------------------------------------------------------------------

@endpoint(blueprint, "/orders", ["POST"], summary="Place an order", tags=[ORDERS],
          body=s.OrderCreateSchema, response=s.OrderSchema, status=201, errors=(404, 409),
          idempotent=True)
def place_order(body, idempotency_key):
    """Credit-checked against the payer: ``status`` is ``confirmed`` or ``credit_hold``
    (see ``credit``). With an ``Idempotency-Key`` a retry with the same body answers the
    same order (as it is now) with 201 again and places nothing; the same key with another
    body is a 409."""
    order = sent_body(body)
    if idempotency_key is not None:
        order["idempotency_key"] = idempotency_key
    placed = _sales("place_order", order)
    return placed, 201, _location("orders", placed["number"], idempotency_key)


@endpoint(blueprint, "/orders", ["GET"], summary="List orders", tags=[ORDERS],
          query=s.OrderQuerySchema, response=s.OrderSummarySchema, paginated=True)
def list_orders(query, paging):
    """Newest first; those whose sold-to is in the caller's scope."""
    return _sales("list_orders", _criteria(query, paging))


@endpoint(blueprint, "/orders/<number>", ["GET"], summary="Get an order", tags=[ORDERS],
          response=s.OrderSchema)
def get_order(number):
    return _sales("get_order", number)


@endpoint(blueprint, "/orders/<number>/lines", ["PUT"], summary="Replace an order's lines",
          tags=[ORDERS], body=s.OrderLinesSchema, response=s.OrderSchema)
def change_order_lines(number, body):
    """Only on hold or confirmed. A rise in value is credit-checked again and may put a
    confirmed order back on hold."""
    return _sales("change_order_lines", number, sent_body(body["lines"], "lines"))


@endpoint(blueprint, "/orders/<number>/release", ["POST"],
          summary="Release an order from credit hold", tags=[ORDERS], body=s.ReasonSchema,
          response=s.OrderSchema, roles=["credit_manager"])
def release_order(number, body):
    """Credit managers only (and admins); audited with the reason. No re-check."""
    return _sales("release_order", number, body["reason"])


@endpoint(blueprint, "/orders/<number>/cancel", ["POST"], summary="Cancel an order",
          tags=[ORDERS], body=s.ReasonSchema, response=s.OrderSchema)
def cancel_order(number, body):
    """From credit hold or confirmed."""
    return _sales("cancel_order", number, body["reason"])


@endpoint(blueprint, "/orders/<number>/ship", ["POST"], summary="Ship an order",
          tags=[ORDERS], response=s.OrderSchema)
def ship_order(number):
    """Confirmed → shipped."""
    return _sales("ship_order", number)


@endpoint(blueprint, "/orders/<number>/close", ["POST"], summary="Close a paid order",
          tags=[ORDERS], body=s.CloseSchema, response=s.OrderSchema)
def close_order(number, body):
    return _sales("close_order", number, body.get("reason"))


# ---- invoices and payments --------------------------------------------------------------

@endpoint(blueprint, "/orders/<number>/invoice", ["POST"], summary="Invoice a shipped order",
          tags=[INVOICES], body=s.InvoiceCreateSchema, response=s.InvoiceSchema, status=201,
          errors=(409,))
def issue_invoice(number, body):
    """One invoice per order, for its whole gross, due ``terms_days`` after the issue
    date; a second is a 409 naming the existing one."""
    issue_date = body.get("issue_date")
    invoice = _sales("issue_invoice", number, body["terms_days"],
                     issue_date.isoformat() if issue_date else None)
    return invoice, 201, _location("invoices", invoice["number"])


@endpoint(blueprint, "/invoices", ["GET"], summary="List invoices", tags=[INVOICES],
          query=s.InvoiceQuerySchema, response=s.InvoiceSchema, paginated=True)
def list_invoices(query, paging):
    """Newest issue date first. ``overdue=true``: unpaid and past the due date."""
    return _sales("list_invoices", _criteria(query, paging))


@endpoint(blueprint, "/invoices/<number>", ["GET"], summary="Get an invoice with its payments",
          tags=[INVOICES], response=s.InvoiceDetailSchema)
def get_invoice(number):
    return _sales("get_invoice", number)


@endpoint(blueprint, "/payments", ["POST"], summary="Record a payment", tags=[PAYMENTS],
          body=s.PaymentCreateSchema, response=s.PaymentSchema, status=201,
          errors=(404, 409), idempotent=True)
def record_payment(body, idempotency_key):
    """Partial payments are allowed; more than the outstanding amount is a 422 with rule
    ``overpayment``. With an ``Idempotency-Key`` a retry answers the same payment with 201
    and records nothing."""
    payment = sent_body(body)
    if idempotency_key is not None:
        payment["idempotency_key"] = idempotency_key
    recorded = _sales("record_payment", payment)
    headers = _location("invoices", recorded["invoice"], idempotency_key)
    return recorded, 201, headers


# ---- activities -------------------------------------------------------------------------

@endpoint(blueprint, "/activities", ["GET"], summary="List activities", tags=[ACTIVITIES],
          query=s.ActivityQuerySchema, response=s.ActivitySchema, paginated=True)
def list_activities(query, paging):
    """Newest first. ``due_from``/``due_to``: ``due_at`` in ``[from, to)``."""
    return _sales("list_activities", _criteria(query, paging))


@endpoint(blueprint, "/activities", ["POST"], summary="Plan or log an activity",
          tags=[ACTIVITIES], body=s.ActivityCreateSchema, response=s.ActivitySchema,
          status=201, errors=(404,))
def log_activity(body):
    """Plan one (``due_at``) or log one already done (``done_at`` + ``outcome``). Another
    ``owner_id`` than the caller's must be an active user who may hold the customer's work."""
    _check_owner(body, [body["customer"]])
    return _sales("log_activity", sent_body(body)), 201


@endpoint(blueprint, "/activities/today", ["GET"], summary="Today's and overdue activities",
          tags=[ACTIVITIES], query=s.AgendaQuerySchema, response=s.AgendaSchema)
def activities_today(query):
    """Open activities of the owner (default the caller), by the Asia/Shanghai day."""
    return _sales("activities_today", query.get("owner_id"))


@endpoint(blueprint, "/activities/<activity_id>/complete", ["POST"],
          summary="Complete an activity", tags=[ACTIVITIES], body=s.ActivityCompleteSchema,
          response=s.ActivitySchema)
def complete_activity(activity_id, body):
    return _sales("complete_activity", activity_id, sent_body(body))


@endpoint(blueprint, "/visit-plans", ["POST"], summary="Plan visits for a day",
          tags=[ACTIVITIES], body=s.VisitPlanCreateSchema, response=s.VisitPlanSchema,
          status=201, errors=(404,))
def plan_visits(body):
    """One plan per owner and day: a later call adds visits. Answers the whole plan.
    Another ``owner_id`` than the caller's must be able to hold every visited customer."""
    _check_owner(body, [visit["customer"] for visit in body["visits"]])
    return _sales("plan_visits", sent_body(body)), 201
