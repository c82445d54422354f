"""gateway.http + gateway.openapi: routes declared once with ``endpoint`` are checked,
dumped and documented from the same schemas, and the document matches what is served."""
import json
import re
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from flask import Blueprint, Flask, Response
from marshmallow import Schema, fields, validate

from gateway import http, openapi
from gateway.http import Page, Registry, endpoint, paginate_args
from gateway.problems import PROBLEM_CONTENT_TYPE, problem_for
from guanxi_common.context import Actor
from guanxi_common.errors import ValidationFailed


class OrderLineSchema(Schema):
    sku = fields.String(required=True, validate=validate.Length(min=1, max=40))
    quantity = fields.Integer(required=True, validate=validate.Range(min=1))
    unit_price = fields.Decimal(as_string=True, places=2, required=True,
                                validate=validate.Range(min=0))


class OrderCreateSchema(Schema):
    customer = fields.String(required=True)
    lines = fields.List(fields.Nested(OrderLineSchema), required=True,
                        validate=validate.Length(min=1))
    deliver_on = fields.Date(load_default=None, allow_none=True)
    currency = fields.String(load_default="CNY", validate=validate.OneOf(["CNY", "USD"]))


class OrderSchema(Schema):
    number = fields.String()
    customer = fields.String()
    total = fields.Decimal(as_string=True, places=2)
    placed_at = fields.AwareDateTime()
    deliver_on = fields.Date(allow_none=True)
    lines = fields.List(fields.Nested(OrderLineSchema))


class OrderQuerySchema(Schema):
    status = fields.String(validate=validate.OneOf(["open", "closed"]))
    tag = fields.List(fields.String())


class NoteSchema(Schema):
    text = fields.String(required=True)


ORDERS = {"O1": {"number": "O1", "customer": "C00000001", "total": Decimal("12.50"),
                 "placed_at": datetime(2024, 5, 1, 8, tzinfo=timezone.utc), "deliver_on": None,
                 "lines": [{"sku": "A", "quantity": 1, "unit_price": Decimal("12.50")}],
                 "secret_margin": Decimal("3.00")}}
SEEN = {}


def make_blueprint():
    bp = Blueprint("orders", __name__)

    @endpoint(bp, "/customers/<number>/orders", ["GET"], summary="List a customer's orders",
              tags=["orders"], query=OrderQuerySchema, response=OrderSchema, paginated=True)
    def list_orders(number, query, paging):
        """Newest first."""
        SEEN["list"] = (number, query, paging)
        return {"items": [ORDERS["O1"]], "total": 1}

    @endpoint(bp, "/orders/<int:order_id>", ["GET"], summary="Get an order", tags=["orders"],
              response=OrderSchema)
    def get_order(order_id):
        return ORDERS["O1"]

    @endpoint(bp, "/orders", ["POST"], summary="Place an order", tags=["orders"],
              body=OrderCreateSchema, response=OrderSchema, status=201,
              roles=["sales_rep", "sales_manager"], errors=(409,), idempotent=True)
    def place_order(body, idempotency_key):
        SEEN["place"] = (body, idempotency_key)
        return {**ORDERS["O1"], "customer": body["customer"]}

    @endpoint(bp, "/orders/<int:order_id>/notes", ["PATCH"], summary="Amend a note",
              tags=["notes"], body=NoteSchema, status=204)
    def amend_note(order_id, body):
        SEEN["note"] = body

    @endpoint(bp, "/orders/<int:order_id>/export", "GET", summary="Export an order as CSV",
              tags=["orders"], roles=["auditor"])
    def export(order_id):
        return Response("number\nO1\n", mimetype="text/csv")

    @endpoint(bp, "/ping", ["GET"], summary="Ping", tags=["meta"], auth=False)
    def ping():
        return {"ok": True}

    @bp.get("/undocumented")  # not made by endpoint(): never in the document
    def undocumented():
        return {}

    return bp


def make_app(actor=Actor(user_id="u1", roles=frozenset({"sales_rep"})), max_page_size=None):
    app = Flask("test_openapi")
    if max_page_size is not None:
        app.config["GATEWAY_MAX_PAGE_SIZE"] = max_page_size

    app.extensions[http.AUTHENTICATOR] = lambda: actor
    app.register_blueprint(make_blueprint(), url_prefix="/api/v1")
    openapi.init_app(app, title="Test API", version="9.9.9")

    @app.errorhandler(Exception)
    def problem(exc):  # the app core renders these; a minimal stand-in for the test
        status, body = problem_for(exc)
        return Response(json.dumps(body), status=status, mimetype=PROBLEM_CONTENT_TYPE)

    return app


@pytest.fixture
def app():
    SEEN.clear()
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def spec(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return response.get_json()


# --- requests ---------------------------------------------------------------------------

def test_query_and_pagination_are_loaded_and_passed(client):
    response = client.get("/api/v1/customers/C1/orders?status=open&tag=a&tag=b&page=2&page_size=5")
    assert response.status_code == 200
    number, query, paging = SEEN["list"]
    assert number == "C1" and query == {"status": "open", "tag": ["a", "b"]}
    assert (paging.page, paging.page_size, paging.offset) == (2, 5, 5)
    body = response.get_json()
    assert body["page"] == 2 and body["page_size"] == 5
    assert body["total"] == 1 and body["total_exact"] is True
    assert body["items"][0]["total"] == "12.50"
    assert "secret_margin" not in body["items"][0]  # dumped through the schema


def test_page_size_defaults_and_is_capped(client):
    client.get("/api/v1/customers/C1/orders")
    assert SEEN["list"][2] == http.Paging(1, 20)
    response = client.get("/api/v1/customers/C1/orders?page_size=101")
    assert response.status_code == 422
    assert response.mimetype == PROBLEM_CONTENT_TYPE
    assert list(response.get_json()["errors"]) == ["page_size"]
    assert client.get("/api/v1/customers/C1/orders?page_size=100").status_code == 200


def test_page_size_cap_comes_from_config():
    client = make_app(max_page_size=10).test_client()
    assert client.get("/api/v1/customers/C1/orders?page_size=11").status_code == 422
    assert client.get("/api/v1/customers/C1/orders?page_size=10").status_code == 200
    assert SEEN["list"][2] == http.Paging(1, 10)  # default never above the cap
    client.get("/api/v1/customers/C1/orders")
    assert SEEN["list"][2].page_size == 10
    params = client.get("/api/v1/openapi.json").get_json()[
        "paths"]["/api/v1/customers/{number}/orders"]["get"]["parameters"]
    page_size = next(p for p in params if p["name"] == "page_size")
    assert page_size["schema"]["maximum"] == 10


def test_query_errors_name_fields_and_merge_with_paging_errors(client):
    response = client.get("/api/v1/customers/C1/orders?status=lost&page=0&colour=red")
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert set(errors) == {"status", "page", "colour"}


def test_body_is_loaded_with_defaults_and_response_dumped(client):
    response = client.post("/api/v1/orders", json={
        "customer": "C00000002", "lines": [{"sku": "B", "quantity": 2, "unit_price": "3.10"}]},
        headers={"Idempotency-Key": "k-123"})
    assert response.status_code == 201
    body, key = SEEN["place"]
    assert key == "k-123"
    assert body["currency"] == "CNY" and body["deliver_on"] is None
    assert body["lines"][0]["unit_price"] == Decimal("3.10")
    answer = response.get_json()
    assert answer["customer"] == "C00000002" and answer["total"] == "12.50"
    assert "secret_margin" not in answer


def test_body_errors_are_validation_failed_with_field_paths(app):
    view = app.view_functions["orders.place_order"]
    with app.test_request_context("/api/v1/orders", method="POST", json={
            "lines": [{"sku": "", "quantity": 0, "unit_price": "x"}], "currency": "EUR"}):
        with pytest.raises(ValidationFailed) as caught:
            view()
    assert set(caught.value.details) == {
        "customer", "currency", "lines.0.sku", "lines.0.quantity", "lines.0.unit_price"}


def test_body_errors_render_as_problem(client):
    response = client.post("/api/v1/orders", json={"customer": "C1", "lines": []})
    assert response.status_code == 422
    assert response.mimetype == PROBLEM_CONTENT_TYPE
    assert response.get_json()["errors"] == {"lines": ["Shorter than minimum length 1."]}
    assert "place" not in SEEN


def test_non_object_and_malformed_bodies(client):
    response = client.post("/api/v1/orders", json=[1, 2])
    assert response.status_code == 422 and "body" in response.get_json()["errors"]
    response = client.post("/api/v1/orders", data="{nope", content_type="application/json")
    assert response.status_code == 400


def test_idempotency_key_is_optional_but_checked(client):
    payload = {"customer": "C1", "lines": [{"sku": "A", "quantity": 1, "unit_price": "1"}]}
    assert client.post("/api/v1/orders", json=payload).status_code == 201
    assert SEEN["place"][1] is None
    response = client.post("/api/v1/orders", json=payload, headers={"Idempotency-Key": "x" * 101})
    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["Idempotency-Key"]


def test_roles_are_enforced():
    client = make_app(actor=Actor(user_id="u2", roles=frozenset({"auditor"}))).test_client()
    payload = {"customer": "C1", "lines": [{"sku": "A", "quantity": 1, "unit_price": "1"}]}
    response = client.post("/api/v1/orders", json=payload)
    assert response.status_code == 403 and response.get_json()["code"] == "forbidden"
    assert client.get("/api/v1/orders/1/export").data == b"number\nO1\n"  # Response passes


def test_missing_authenticator_means_401_except_public_routes():
    app = make_app()
    del app.extensions[http.AUTHENTICATOR]
    client = app.test_client()
    assert client.get("/api/v1/orders/1").status_code == 401
    assert client.get("/api/v1/ping").get_json() == {"ok": True}
    assert client.get("/api/v1/openapi.json").status_code == 200


def test_public_views_carry_the_app_cores_marker(app):
    """gateway.app's before_request skips authentication only for views marked public."""
    public = {name for name, view in app.view_functions.items()
              if getattr(view, http.PUBLIC_ATTR, False)}
    assert public == {"orders.ping", "openapi.openapi_json", "openapi.docs", "openapi.docs_init",
                      "openapi.docs_asset"}


def test_patch_is_partial_and_204_has_no_body(client):
    response = client.patch("/api/v1/orders/1/notes", json={})
    assert response.status_code == 204 and response.data == b""
    assert SEEN["note"] == {}


def test_declaration_mistakes_fail_at_import():
    bp = Blueprint("bad", __name__)
    with pytest.raises(ValueError):
        endpoint(bp, "/x", ["GET"], summary="x", body=NoteSchema)
    with pytest.raises(ValueError):
        endpoint(bp, "/x", ["GET"], summary="x", idempotent=True)
    with pytest.raises(ValueError):
        endpoint(bp, "/x", ["GET"], summary="x", paginated=True, many=True)


# --- the document -----------------------------------------------------------------------

def _refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _resolve(spec, ref):
    assert ref.startswith("#/"), ref
    node = spec
    for part in ref[2:].split("/"):
        node = node[part]
    return node


def test_document_structure_and_every_ref_resolves(spec):
    assert spec["openapi"] == "3.0.3"
    assert spec["info"] == {"title": "Test API", "version": "9.9.9"}
    assert spec["servers"] == [{"url": "/"}]
    assert {t["name"] for t in spec["tags"]} == {"orders", "notes", "meta"}
    schemes = spec["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                                     "description": schemes["bearerAuth"]["description"]}
    assert schemes["apiToken"]["scheme"] == "bearer"
    assert "gx_" in schemes["apiToken"]["bearerFormat"]
    refs = set(_refs(spec))
    assert refs, "the document should share its schemas through $ref"
    for ref in refs:
        _resolve(spec, ref)
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            assert method in {"get", "post", "put", "patch", "delete"}
            assert op["responses"] and op["operationId"] and op["summary"]
            for status in op["responses"]:
                assert status.isdigit()
    ids = [op["operationId"] for ops in spec["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids))
    json.dumps(spec)


def test_paths_and_methods_match_the_served_routes_exactly(app, spec):
    documented = {(path, method.upper()) for path, ops in spec["paths"].items() for method in ops}
    registry = Registry.from_app(app)
    assert documented == registry.pairs() == {
        ("/api/v1/customers/{number}/orders", "GET"),
        ("/api/v1/orders/{order_id}", "GET"),
        ("/api/v1/orders", "POST"),
        ("/api/v1/orders/{order_id}/notes", "PATCH"),
        ("/api/v1/orders/{order_id}/export", "GET"),
        ("/api/v1/ping", "GET"),
    }
    served = {(rule.rule, method) for rule in app.url_map.iter_rules()
              for method in rule.methods - {"HEAD", "OPTIONS"}
              if rule.endpoint.startswith("orders.") and rule.endpoint != "orders.undocumented"}
    as_openapi = {(http.openapi_path(rule)[0], method) for rule, method in served}
    assert as_openapi == documented


def test_error_responses_share_the_problem_schema(spec):
    problem = spec["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail", "code"} <= set(problem["required"])
    assert problem["additionalProperties"] is True
    for name, response in spec["components"]["responses"].items():
        assert response["content"] == {
            PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}, name
    post = spec["paths"]["/api/v1/orders"]["post"]
    assert set(post["responses"]) == {"201", "400", "401", "403", "409", "422", "429", "503"}
    assert post["responses"]["409"] == {"$ref": "#/components/responses/Conflict"}
    get = spec["paths"]["/api/v1/orders/{order_id}"]["get"]
    assert set(get["responses"]) == {"200", "401", "404", "429", "503"}
    assert "Retry-After" in spec["components"]["responses"]["TooManyRequests"]["headers"]


def test_parameters(spec):
    listing = spec["paths"]["/api/v1/customers/{number}/orders"]["get"]
    params = {(p["in"], p["name"]): p for p in listing["parameters"]}
    assert params[("path", "number")]["required"] is True
    assert params[("path", "number")]["schema"] == {"type": "string"}
    assert params[("query", "page_size")]["schema"]["maximum"] == 100
    assert params[("query", "page_size")]["schema"]["default"] == 20
    assert params[("query", "page")]["schema"]["minimum"] == 1
    assert params[("query", "status")]["schema"]["enum"] == ["open", "closed"]
    assert params[("query", "tag")]["schema"]["type"] == "array"
    get = spec["paths"]["/api/v1/orders/{order_id}"]["get"]
    assert get["parameters"] == [
        {"in": "path", "name": "order_id", "required": True,
         "schema": {"type": "integer", "minimum": 0}}]
    post = spec["paths"]["/api/v1/orders"]["post"]
    header = [p for p in post["parameters"] if p["in"] == "header"]
    assert [h["name"] for h in header] == ["Idempotency-Key"] and header[0]["required"] is False
    assert header[0]["schema"]["maxLength"] == http.IDEMPOTENCY_KEY_MAX
    assert not any(p["in"] == "header" for p in get["parameters"])


def test_security_roles_and_bodies(spec):
    post = spec["paths"]["/api/v1/orders"]["post"]
    assert post["security"] == [{"bearerAuth": []}, {"apiToken": []}]
    assert post["x-roles"] == ["sales_rep", "sales_manager"]
    assert "sales_rep" in post["description"]
    assert spec["paths"]["/api/v1/ping"]["get"]["security"] == []
    assert post["requestBody"]["required"] is True
    assert post["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/OrderCreate"}
    assert post["responses"]["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Order"}
    patch = spec["paths"]["/api/v1/orders/{order_id}/notes"]["patch"]
    assert patch["requestBody"]["required"] is False
    note_ref = patch["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert "required" not in _resolve(spec, note_ref)  # partial: every field optional
    assert patch["responses"]["204"] == {"description": "Done; no content."}
    listing = spec["paths"]["/api/v1/customers/{number}/orders"]["get"]
    assert listing["description"] == "Newest first."
    page_ref = listing["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    page = _resolve(spec, page_ref)
    assert set(page["required"]) == {"items", "total", "total_exact", "page", "page_size"}
    assert page["properties"]["items"]["items"] == {"$ref": "#/components/schemas/Order"}


def test_field_types_defaults_and_required(spec):
    schemas = spec["components"]["schemas"]
    create, order, line = schemas["OrderCreate"], schemas["Order"], schemas["OrderLine"]
    assert set(create["required"]) == {"customer", "lines"}
    assert create["properties"]["currency"]["default"] == "CNY"
    assert create["properties"]["deliver_on"]["format"] == "date"
    assert create["properties"]["deliver_on"]["nullable"] is True
    assert order["properties"]["placed_at"] == {"type": "string", "format": "date-time"}
    price = line["properties"]["unit_price"]
    assert price["type"] == "string" and price["format"] == "decimal"
    assert "minimum" not in price and price["x-minimum"] == "0.00"
    assert order["properties"]["total"]["type"] == "string"
    assert re.match(price["pattern"], "12.50") and not re.match(price["pattern"], "1.234")
    assert not re.match(price["pattern"], "1e5")


def test_document_agrees_with_the_dumped_answer(client, spec):
    """A response is dumped through the schema the document names, field for field."""
    answer = client.get("/api/v1/orders/1").get_json()
    assert set(answer) <= set(spec["components"]["schemas"]["Order"]["properties"])


def test_docs_page_points_at_the_document(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert 'data-spec="/api/v1/openapi.json"' in page
    assert '<script src="/api/v1/docs/assets/swagger-ui-bundle.js" integrity="sha384-' in page
    assert "https://" not in page  # served by the gateway, not a CDN
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "<title>Test API</title>" in page


def test_build_spec_from_a_registry_directly(app):
    with app.app_context():
        spec = openapi.build_spec(Registry.from_app(app))
    assert spec["info"]["title"] == "Guanxi CRM API"
    assert "/api/v1/undocumented" not in spec["paths"]


def test_page_and_paginate_args_are_stable_classes():
    assert Page(OrderSchema) is Page(OrderSchema)
    assert paginate_args(50) is paginate_args(50) and paginate_args(50) is not paginate_args(60)
    with Flask("x").app_context():
        assert paginate_args() is paginate_args(100)
