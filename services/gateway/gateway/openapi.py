"""The OpenAPI 3 document and the interactive docs, built from the routes as served.

``build_spec`` walks a :class:`gateway.http.Registry` (read from ``app.url_map``) and hands
the very schema classes the endpoints load and dump to apispec's marshmallow plugin, so the
document cannot describe a field, a route or a cap the code does not have. The blueprint
serves it at ``/api/v1/openapi.json`` and a Swagger UI page at ``/api/v1/docs`` (its files
from the pinned ``swagger-ui-bundle`` package, under a Content-Security-Policy); neither
needs credentials, the document is public by design (it holds no data).
"""
import base64
import functools
import hashlib
import html
import json
from pathlib import Path

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow import resolver as default_resolver
from apispec.ext.marshmallow.common import resolve_schema_cls
import swagger_ui_bundle
from flask import Blueprint, Response, current_app, send_from_directory, url_for
from marshmallow import INCLUDE, Schema, fields
from werkzeug.exceptions import NotFound

from guanxi_common.contracts.json_schema import decimal_as_string

from gateway import http
from gateway.problems import PROBLEM_CONTENT_TYPE

DEFAULT_TITLE = "Guanxi CRM API"
DEFAULT_VERSION = "1.0.0"
OPENAPI_VERSION = "3.0.3"
EXTENSION_KEY = "gateway.openapi"  # app.extensions: {"title", "version", "spec"}

#: Shared error responses: name, and the description a client sees in the docs.
ERROR_RESPONSES = {
    400: ("BadRequest", "The request could not be parsed (malformed JSON)."),
    401: ("Unauthenticated", "Missing, invalid, expired or revoked credentials."),
    403: ("Forbidden", "The principal's roles or scope do not allow this."),
    404: ("NotFound", "No such record, or not one the principal may see."),
    409: ("Conflict",
          "The request conflicts with the current state (or reuses an Idempotency-Key)."),
    413: ("PayloadTooLarge", "The request body is over the size limit."),
    422: ("ValidationFailed", "The input is invalid (see errors) or a business rule refused it."),
    429: ("TooManyRequests", "Over the principal's rate; retry after Retry-After seconds."),
    503: ("ServiceUnavailable", "A service this request needs did not answer in time."),
}

_CONVERTERS = {
    "int": {"type": "integer"},
    "float": {"type": "number"},
    "uuid": {"type": "string", "format": "uuid"},
    "path": {"type": "string"},
    "string": {"type": "string"},
    "default": {"type": "string"},
}


class ProblemSchema(Schema):
    """RFC 7807 problem details, as gateway.problems writes them; services' extensions
    (rule, service, retry_after, ...) may appear beside these members."""

    class Meta:
        unknown = INCLUDE

    type = fields.String(required=True, metadata={"format": "uri"})
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    code = fields.String(required=True, metadata={"description": "Stable error code."})
    instance = fields.String()
    request_id = fields.String(metadata={"description": "Quote it when reporting a problem."})
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()), metadata={
        "description": "Validation errors: dotted field path to reasons."})


def build_spec(registry, title=DEFAULT_TITLE, version=DEFAULT_VERSION, *, description=None):
    """The OpenAPI 3.0.3 document (a plain dict) for every route in ``registry``."""
    plugin = MarshmallowPlugin(schema_name_resolver=_schema_name)
    info = {"description": description} if description else {}
    spec = APISpec(title=title, version=version, openapi_version=OPENAPI_VERSION,
                   plugins=[plugin], servers=[{"url": "/"}], info=info)
    plugin.converter.add_attribute_function(decimal_as_string)

    spec.components.schema("Problem", schema=ProblemSchema)
    for status, (name, text) in ERROR_RESPONSES.items():
        response = {"description": text,
                    "content": {PROBLEM_CONTENT_TYPE: {"schema": "Problem"}}}
        if status in (429, 503):
            response["headers"] = {"Retry-After": {
                "description": "Seconds to wait before retrying.",
                "schema": {"type": "integer", "minimum": 1}}}
        spec.components.response(name, response)
    spec.components.security_scheme("bearerAuth", {
        "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
        "description": "Access token from POST /api/v1/auth/token."})
    spec.components.security_scheme("apiToken", {
        "type": "http", "scheme": "bearer", "bearerFormat": "gx_…",
        "description": "Long-lived API token of a service account (gx_…)."})

    paths, tags = {}, []
    for route in registry:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route)
        tags.extend(t for t in route.operation.tags if t not in tags)
    for tag in tags:
        spec.tag({"name": tag})
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()


def _schema_name(schema):
    """Default naming (class name without ``Schema``); a partial schema (PATCH bodies)
    gets its own ``...Patch`` component since its required list differs."""
    name = default_resolver(schema)
    if not isinstance(schema, type) and getattr(schema, "partial", False):
        name += "Patch"
    return name


def _operation(route):
    op = route.operation
    result = {
        "operationId": route.operation_id,
        "summary": op.summary,
        "tags": list(op.tags),
        "parameters": _parameters(route),
        "responses": _responses(route),
        "security": [{"bearerAuth": []}, {"apiToken": []}] if op.auth else [],
    }
    description = op.description or ""
    if op.roles:
        description = (description + "\n\n" if description else "") + (
            "Roles: " + ", ".join(op.roles) + " (admin always).")
        result["x-roles"] = list(op.roles)
    if description:
        result["description"] = description
    if op.deprecated:
        result["deprecated"] = True
    if op.body is not None:
        body = _schema_instance(op.body, partial=True) if op.partial else op.body
        result["requestBody"] = {
            "required": not op.partial and _has_required(op.body),
            "content": {"application/json": {"schema": body}}}
    return result


def _parameters(route):
    op = route.operation
    params = [{"in": "path", "name": p.name, "required": True, "schema": _path_schema(p)}
              for p in route.path_params]
    if op.paginated:
        params.append({"in": "query", "schema": http.paginate_args()})
    if op.query is not None:
        params.append({"in": "query", "schema": op.query})
    if op.idempotent:
        params.append({
            "in": "header", "name": http.IDEMPOTENCY_HEADER, "required": False,
            "description": "Retrying with the same key returns the first answer instead of "
                           "creating a second record; the same key with another body is 409.",
            "schema": {"type": "string", "minLength": 1, "maxLength": http.IDEMPOTENCY_KEY_MAX,
                       "pattern": "^[\\x21-\\x7e]+$"}})
    return params


def _path_schema(param):
    schema = dict(_CONVERTERS.get(param.converter, {"type": "string"}))
    if param.converter == "int" and "signed=True" not in (param.args or ""):
        schema["minimum"] = 0  # werkzeug's int converter matches digits only
    if param.converter == "any" and param.args:
        schema = {"type": "string",
                  "enum": [a.strip().strip("'\"") for a in param.args.split(",") if a.strip()]}
    return schema


def _responses(route):
    op = route.operation
    schema = op.response_schema
    if op.status == 204:
        success = {"description": "Done; no content."}
    elif op.produces:  # the view streams its own body (CSV, JSON Lines): text, not JSON
        success = {"description": op.summary,
                   "content": {media: {"schema": {"type": "string"}} for media in op.produces}}
    elif schema is None:
        success = {"description": op.summary,
                   "content": {"application/json": {"schema": {"type": "object"}}}}
    else:
        if op.many:
            schema = {"type": "array", "items": schema}
        success = {"description": op.summary, "content": {"application/json": {"schema": schema}}}
    responses = {str(op.status): success}
    for status in op.error_statuses(bool(route.path_params)):
        name = ERROR_RESPONSES.get(status, (None,))[0]
        if name is None:
            raise ValueError(f"{route.method} {route.path}: no shared response for {status}")
        responses[str(status)] = name
    return responses


def _schema_instance(schema, **modifiers):
    return resolve_schema_cls(schema)(**modifiers) if isinstance(schema, type) else schema


def _has_required(schema):
    instance = schema() if isinstance(schema, type) else schema
    return any(f.required for f in instance.fields.values() if not f.dump_only)


# --- serving ----------------------------------------------------------------------------

blueprint = Blueprint("openapi", __name__)


def init_app(app, *, title=DEFAULT_TITLE, version=DEFAULT_VERSION, description=None,
             url_prefix="/api/v1"):
    """Mount the document and the docs page under ``url_prefix``. Order does not matter:
    the document is built on its first request from the app's url_map, by then complete."""
    app.extensions[EXTENSION_KEY] = {"title": title, "version": version,
                                     "description": description, "spec": None}
    app.register_blueprint(blueprint, url_prefix=url_prefix)


def current_spec():
    """This app's document, built once (routes do not change after the first request)."""
    state = current_app.extensions.setdefault(
        EXTENSION_KEY, {"title": DEFAULT_TITLE, "version": DEFAULT_VERSION,
                        "description": None, "spec": None})
    if state["spec"] is None:
        state["spec"] = build_spec(http.Registry.from_app(current_app), state["title"],
                                   state["version"], description=state["description"])
    return state["spec"]


def _public(view):
    setattr(view, http.PUBLIC_ATTR, True)
    return view


@blueprint.get("/openapi.json")
@_public
def openapi_json():
    """Public: a client generator or fuzzer must be able to read it before logging in."""
    return Response(json.dumps(current_spec(), ensure_ascii=False, sort_keys=False),
                    mimetype="application/json")


#: The Swagger UI files the docs page loads, served from the pinned ``swagger-ui-bundle``
#: package (no CDN: nothing outside the gateway can change what runs on the page).
_DOCS_ASSETS = {"swagger-ui.css": "text/css", "swagger-ui-bundle.js": "text/javascript",
                "favicon-32x32.png": "image/png"}
_DOCS_INIT = """window.ui = SwaggerUIBundle({
  url: document.getElementById("swagger-ui").dataset.spec, dom_id: "#swagger-ui",
  deepLinking: true, persistAuthorization: true, validatorUrl: null});
"""
#: Scripts and styles only from the gateway itself; Swagger UI sets style attributes and
#: inlines SVG icons as data: URLs, the document and "Try it out" calls are same-origin.
DOCS_CSP = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; connect-src 'self'; font-src 'self' data:; "
            "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")

_DOCS_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<link rel="icon" href="{icon}">
<link rel="stylesheet" href="{css}" integrity="{css_sri}">
</head>
<body>
<div id="swagger-ui" data-spec="{spec_url}"></div>
<script src="{bundle}" integrity="{bundle_sri}"></script>
<script src="{init}" integrity="{init_sri}"></script>
</body>
</html>
"""


def _subresource_integrity(data):
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode("ascii")


@functools.lru_cache(maxsize=None)
def _asset_integrity(name):
    return _subresource_integrity((Path(swagger_ui_bundle.swagger_ui_path) / name).read_bytes())


@blueprint.get("/docs")
@_public
def docs():
    """Swagger UI, pointed at the document; its files come from the gateway (with their
    integrity hashes) under a Content-Security-Policy."""
    asset = functools.partial(url_for, "openapi.docs_asset")
    title = current_app.extensions.get(EXTENSION_KEY, {}).get("title", DEFAULT_TITLE)
    page = _DOCS_PAGE.format(
        title=html.escape(title), spec_url=html.escape(url_for("openapi.openapi_json")),
        icon=asset(name="favicon-32x32.png"),
        css=asset(name="swagger-ui.css"), css_sri=_asset_integrity("swagger-ui.css"),
        bundle=asset(name="swagger-ui-bundle.js"),
        bundle_sri=_asset_integrity("swagger-ui-bundle.js"),
        init=url_for("openapi.docs_init"), init_sri=_subresource_integrity(_DOCS_INIT.encode()))
    response = Response(page, mimetype="text/html")
    response.headers["Content-Security-Policy"] = DOCS_CSP
    return response


@blueprint.get("/docs/init.js")
@_public
def docs_init():
    response = Response(_DOCS_INIT, mimetype="text/javascript")
    response.headers["Content-Security-Policy"] = DOCS_CSP
    return response


@blueprint.get("/docs/assets/<name>")
@_public
def docs_asset(name):
    if name not in _DOCS_ASSETS:
        raise NotFound()
    response = send_from_directory(swagger_ui_bundle.swagger_ui_path, name,
                                   mimetype=_DOCS_ASSETS[name], max_age=86400)
    response.headers["Content-Security-Policy"] = DOCS_CSP
    return response
