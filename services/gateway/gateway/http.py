"""The one way an endpoint is declared, so the route, its checks and its OpenAPI entry
come from the same call and cannot drift.

``endpoint(...)`` registers the Flask view, loads the body and query string through the
marshmallow schemas it names (errors become ``ValidationFailed`` with dotted field paths,
rendered by the app as 422 problem+json), enforces the roles, dumps the answer through the
response schema, and pins an :class:`Operation` on the view. :meth:`Registry.from_app`
reads those back from ``app.url_map`` -- the routes Flask really serves, blueprint
prefixes included -- which is what ``gateway.openapi.build_spec`` turns into the document.

The view receives the path parameters as Flask passes them, plus keyword arguments for
what was declared: ``body`` (loaded dict), ``query`` (loaded dict), ``paging``
(:class:`Paging`) and ``idempotency_key`` (str or None). It returns a value, ``(value,
status)``, ``(value, status, headers)`` or a ready ``Response`` (streams, CSV). A paginated
view returns at least ``items`` and ``total``; ``total_exact`` (true), ``page`` and
``page_size`` are filled in from the request when it leaves them out.
"""
import functools
import os
import re
from dataclasses import dataclass, field
from typing import Any

from flask import Response, current_app, g, jsonify, request
from marshmallow import EXCLUDE, Schema, fields, validate

from guanxi_common import access
from guanxi_common.contracts.fields import IDEMPOTENCY_KEY_MAX, MAX_PAGE
from guanxi_common.contracts.text import text_problem
from guanxi_common.errors import NotFound, ValidationFailed
from guanxi_common.validation import load

from gateway.problems import Unauthenticated
from gateway.request_json import parse_body

#: ``app.extensions[AUTHENTICATOR]``: the app core's ``fn() -> Actor`` that checks the
#: request's credentials (raising ``Unauthenticated``/``TokenInvalid``). Without it, an
#: ``Actor`` that a ``before_request`` hook put on ``g.actor`` is used.
AUTHENTICATOR = "gateway.authenticator"

#: The attribute gateway.app's ``before_request`` reads to skip authentication (its
#: ``@public`` sets the same one); ``endpoint(auth=False)`` sets it.
PUBLIC_ATTR = "_guanxi_public"

DEFAULT_MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20
IDEMPOTENCY_HEADER = "Idempotency-Key"
_IDEMPOTENCY_KEY_RE = re.compile(r"^[\x21-\x7e]+$")  # visible ASCII: safe in logs and keys

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_RULE_ARG = re.compile(r"<(?:(?P<converter>[a-zA-Z_][a-zA-Z0-9_]*)(?:\((?P<args>[^)]*)\))?:)?"
                       r"(?P<name>[a-zA-Z_][a-zA-Z0-9_]*)>")


# --- pagination -------------------------------------------------------------------------

def max_page_size():
    """The cap: app config ``GATEWAY_MAX_PAGE_SIZE``, else the environment, else 100.
    Read per request/spec so the document states the cap the endpoints enforce."""
    try:
        configured = current_app.config.get("GATEWAY_MAX_PAGE_SIZE")
    except RuntimeError:  # outside an app context
        configured = None
    if configured is None:
        configured = os.environ.get("GATEWAY_MAX_PAGE_SIZE", DEFAULT_MAX_PAGE_SIZE)
    try:
        cap = int(configured)
    except (TypeError, ValueError):
        raise ValueError(f"GATEWAY_MAX_PAGE_SIZE must be an integer, got {configured!r}") from None
    if cap < 1:
        raise ValueError(f"GATEWAY_MAX_PAGE_SIZE must be at least 1, got {cap}")
    return cap


def paginate_args(cap=None):
    """The ``page``/``page_size`` query schema for ``cap`` (default: :func:`max_page_size`).
    One class per cap, so the document and the check use the very same validator. Over the
    cap is a 422 rather than a silent clamp: a client must not believe it got everything it
    asked for."""
    return _paginate_args(max_page_size() if cap is None else int(cap))


@functools.lru_cache(maxsize=None)
def _paginate_args(cap):
    class PaginateArgs(Schema):
        class Meta:
            unknown = EXCLUDE  # the endpoint's own query schema judges the other keys

        page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE),
                              metadata={"description": "1-based page number."})
        page_size = fields.Integer(
            load_default=min(DEFAULT_PAGE_SIZE, cap), validate=validate.Range(min=1, max=cap),
            metadata={"description": f"Items per page, at most {cap}."})

    return PaginateArgs


@dataclass(frozen=True)
class Paging:
    page: int
    page_size: int

    @property
    def offset(self):
        return (self.page - 1) * self.page_size

    @property
    def limit(self):
        return self.page_size


@functools.lru_cache(maxsize=None)
def Page(item_schema):  # noqa: N802 -- reads as a type: Page(CustomerSchema)
    """The paginated wrapper of ``item_schema``, one class per item schema so its
    component name (``<Item>Page``) is stable. ``total_exact`` is false when the service
    only estimated ``total`` (big searches)."""
    item_cls = item_schema if isinstance(item_schema, type) else type(item_schema)
    name = item_cls.__name__
    name = (name[:-6] or name) if name.endswith("Schema") else name
    return type(f"{name}PageSchema", (Schema,), {
        "items": fields.List(fields.Nested(item_schema), required=True),
        "total": fields.Integer(required=True, metadata={"description": "Matching items."}),
        "total_exact": fields.Boolean(required=True, metadata={
            "description": "False when total is an estimate."}),
        "page": fields.Integer(required=True),
        "page_size": fields.Integer(required=True),
        "__doc__": f"A page of {name} items.",
    })


# --- the registry -----------------------------------------------------------------------

@dataclass(frozen=True)
class Operation:
    """What ``endpoint`` was told: enough to check a request and to document it."""

    rule: str
    methods: tuple
    summary: str
    tags: tuple
    body: Any = None
    query: Any = None
    response: Any = None
    status: int = 200
    many: bool = False
    roles: tuple = ()
    paginated: bool = False
    errors: tuple = ()
    idempotent: bool = False
    auth: bool = True
    partial: bool = False
    description: str | None = None
    deprecated: bool = False
    produces: tuple = ()

    @property
    def response_schema(self):
        """The schema of the success body as documented and dumped (paginated: its Page)."""
        if self.response is None:
            return None
        return Page(self.response) if self.paginated else self.response

    def error_statuses(self, has_path_params):
        """Declared errors plus those the layer itself can answer with."""
        statuses = set(self.errors) | {429, 503}
        if self.auth:
            statuses |= {401}
        if self.roles:
            statuses |= {403}
        if self.body is not None or self.query is not None or self.paginated or self.idempotent:
            statuses |= {422}
        if self.body is not None:
            statuses |= {400}  # malformed JSON
        if has_path_params:
            statuses |= {404}
        return tuple(sorted(statuses))


@dataclass(frozen=True)
class PathParam:
    name: str
    converter: str
    args: str | None = None


@dataclass(frozen=True)
class Route:
    """One (path, method) as served: ``path`` in OpenAPI form (``/customers/{number}``)."""

    path: str
    method: str
    endpoint: str
    operation: Operation
    path_params: tuple = ()

    @property
    def operation_id(self):
        ops = self.operation.methods
        name = self.endpoint.replace(".", "_")
        return name if len(ops) == 1 else f"{name}_{self.method.lower()}"


@dataclass
class Registry:
    """The documented routes, in url_map order."""

    routes: list = field(default_factory=list)

    @classmethod
    def from_app(cls, app):
        """Every route whose view was made by ``endpoint``. Read from ``app.url_map`` so
        prefixes given at ``register_blueprint`` time are the ones documented."""
        registry = cls()
        for rule in app.url_map.iter_rules():
            view = app.view_functions.get(rule.endpoint)
            op = getattr(view, "__gateway_operation__", None)
            if op is None:
                continue
            path, params = openapi_path(rule.rule)
            for method in op.methods:
                registry.routes.append(Route(path, method, rule.endpoint, op, params))
        return registry

    def __iter__(self):
        return iter(self.routes)

    def __len__(self):
        return len(self.routes)

    def pairs(self):
        """``{(path, METHOD)}``: what a drift check compares with the document."""
        return {(r.path, r.method) for r in self.routes}


def openapi_path(rule):
    """``/customers/<int:id>`` → ``("/customers/{id}", (PathParam("id", "int"),))``."""
    params = []

    def sub(match):
        params.append(PathParam(match["name"], match["converter"] or "default", match["args"]))
        return "{" + match["name"] + "}"

    return _RULE_ARG.sub(sub, rule), tuple(params)


# --- the decorator ----------------------------------------------------------------------

def endpoint(blueprint, rule, methods=("GET",), *, summary, tags=(), body=None, query=None,
             response=None, status=200, many=False, roles=None, paginated=False, errors=(),
             idempotent=False, auth=True, partial=None, description=None, deprecated=False,
             produces=()):
    """Register the decorated view on ``blueprint`` at ``rule`` and record it for the
    document. See the module docstring for what the view receives and may return.

    ``roles``: any of them (or admin) may call; ``None`` means any authenticated principal.
    ``errors``: statuses the view itself may cause (404, 409, ...); 401/403/422/429/503
    and the path's 404 are added from the other arguments. ``auth=False`` only for what
    must work without credentials (the token endpoint). ``partial`` defaults to true for
    PATCH so an update carries only what changes. ``produces``: the media types of a
    success body that is not JSON (a view returning its own ``Response``: CSV, JSON Lines).
    """
    methods = tuple(m.upper() for m in ([methods] if isinstance(methods, str) else methods))
    if not methods:
        raise ValueError("endpoint needs at least one method")
    if body is not None and not _BODY_METHODS.intersection(methods):
        raise ValueError(f"{rule}: a body schema needs POST, PUT or PATCH, not {methods}")
    if paginated and many:
        raise ValueError(f"{rule}: paginated already wraps the items in a list; drop many")
    if idempotent and "POST" not in methods:
        raise ValueError(f"{rule}: Idempotency-Key is for POST")
    if roles is not None and not auth:
        raise ValueError(f"{rule}: roles need an authenticated caller")
    if isinstance(tags, str):
        tags = (tags,)
    partial = ("PATCH" in methods) if partial is None else bool(partial)

    def decorator(view):
        op = Operation(
            rule=rule, methods=methods, summary=summary, tags=tuple(tags), body=body,
            query=query, response=response, status=status, many=many,
            roles=tuple(roles or ()), paginated=paginated, errors=tuple(errors),
            idempotent=idempotent, auth=auth, partial=partial,
            description=description or _docstring(view), deprecated=deprecated,
            produces=tuple([produces] if isinstance(produces, str) else produces))
        body_schema = _instance(body)
        # Partial at the top level only, as documented: an item of a nested list (a phone
        # in a PATCH) still needs its required fields; ``partial=True`` would reach into it.
        load_partial = tuple(body_schema.fields) if partial and body_schema is not None else False
        query_schema = _instance(query)
        list_fields = _list_keys(query_schema)

        @functools.wraps(view)
        def wrapper(**path_args):
            actor = current_actor() if auth else None
            if op.roles:
                access.ensure_role(actor, *op.roles, action=op.summary)
            _ensure_path_args_can_name_a_record(path_args)
            kwargs = dict(path_args)
            if body_schema is not None:
                kwargs["body"] = load(body_schema, _json_body(), field="body",
                                      partial=load_partial)
            if query_schema is not None or paginated:
                query_data, paging = _load_query(query_schema, list_fields, paginated)
                if query_schema is not None:
                    kwargs["query"] = query_data
                if paginated:
                    kwargs["paging"] = paging
            if idempotent:
                kwargs["idempotency_key"] = _idempotency_key()
            return _respond(op, view(**kwargs), kwargs.get("paging"))

        wrapper.__gateway_operation__ = op
        if not auth:
            setattr(wrapper, PUBLIC_ATTR, True)
        blueprint.add_url_rule(rule, view_func=wrapper, methods=list(methods))
        return wrapper

    return decorator


def current_actor():
    """The authenticated ``Actor`` of this request, checked once and kept on ``g``."""
    actor = g.get("actor")
    if actor is not None:
        return actor
    authenticate = current_app.extensions.get(AUTHENTICATOR)
    if authenticate is None:
        raise Unauthenticated("authentication required")
    actor = authenticate()
    if actor is None:
        raise Unauthenticated("authentication required")
    g.actor = actor
    return actor


def _ensure_path_args_can_name_a_record(path_args):
    """A path segment with a control character or a lone surrogate names no record (every
    number, SKU and id is one line of text): 404, as for any unknown record, rather than
    a service's refusal of the reference it would be searched by."""
    for name, value in path_args.items():
        if isinstance(value, str) and text_problem(value, single_line=True):
            raise NotFound(f"no such {name}")


def _instance(schema):
    if schema is None:
        return None
    return schema() if isinstance(schema, type) else schema


def _docstring(view):
    doc = (view.__doc__ or "").strip()
    return doc or None


def _list_keys(schema):
    """Query keys that may repeat (``?tag=a&tag=b``): the List fields, by wire name."""
    if schema is None:
        return frozenset()
    return frozenset(f.data_key or name for name, f in schema.fields.items()
                     if isinstance(f, fields.List) and not f.dump_only)


def _json_body():
    """The parsed body; an empty body counts as ``{}`` so all-optional bodies may be left
    out, while malformed JSON is a 400 (it is not a field problem). Parsed strictly
    (gateway.request_json): no NaN, bounded nesting, valid Unicode."""
    raw = request.get_data(cache=True)
    if not raw:
        return {}
    return parse_body(raw)


def _load_query(schema, list_keys, paginated):
    args = request.args
    raw = {key: (args.getlist(key) if key in list_keys else args.get(key)) for key in args}
    errors, data, paging = {}, {}, None
    if paginated:
        page_keys = ("page", "page_size")
        try:
            loaded = load(paginate_args()(), {k: raw[k] for k in page_keys if k in raw},
                          field="query")
            paging = Paging(loaded["page"], loaded["page_size"])
        except ValidationFailed as exc:
            errors.update(exc.details)
        raw = {k: v for k, v in raw.items() if k not in page_keys}
    if schema is not None:
        try:
            data = load(schema, raw, field="query")
        except ValidationFailed as exc:
            errors.update(exc.details)
    if errors:
        summary = "; ".join(f"{k}: {', '.join(map(str, v))}" for k, v in list(errors.items())[:5])
        raise ValidationFailed(f"invalid query: {summary}", errors)
    return data, paging


def _idempotency_key():
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None:
        return None
    if not key or len(key) > IDEMPOTENCY_KEY_MAX or not _IDEMPOTENCY_KEY_RE.match(key):
        raise ValidationFailed(
            f"{IDEMPOTENCY_HEADER} must be 1 to {IDEMPOTENCY_KEY_MAX} visible ASCII characters",
            {IDEMPOTENCY_HEADER: [f"1 to {IDEMPOTENCY_KEY_MAX} visible ASCII characters"]})
    return key


def _respond(op, result, paging):
    if isinstance(result, Response):
        return result
    status, headers = op.status, None
    if isinstance(result, tuple):
        result, status, *rest = result
        headers = rest[0] if rest else None
    if status == 204:
        return Response(status=204, headers=headers)
    if op.paginated and isinstance(result, dict):
        result = {"total_exact": True, **result}
        if paging is not None:
            result.setdefault("page", paging.page)
            result.setdefault("page_size", paging.page_size)
    schema = _dump_schema(op.response_schema, op.many)
    payload = schema.dump(result) if schema is not None else result
    response = jsonify(payload)
    response.status_code = status
    if headers:
        response.headers.update(headers)
    return response


@functools.lru_cache(maxsize=None)
def _dump_schema_cached(schema_cls, many):
    return schema_cls(many=many)


def _dump_schema(schema, many):
    if schema is None:
        return None
    if isinstance(schema, type):
        return _dump_schema_cached(schema, many)
    return schema
