"""Customer 360: one answer with what the customer and sales services know about a customer.

``GET /customers/{number}/360`` and ``GET /lookup?phone=...`` (any written form of a phone
number) fan the reads out in parallel with ``rpc_pool().gather`` -- each section with its
own pooled client and the caller's ``Actor`` -- and answer within the RPC timeout whatever
the services do. A section whose service is down or too slow comes back as
``{"available": false, "error": "<service> unavailable"}`` while the others are served;
every other error (unknown customer, out of the caller's scope, invalid input) is the
answer itself, as problem+json.

Sections: ``profile`` (customer.get) and what is derived from it (``roles``, ``owner``),
``relationships`` (customer.relationships, in force today), ``open_orders``
(sales.list_orders for each open status: on hold, confirmed, shipped, invoiced),
``receivables`` (sales.list_invoices, open and partially paid) and ``recent_activities``
(sales.list_activities, newest first).
"""
from decimal import Decimal

from flask import Blueprint
from nameko.exceptions import RpcTimeout, UnknownService

from guanxi_common.contracts.enums import OPEN_ORDER_STATES, UNPAID_INVOICE_STATUSES
from guanxi_common.errors import NotFound, ServiceUnavailable
from guanxi_common.identifiers import is_customer_number

from gateway.api import customer_schemas as s
from gateway.app import rpc_pool
from gateway.http import endpoint
from gateway.rpc_pool import Unavailable

blueprint = Blueprint("lookup", __name__)

TAG = "customer-360"
ORDERS_SHOWN = 10
INVOICES_SHOWN = 50
ACTIVITIES_SHOWN = 10

#: section -> the service that answers it (for "<service> unavailable").
SECTION_SERVICES = {"profile": "customer", "relationships": "customer",
                    "open_orders": "sales", "receivables": "sales", "recent_activities": "sales"}
_OUTAGES = (ServiceUnavailable, RpcTimeout, UnknownService)


@endpoint(blueprint, "/customers/<number>/360", summary="Customer 360", tags=TAG,
          response=s.Customer360Schema, errors=(403,))
def customer_360(number):
    """Profile, roles, owner, relationships, open orders, receivables and recent activities,
    fetched in parallel. An unavailable service marks its sections unavailable (200)."""
    return build_360(number)


@endpoint(blueprint, "/lookup", summary="Customer 360 by phone", tags=TAG,
          query=s.LookupQuerySchema, response=s.Customer360Schema, errors=(404,))
def lookup_by_phone(query):
    """The customer holding this phone number (any written form: spaces, dashes, +86/0086,
    full-width digits), as ``GET /customers/{number}/360`` answers it. 404 when no customer
    the caller may see holds it."""
    with rpc_pool().client() as rpc:
        found = rpc.customer.search({"phone": query["phone"], "page_size": 1})
    if not found["items"]:
        raise NotFound("no customer with this phone number", {"phone": query["phone"]})
    return build_360(found["items"][0]["number"])


def build_360(number):
    number = number.strip()
    if is_customer_number(number):
        number = number.upper()  # the sales service matches numbers exactly
    calls = {
        "profile": lambda rpc: rpc.customer.get(number),
        "relationships": lambda rpc: rpc.customer.relationships(number, False),
        "recent_activities": lambda rpc: rpc.sales.list_activities(
            {"customer": number, "page_size": ACTIVITIES_SHOWN}),
    }
    for state in OPEN_ORDER_STATES:
        calls[f"orders:{state}"] = _orders(number, state)
    for state in UNPAID_INVOICE_STATUSES:
        calls[f"invoices:{state}"] = _invoices(number, state)
    results = rpc_pool().gather(calls)
    _raise_refusals(results)

    answer = {"number": number}
    profile = results["profile"]
    if isinstance(profile, Unavailable):
        for section in ("profile", "roles", "owner"):
            answer[section] = _unavailable("customer")
    else:
        answer["number"] = profile["number"]
        answer["profile"] = {"available": True, "customer": profile}
        answer["roles"] = {"available": True, "items": profile["roles"]}
        answer["owner"] = {"available": True, "owner_id": profile["owner_id"],
                           "in_pool": profile["in_pool"], "owned_since": profile["owned_since"],
                           "last_follow_up_at": profile["last_follow_up_at"]}
    answer["relationships"] = _section(results["relationships"], "customer",
                                       lambda items: {"items": items})
    answer["open_orders"] = _combined(results, "orders", OPEN_ORDER_STATES, _open_orders)
    answer["receivables"] = _combined(results, "invoices", UNPAID_INVOICE_STATUSES, _receivables)
    answer["recent_activities"] = _section(
        results["recent_activities"], "sales",
        lambda page: {"items": page["items"], "total": page["total"]})
    answer["complete"] = all(section.get("available", True) for section in answer.values()
                             if isinstance(section, dict))
    return answer


def _orders(number, state):
    return lambda rpc: rpc.sales.list_orders(
        {"customer": number, "status": state, "page_size": ORDERS_SHOWN})


def _invoices(number, state):
    return lambda rpc: rpc.sales.list_invoices(
        {"customer": number, "status": state, "page_size": INVOICES_SHOWN})


def _is_outage(error):
    return isinstance(error, _OUTAGES)


def _raise_refusals(results):
    """A service that answered with an error (not found, forbidden, invalid) answers the
    request: the profile's first, as it says whether the customer exists for the caller."""
    ordered = ["profile"] + [name for name in results if name != "profile"]
    for name in ordered:
        result = results[name]
        if isinstance(result, Unavailable) and not _is_outage(result.error):
            raise result.error


def _unavailable(service):
    return {"available": False, "error": f"{service} unavailable"}


def _section(result, service, shape):
    if isinstance(result, Unavailable):
        return _unavailable(service)
    return {"available": True, **shape(result)}


def _combined(results, prefix, states, shape):
    pages = [results[f"{prefix}:{state}"] for state in states]
    if any(isinstance(page, Unavailable) for page in pages):
        return _unavailable("sales")
    return {"available": True, **shape(pages)}


def _open_orders(pages):
    items = sorted((item for page in pages for item in page["items"]),
                   key=lambda item: item.get("ordered_at") or "", reverse=True)
    return {"items": items[:ORDERS_SHOWN], "total": sum(page["total"] for page in pages)}


def _receivables(pages):
    items = sorted((item for page in pages for item in page["items"]),
                   key=lambda item: (item.get("due_date") or "", item.get("number") or ""))
    outstanding = {}
    for item in items:
        currency = item.get("currency") or "CNY"
        outstanding[currency] = outstanding.get(currency, Decimal("0")) + Decimal(
            str(item.get("outstanding") or "0"))
    return {"items": items, "total": sum(page["total"] for page in pages),
            "outstanding": {currency: f"{amount:.2f}" for currency, amount in outstanding.items()}}
