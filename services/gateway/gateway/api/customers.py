"""Customer endpoints: the customer service's RPC contract (docs/rpc/customer.md) as HTTP.

Every view checks its input with the schemas of ``gateway.api.customer_schemas`` (the
service's contract; 422 with field paths), calls the service with a pooled client carrying
the caller's ``Actor`` (``g.actor``, so the service applies the same record-level scope)
and lets the service's typed errors through to the app's problem+json handler. Role checks here are an early,
documented refusal; the service enforces the same rules again.
"""
import logging
import re
from contextlib import contextmanager

from flask import Blueprint, Response, current_app, g, request

from guanxi_common.errors import ValidationFailed

from gateway.api import customer_schemas as s
from gateway.api.bodies import sent_body
from gateway import owners
from gateway.app import rpc_pool
from gateway.http import endpoint
from gateway.roles import ADMIN

log = logging.getLogger(__name__)

blueprint = Blueprint("customers", __name__)

TAG = "customers"
EXPORT_BATCH_SIZE = 1000
EXPORT_CONTENT_TYPES = {"jsonl": "application/x-ndjson; charset=utf-8",
                        "csv": "text/csv; charset=utf-8"}
_IF_MATCH = re.compile(r'^\s*(?:W/)?"?(\d{1,18})"?\s*$')


@contextmanager
def body_fields(argument):
    """The service names fields after its argument (``customer.phones.0.value``); an HTTP
    client sent them as the body, so its paths drop that prefix."""
    try:
        yield
    except ValidationFailed as exc:
        prefix = argument + "."
        details = exc.details if isinstance(exc.details, dict) else {}
        if not any(str(key).startswith(prefix) for key in details):
            raise
        renamed = {(key[len(prefix):] if str(key).startswith(prefix) else key): reasons
                   for key, reasons in details.items()}
        raise ValidationFailed((exc.message or "").replace(prefix, ""), renamed) from None


def etag(record):
    return {"ETag": f'"{record["version"]}"'} if isinstance(record, dict) and "version" in record else {}


# --- customers ----------------------------------------------------------------------------

@endpoint(blueprint, "/customers", "POST", summary="Create a customer", tags=TAG,
          body=s.CustomerCreateSchema, response=s.CustomerCreatedSchema, status=201,
          errors=(403, 409))
def create_customer(body):
    """Hard duplicates (a phone, e-mail or credit code another customer holds) are refused
    with 409 naming ``existing_number``; likely duplicates come back as ``warnings``."""
    with rpc_pool().client() as rpc, body_fields("customer"):
        created = rpc.customer.create(sent_body(body))
    return created, 201, {"Location": f"/api/v1/customers/{created['customer']['number']}"}


@endpoint(blueprint, "/customers", summary="Search customers", tags=TAG,
          query=s.CustomerSearchQuerySchema, response=s.CustomerSummarySchema, paginated=True)
def search_customers(query, paging):
    """Newest first, within the caller's scope. ``total`` is exact up to 1,000
    (``total_exact`` false beyond). Two or more characters of a name match anywhere in it;
    one character is a prefix (surname)."""
    with rpc_pool().client() as rpc, body_fields("criteria"):
        return rpc.customer.search({**query, "page": paging.page, "page_size": paging.page_size})


@endpoint(blueprint, "/customers/duplicate-check", "POST", summary="Check for duplicates",
          tags=TAG, body=s.CustomerCreateSchema, response=s.DuplicateCheckSchema)
def check_duplicates(body):
    """What ``POST /customers`` would refuse (``conflicts``) or warn about (``likely``);
    writes nothing."""
    with rpc_pool().client() as rpc, body_fields("customer"):
        return rpc.customer.check_duplicates(sent_body(body))


@endpoint(blueprint, "/customers/<number>", summary="Get a customer", tags=TAG,
          response=s.CustomerRecordSchema, errors=(403,))
def get_customer(number):
    """A merged customer is returned as it is, ``merged_into`` naming the survivor. The
    ``ETag`` is the version, for ``If-Match`` on PATCH."""
    with rpc_pool().client() as rpc:
        record = rpc.customer.get(number)
    return record, 200, etag(record)


@endpoint(blueprint, "/customers/<number>", "PATCH", summary="Update a customer", tags=TAG,
          body=s.CustomerUpdateSchema, response=s.CustomerRecordSchema, errors=(403, 409))
def update_customer(number, body):
    """Only the fields given change. Send the version you read as ``If-Match`` (or
    ``expected_version``): a newer one answers 409."""
    changes = sent_body(body)
    header = request.headers.get("If-Match")
    if header is not None and header.strip() != "*":
        match = _IF_MATCH.match(header)
        if match is None or int(match[1]) < 1:
            raise ValidationFailed("If-Match must be the customer's version, e.g. \"3\"",
                                   {"If-Match": ['the version as given by ETag, e.g. "3"']})
        version = int(match[1])
        if changes.get("expected_version", version) != version:
            raise ValidationFailed("If-Match and expected_version disagree",
                                   {"expected_version": ["differs from If-Match"]})
        changes["expected_version"] = version
    with rpc_pool().client() as rpc, body_fields("changes"):
        record = rpc.customer.update(number, changes)
    return record, 200, etag(record)


@endpoint(blueprint, "/customers/<number>/merge", "POST", summary="Merge a duplicate into this customer",
          tags=TAG, roles=(ADMIN,), body=s.CustomerMergeSchema, response=s.MergeResultSchema,
          errors=(422,))
def merge_customers(number, body):
    """The customer in the path survives; ``victim`` is marked merged into it."""
    with rpc_pool().client() as rpc:
        return rpc.customer.merge(number, body["victim"], body.get("reason"))


@endpoint(blueprint, "/customers/<number>/history", summary="A customer's history", tags=TAG,
          response=s.HistoryEntrySchema, paginated=True, errors=(403,))
def customer_history(number, paging):
    """One entry per changed field, newest first. Auditors read every customer's history;
    others that of the customers they may read."""
    with rpc_pool().client() as rpc:
        return rpc.customer.history(number, paging.page, paging.page_size)


@endpoint(blueprint, "/customers/<number>/credit-limit", "PUT", summary="Set the credit limit",
          tags=TAG, roles=("credit_manager",), body=s.CustomerCreditLimitSchema,
          response=s.CustomerRecordSchema, errors=(422,))
def set_credit_limit(number, body):
    with rpc_pool().client() as rpc, body_fields("credit"):
        return rpc.customer.set_credit_limit(number, sent_body(body))


# --- roles --------------------------------------------------------------------------------

@endpoint(blueprint, "/role-types", summary="Customer role types", tags="catalogue",
          response=s.RoleTypeSchema, many=True)
def role_types():
    """The partner-function catalogue (sold_to, ship_to, bill_to, payer, ...)."""
    with rpc_pool().client() as rpc:
        return rpc.customer.role_types()


@endpoint(blueprint, "/customers/<number>/roles", summary="A customer's roles", tags=TAG,
          response=s.CustomerRolesSchema, errors=(403,))
def customer_roles(number):
    with rpc_pool().client() as rpc:
        record = rpc.customer.get(number)
    return {"number": record["number"], "roles": record["roles"]}


@endpoint(blueprint, "/customers/<number>/roles", "POST", summary="Add a role", tags=TAG,
          body=s.RoleAddSchema, response=s.CustomerRecordSchema, errors=(403, 422))
def add_role(number, body):
    """Adding a role the customer holds changes nothing."""
    with rpc_pool().client() as rpc:
        return rpc.customer.add_role(number, body["role"])


@endpoint(blueprint, "/customers/<number>/roles/<role>", "DELETE", summary="Remove a role",
          tags=TAG, response=s.CustomerRecordSchema, errors=(403, 422))
def remove_role(number, role):
    with rpc_pool().client() as rpc:
        return rpc.customer.remove_role(number, role)


# --- relationships ------------------------------------------------------------------------

@endpoint(blueprint, "/relationship-types", summary="Relationship types", tags="catalogue",
          response=s.RelationshipTypeSchema, many=True)
def relationship_types():
    with rpc_pool().client() as rpc:
        return rpc.customer.relationship_types()


@endpoint(blueprint, "/customers/<number>/relationships", summary="A customer's relationships",
          tags=TAG, query=s.RelationshipsQuerySchema, response=s.RelationshipListItemSchema,
          many=True, errors=(403,))
def list_relationships(number, query):
    """Both directions, oldest first; only those in force today unless ``include_ended``."""
    with rpc_pool().client() as rpc:
        return rpc.customer.relationships(number, query["include_ended"])


@endpoint(blueprint, "/customers/<number>/relationships", "POST", summary="Add a relationship",
          tags=TAG, body=s.RelationshipAddSchema, response=s.RelationshipSchema, status=201,
          errors=(403, 409))
def add_relationship(number, body):
    """From the customer in the path to ``to_customer``; an inverse type code is stored the
    canonical way round."""
    with rpc_pool().client() as rpc, body_fields("relationship"):
        return rpc.customer.add_relationship(
            {**sent_body(body), "from_customer": number}), 201


@endpoint(blueprint, "/relationships/<relationship_id>/end", "POST", summary="End a relationship",
          tags=TAG, body=s.RelationshipEndSchema, response=s.RelationshipSchema, errors=(403,))
def end_relationship(relationship_id, body):
    with rpc_pool().client() as rpc:
        return rpc.customer.end_relationship(
            relationship_id, sent_body(body).get("valid_to"))


@endpoint(blueprint, "/relationships/<relationship_id>", "DELETE", summary="Remove a relationship",
          tags=TAG, status=204, errors=(403,))
def remove_relationship(relationship_id):
    """Deleted; both customers' histories keep it."""
    with rpc_pool().client() as rpc:
        rpc.customer.remove_relationship(relationship_id)
    return None, 204


@endpoint(blueprint, "/customers/<number>/group-tree", summary="A customer's group tree",
          tags=TAG, response=s.GroupTreeSchema, errors=(403,))
def group_tree(number):
    """Everything below the customer through hierarchical relationships, breadth first."""
    with rpc_pool().client() as rpc:
        return rpc.customer.group_tree(number)


# --- the pool -----------------------------------------------------------------------------

@endpoint(blueprint, "/customers/<number>/claim", "POST", summary="Claim from the pool",
          tags="pool", roles=("sales_rep", "sales_manager"), response=s.CustomerRecordSchema,
          errors=(422,))
def claim(number):
    """Refused (422) for owned customers, within the cool-down, or over the claim limit."""
    with rpc_pool().client() as rpc:
        return rpc.customer.claim(number)


@endpoint(blueprint, "/customers/<number>/release", "POST", summary="Release to the pool",
          tags="pool", body=s.PoolReleaseSchema, response=s.CustomerRecordSchema, errors=(403, 422))
def release(number, body):
    """The owner releases; a sales manager may release someone else's customer."""
    with rpc_pool().client() as rpc:
        return rpc.customer.release(number, body.get("reason"))


@endpoint(blueprint, "/customers/<number>/assign", "POST", summary="Assign an owner",
          tags="pool", roles=("sales_manager",), body=s.PoolAssignSchema,
          response=s.CustomerRecordSchema, errors=(422,))
def assign(number, body):
    """``owner_id`` must be an active user who may hold the customer (a sales rep; a
    regional role of the customer's province), else 422 naming it; null returns the
    customer to the pool."""
    owner_id = body["owner_id"]
    with rpc_pool().client() as rpc:
        if owner_id is not None:
            owners.ensure_may_hold(owner_id, lambda: rpc.customer.get(number).get("province"))
        return rpc.customer.assign(number, owner_id)


# --- export and privacy -------------------------------------------------------------------

@endpoint(blueprint, "/customers/export", summary="Export customers (streamed)", tags=TAG,
          roles=("auditor", "sales_manager", "marketer"), query=s.ExportQuerySchema,
          produces=tuple(t.split(";")[0] for t in EXPORT_CONTENT_TYPES.values()))
def export_customers(query):
    """JSON Lines (``application/x-ndjson``, one customer-record.v1 per line) or CSV, streamed
    batch by batch; merged and erased customers are left out, regional callers get their
    province. CSV cells that a spreadsheet would run as a formula (starting ``=``, ``+``,
    ``-``, ``@``, tab, CR) carry a leading ``'``; ``bom=true`` starts a CSV with the UTF-8
    byte order mark for Excel."""
    fmt = query["format"]
    pool, actor = rpc_pool(), g.actor
    size = int(current_app.config.get("GATEWAY_EXPORT_BATCH_SIZE") or EXPORT_BATCH_SIZE)

    def fetch(after):
        with pool.client(actor=actor) as rpc:  # one client per batch, never across the stream
            return rpc.customer.export_batch(after, size, fmt)

    first = fetch(0)  # before the 200: refusals and outages still answer as problems
    bom = fmt == "csv" and query.get("bom")

    def stream(batch):
        if bom:
            yield "\ufeff".encode("utf-8")
        while True:
            if batch["lines"]:
                yield "".join(line + "\n" for line in batch["lines"]).encode("utf-8")
            if batch["done"]:
                return
            batch = fetch(batch["next_after"])

    headers = {"Content-Disposition": f'attachment; filename="customers.{fmt}"',
               "Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return Response(stream(first), status=200, headers=headers,
                    content_type=EXPORT_CONTENT_TYPES[fmt], direct_passthrough=True)


@endpoint(blueprint, "/customers/<number>/privacy-export", summary="Privacy export", tags="privacy",
          roles=(ADMIN,), response=s.PrivacyExportSchema)
def privacy_export(number):
    """Everything held on one customer: record, relationships, history, consent, erasure."""
    with rpc_pool().client() as rpc:
        return rpc.customer.privacy_export(number)


@endpoint(blueprint, "/customers/<number>/erase", "POST", summary="Erase a person's data",
          tags="privacy", roles=(ADMIN,), body=s.CustomerEraseSchema, response=s.CustomerRecordSchema,
          errors=(422,))
def erase(number, body):
    """Irreversible. Persons only; business links (roles, relationships, credit) stay."""
    with rpc_pool().client() as rpc:
        return rpc.customer.erase(number, body["reason"])
