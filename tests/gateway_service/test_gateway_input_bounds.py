"""Bad input is refused at the gateway's edge, naming the field and the reason, before any
service is called (the fake pool fails a test that reaches one): invalid Unicode, NaN,
deep nesting, unbounded pages, blank names, money outside its pattern, unbounded
quantities; and every bound is in the OpenAPI document in standard keywords."""
import re

import pytest

from gateway_fake_kit import assert_problem

ALL_OVER = "1" + "0" * 30  # page=10^30


def _post_raw(gateway, caller, path, body):
    return gateway.call("POST", caller, path, data=body,
                        headers={"Content-Type": "application/json"})


# ---- Unicode -------------------------------------------------------------------------------

def test_lone_surrogate_in_the_token_request_is_422_naming_the_field(gateway):
    answer = gateway.client.post("/api/v1/auth/token", data='{"username": "\\ud800", '
                                 '"password": "x"}', headers={"Content-Type": "application/json"})
    problem = assert_problem(answer, 422, "validation_failed")
    assert "Unicode" in problem["errors"]["username"][0]


@pytest.mark.parametrize("body", [
    '{"party_type": "company", "name": "\\ud800Acme"}',
    '{"party_type": "company", "name": "Acme", "tags": ["ok", "\\udfff"]}',
    '{"party_type": "company", "name": "Acme", "preferences": {"k": ["\\ud800"]}}',
])
def test_lone_surrogate_anywhere_in_a_body_is_422(gateway, body):
    problem = assert_problem(_post_raw(gateway, "admin", "/customers", body), 422)
    assert problem["errors"]


@pytest.mark.parametrize("name", ["Acme\u0000Ltd", "Acme\nLtd", "Acme\u0007"])
def test_control_characters_in_a_name_are_refused(gateway, name):
    problem = assert_problem(gateway.call("POST", "admin", "/customers", json={
        "party_type": "company", "name": name}), 422)
    assert "name" in problem["errors"]


def test_nul_in_free_text_is_refused_but_line_breaks_are_not_checked_away(gateway):
    problem = assert_problem(gateway.call("POST", "admin", "/customers", json={
        "party_type": "company", "name": "Acme", "tags": ["a\u0000b"]}), 422)
    assert "tags.0" in problem["errors"]


# ---- JSON numbers and nesting --------------------------------------------------------------

@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_non_finite_numbers_are_malformed_json(gateway, literal):
    body = '{"party_type": "company", "name": "Acme", "preferences": {"s": %s}}' % literal
    problem = assert_problem(_post_raw(gateway, "admin", "/customers", body), 400, "bad_request")
    assert "JSON" in problem["detail"] or "number" in problem["detail"]


@pytest.mark.parametrize("depth", [40, 1000, 100_000])
def test_deep_nesting_is_refused_not_a_500(gateway, depth):
    body = ('{"party_type": "company", "name": "Acme", "preferences": {"s": '
            + "[" * depth + "]" * depth + "}}")
    problem = assert_problem(_post_raw(gateway, "admin", "/customers", body), 400, "bad_request")
    assert "deeper" in problem["detail"]


def test_nesting_up_to_the_bound_is_parsed_and_judged_by_the_contract(gateway):
    body = ('{"name": "Acme", "preferences": {"s": '
            + "[" * 30 + "]" * 30 + "}}")  # 32 levels with the body and preferences
    problem = assert_problem(_post_raw(gateway, "admin", "/customers", body), 422)
    assert set(problem["errors"]) == {"party_type"}


# ---- pages ---------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/users", "/opportunities", "/activities", "/products",
                                  "/customers/C00000001/history", "/customers", "/orders",
                                  "/invoices"])
@pytest.mark.parametrize("query", [f"page={ALL_OVER}", f"page_size={ALL_OVER}", "page=0",
                                   "page=100001"])
def test_every_page_and_page_size_is_bounded(gateway, path, query):
    problem = assert_problem(gateway.call("GET", "admin", f"{path}?{query}"), 422)
    assert set(problem["errors"]) & {"page", "page_size"}


def test_every_paginated_operation_documents_its_page_bounds(gateway):
    spec = gateway.client.get("/api/v1/openapi.json").get_json()
    paginated = 0
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            params = {p["name"]: p["schema"] for p in operation.get("parameters", [])
                      if p["in"] == "query"}
            if "page" not in params:
                continue
            paginated += 1
            for name in ("page", "page_size"):
                assert params[name]["minimum"] == 1, (path, method, name)
                assert params[name]["maximum"] >= 1, (path, method, name)
            assert params["page"]["maximum"] == 100_000
    assert paginated >= 8


# ---- names ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["", "   ", "\u3000\t "])
def test_a_blank_name_is_refused_on_create_and_update(gateway, name):
    created = assert_problem(gateway.call("POST", "admin", "/customers", json={
        "party_type": "company", "name": name}), 422)
    assert "name" in created["errors"]
    updated = assert_problem(gateway.call("PATCH", "admin", "/customers/C00000001",
                                          json={"name": name}), 422)
    assert "name" in updated["errors"]


# ---- money and quantities ------------------------------------------------------------------

@pytest.mark.parametrize("limit", ["0.001", "1e3", " 5.00", "+5", ".5", "5.", "-1",
                                   "99999999999999999999.99", "1000000000000", 12.5])
def test_credit_limits_outside_the_money_pattern_are_refused_not_rounded(gateway, limit):
    problem = assert_problem(gateway.call("PUT", "credit", "/customers/C00000001/credit-limit",
                                          json={"credit_limit": limit,
                                                "credit_policy": "block"}), 422)
    assert "credit_limit" in problem["errors"]


@pytest.mark.parametrize("amount", [" 5.00", "+5", ".5", "1e10", "0", "0.00", "5.001",
                                    "NaN", "Infinity", "1000000000000"])
def test_payments_outside_their_documented_pattern_are_refused(gateway, amount):
    problem = assert_problem(gateway.call("POST", "admin", "/payments", json={
        "invoice": "INV-2026-000001", "amount": amount}), 422)
    assert "amount" in problem["errors"]
    pattern = _request_property(gateway, "/api/v1/payments", "post", "amount")["pattern"]
    assert not re.search(pattern, amount)


@pytest.mark.parametrize("quantity", ["99999999999999999999", "1000000", "0", "0.0001",
                                      "-1", "1e3"])
def test_order_quantities_are_bounded(gateway, quantity):
    problem = assert_problem(gateway.call("POST", "admin", "/orders", json={
        "sold_to": "C00000001", "lines": [{"product": "SKU-1", "quantity": quantity}]}), 422)
    assert "lines.0.quantity" in problem["errors"]


def _request_property(gateway, path, method, name):
    spec = gateway.client.get("/api/v1/openapi.json").get_json()
    schema = spec["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
    return _resolve(spec, schema)["properties"][name]


def _resolve(spec, schema):
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


@pytest.mark.parametrize(("path", "method", "name", "accepted", "refused"), [
    ("/api/v1/payments", "post", "amount", ["0.01", "5", "999999999999.99"],
     ["0", "0.00", " 5", "+5", ".5", "1e3", "5.001", "1000000000000", "05"]),
    ("/api/v1/customers", "post", "credit_limit", ["0", "0.5", "999999999999.99"],
     ["-1", "0.001", "1e3", "1000000000000"]),
    ("/api/v1/customers", "post", "registered_capital", ["9999999999999999.99"],
     ["10000000000000000"]),
    ("/api/v1/products", "post", "tax_rate", ["0", "0.13", "0.9999"], ["1", "0.13001", "-0"]),
])
def test_decimal_inputs_state_their_rule_as_a_standard_pattern(gateway, path, method, name,
                                                               accepted, refused):
    prop = _request_property(gateway, path, method, name)
    assert prop["type"] == "string" and prop["maxLength"] >= 1
    assert not [key for key in prop if key.startswith("x-")], prop
    for value in accepted:
        assert re.search(prop["pattern"], value) and len(value) <= prop["maxLength"], value
    for value in refused:
        assert not re.search(prop["pattern"], value), value


def test_names_state_their_bounds_in_the_document(gateway):
    prop = _request_property(gateway, "/api/v1/customers", "post", "name")
    assert prop["minLength"] == 1 and prop["maxLength"] == 200
    assert not re.search(prop["pattern"], "Acme\u0000") and re.search(prop["pattern"], "华为")


# ---- the document bounds every input --------------------------------------------------------

def test_every_input_of_the_document_is_bounded_in_standard_keywords(gateway):
    """So a frontend (and the fuzz run, which generates from the document) knows every
    limit: strings by maxLength, enum, format or pattern; numbers by minimum and maximum;
    arrays by maxItems. Path parameters are bounded by the request line."""
    spec = gateway.client.get("/api/v1/openapi.json").get_json()
    unbounded = []

    def walk(schema, where):
        schema = _resolve(spec, schema)
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next(k for k in kind if k != "null")
        if kind == "object" or "properties" in schema:
            for name, prop in schema.get("properties", {}).items():
                walk(prop, f"{where}.{name}")
            if isinstance(schema.get("additionalProperties"), dict):
                walk(schema["additionalProperties"], f"{where}.*")
        elif kind == "array":
            if "maxItems" not in schema:
                unbounded.append(f"{where}: maxItems")
            walk(schema.get("items", {}), f"{where}[]")
        elif kind == "string":
            if not {"maxLength", "enum", "format", "pattern"} & set(schema):
                unbounded.append(f"{where}: maxLength")
        elif kind in ("integer", "number"):
            if not {"minimum", "maximum"} <= set(schema):
                unbounded.append(f"{where}: minimum/maximum")
        assert not [key for key in schema if key.startswith("x-")], (where, schema)

    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            label = f"{method.upper()} {path}"
            for param in operation.get("parameters", []):
                if param["in"] != "path":
                    walk(param["schema"], f"{label} ?{param['name']}")
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body:
                walk(body["schema"], f"{label} body")
    assert not unbounded, "\n".join(unbounded)


@pytest.mark.parametrize("segment", ["%05H%1F", "A%00B", "SKU%0A1", "%C2%85"])
def test_a_path_segment_that_cannot_name_a_record_is_404(gateway, segment):
    assert_problem(gateway.call("GET", "admin", f"/products/{segment}"), 404, "not_found")
    assert_problem(gateway.call("GET", "admin", f"/customers/{segment}"), 404, "not_found")
