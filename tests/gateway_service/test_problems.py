"""gateway.problems: every error becomes an RFC 7807 body with the right status, and nothing
internal (exception text, types, tracebacks) leaks from errors callers were not meant to see."""
import json
import logging
from decimal import Decimal

import pytest
from marshmallow import Schema, fields
from nameko.exceptions import (
    IncorrectSignature, MalformedRequest, MethodNotFound, RemoteError, RpcTimeout,
)
from werkzeug.exceptions import MethodNotAllowed, RequestEntityTooLarge
from werkzeug.exceptions import NotFound as WerkzeugNotFound

from gateway.problems import (
    PROBLEM_CONTENT_TYPE, RateLimited, Unauthenticated, problem_for, problem_headers,
)
from guanxi_common.errors import (
    BusinessRuleViolation, Conflict, Forbidden, GuanxiError, NotFound, ServiceUnavailable,
    ValidationFailed,
)

SECRET = "postgresql://crm:hunter2@db/customer"


def body_of(exc, **kwargs):
    status, body = problem_for(exc, **kwargs)
    json.dumps(body)  # always serialisable as it stands
    assert body["status"] == status
    assert body["type"] == f"https://guanxi.example/problems/{body['code']}"
    return status, body


def test_content_type():
    assert PROBLEM_CONTENT_TYPE == "application/problem+json"


def test_not_found_carries_instance_request_id_and_details():
    status, body = body_of(NotFound("customer C00000009 not found", {"number": "C00000009"}),
                           instance="/api/v1/customers/C00000009", request_id="req-1")
    assert status == 404
    assert body == {
        "type": "https://guanxi.example/problems/not_found", "title": "Not found", "status": 404,
        "detail": "customer C00000009 not found", "code": "not_found",
        "instance": "/api/v1/customers/C00000009", "request_id": "req-1", "number": "C00000009"}


def test_validation_failed_lists_reasons_per_field():
    status, body = body_of(ValidationFailed("invalid customer",
                                            {"name": ["required"], "phones.0": ["bad number"]}))
    assert status == 422 and body["code"] == "validation_failed"
    assert body["errors"] == {"name": ["required"], "phones.0": ["bad number"]}
    assert body["detail"] == "invalid customer"


def test_validation_failed_with_bare_reasons_still_gives_lists():
    _, body = body_of(ValidationFailed("bad", {"email": "not an email"}))
    assert body["errors"] == {"email": ["not an email"]}


def test_marshmallow_errors_are_validation_failures_with_dotted_fields():
    class Address(Schema):
        city = fields.String(required=True)

    class Customer(Schema):
        name = fields.String(required=True)
        addresses = fields.List(fields.Nested(Address))

    with pytest.raises(Exception) as raised:
        Customer().load({"addresses": [{}]})
    status, body = body_of(raised.value)
    assert status == 422
    assert body["errors"] == {"name": ["Missing data for required field."],
                              "addresses.0.city": ["Missing data for required field."]}


def test_conflict_keeps_its_details():
    status, body = body_of(Conflict("phone 13800000000 already belongs to customer C00000002",
                                    {"field": "phone", "existing_number": "C00000002"}))
    assert status == 409 and body["code"] == "conflict" and body["title"] == "Conflict"
    assert body["existing_number"] == "C00000002" and body["field"] == "phone"


def test_a_service_specific_subclass_keeps_its_base_status():
    class DuplicatePhone(Conflict):
        pass

    status, body = body_of(DuplicatePhone("phone already used", {"existing_number": "C1"}))
    assert status == 409 and body["code"] == "conflict"


def test_forbidden():
    status, body = body_of(Forbidden("u1 may not read customer C00000001",
                                     {"customer": "C00000001"}))
    assert status == 403 and body["code"] == "forbidden" and body["customer"] == "C00000001"


def test_business_rule_violation_names_its_rule():
    status, body = body_of(BusinessRuleViolation(
        "credit limit exceeded",
        {"rule": "credit_limit", "limit": Decimal("5000.00"), "over": None}))
    assert status == 422 and body["code"] == "business_rule_violation"
    assert body["rule"] == "credit_limit" and body["limit"] == "5000.00" and body["over"] is None


def test_details_cannot_overwrite_the_standard_members():
    _, body = body_of(Conflict("clash", {"status": 200, "type": "x", "request_id": "forged"}),
                      request_id="req-2")
    assert body["status"] == 409 and body["request_id"] == "req-2"
    assert body["type"].endswith("/conflict")


def test_unauthenticated_is_401_with_a_challenge():
    exc = Unauthenticated("token expired")
    status, body = body_of(exc)
    assert status == 401 and body["code"] == "unauthenticated"
    assert problem_headers(exc) == {"WWW-Authenticate": 'Bearer realm="guanxi"'}


def test_a_refused_token_is_401_with_the_bearer_error():
    class TokenRefused(GuanxiError):
        status = 401
        code = "invalid_token"

    status, body = body_of(TokenRefused("token refused: expired", {"reason": "expired"}))
    assert status == 401 and body["title"] == "Invalid token" and body["reason"] == "expired"
    assert problem_headers(TokenRefused()) == {
        "WWW-Authenticate": 'Bearer realm="guanxi", error="invalid_token"'}


def test_rate_limited_is_429_with_retry_after():
    exc = RateLimited("too many requests", {"retry_after": 2.2})
    status, body = body_of(exc)
    assert status == 429 and body["code"] == "rate_limited" and body["retry_after"] == 2.2
    assert problem_headers(exc) == {"Retry-After": "3"}


@pytest.mark.parametrize("exc", [
    ServiceUnavailable("customer.get unreachable: [Errno 111] Connection refused",
                       {"service": "customer", "method": "get", "timeout": 5.0}),
    RpcTimeout(5),
])
def test_unavailable_is_503_without_transport_text(exc):
    status, body = body_of(exc)
    assert status == 503 and body["code"] == "service_unavailable"
    assert "Errno" not in json.dumps(body) and "unreachable" not in json.dumps(body)
    assert problem_headers(exc) == {"Retry-After": "1"}


def test_unavailable_names_the_service_only():
    _, body = body_of(ServiceUnavailable("x", {"service": "sales", "method": "list_orders"}))
    assert body["service"] == "sales" and "method" not in body


@pytest.mark.parametrize("exc, status, code", [
    (MalformedRequest("request body must be a JSON object: {'secret': 1}"), 400, "bad_request"),
    (IncorrectSignature("get() takes 2 positional arguments but 3 were given"), 400, "bad_request"),
    (MethodNotFound("unknown method `drop_all_tables`"), 404, "not_found"),
])
def test_nameko_request_errors_say_nothing_internal(exc, status, code):
    got, body = body_of(exc)
    assert (got, body["code"]) == (status, code)
    text = json.dumps(body)
    for leak in ("JSON object", "secret", "positional", "drop_all_tables", type(exc).__name__):
        assert leak not in text


def test_werkzeug_client_errors_keep_their_status():
    assert body_of(WerkzeugNotFound())[0] == 404
    assert body_of(MethodNotAllowed(valid_methods=["GET"]))[0] == 405
    status, body = body_of(RequestEntityTooLarge())
    assert status == 413 and body["code"] == "request_entity_too_large"


@pytest.mark.parametrize("exc", [
    RemoteError("OperationalError", f"could not connect to {SECRET}"),
    KeyError(SECRET),
    RuntimeError(f"boom at {SECRET}"),
    GuanxiError(f"generic failure {SECRET}", {"dsn": SECRET}),
])
def test_anything_else_is_a_500_with_the_request_id_and_no_internals(exc, caplog):
    try:
        raise exc  # give it a traceback, as a real one would have
    except Exception as raised:
        with caplog.at_level(logging.ERROR, logger="gateway.problems"):
            status, body = body_of(raised, instance="/api/v1/customers", request_id="req-9")
    assert status == 500
    assert body == {
        "type": "https://guanxi.example/problems/internal_error", "title": "Internal error",
        "status": 500, "code": "internal_error", "instance": "/api/v1/customers",
        "request_id": "req-9",
        "detail": "An unexpected error occurred. Quote the request id when reporting it."}
    # ... while the log keeps what an operator needs.
    assert any(record.exc_info and "req-9" in record.getMessage() for record in caplog.records)
