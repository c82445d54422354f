"""Errors as RFC 7807 ``application/problem+json`` bodies with the HTTP status that fits.

Frontends key on ``type`` (a stable URI per error code) and ``status``; ``detail`` is for
people. Typed errors from the services (guanxi_common.errors) are meant for callers, so
their message and details are shown. Everything else -- Nameko's transport errors, a
``RemoteError`` carrying a service's exception, any unexpected exception -- says only what
kind of failure it was and the request id to quote: exception text, types and tracebacks
stay in the log, never in the response.
"""
import logging
import math
from http import HTTPStatus

from marshmallow import ValidationError as MarshmallowValidationError
from nameko.exceptions import BadRequest, MethodNotFound, RemoteError, RpcTimeout, UnknownService
from werkzeug.exceptions import HTTPException

from guanxi_common.errors import (
    BusinessRuleViolation, GuanxiError, ServiceUnavailable, ValidationFailed, flatten_marshmallow,
)

_log = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://guanxi.example/problems/"

TITLES = {
    "bad_request": "Bad request",
    "unauthenticated": "Authentication required",
    "invalid_token": "Invalid token",
    "forbidden": "Forbidden",
    "not_found": "Not found",
    "conflict": "Conflict",
    "validation_failed": "Validation failed",
    "business_rule_violation": "Business rule violated",
    "rate_limited": "Too many requests",
    "service_unavailable": "Service unavailable",
    "internal_error": "Internal error",
}

_RESERVED = frozenset({"type", "title", "status", "detail", "instance", "request_id", "code"})

_INTERNAL_DETAIL = "An unexpected error occurred. Quote the request id when reporting it."
_UNAVAILABLE_DETAIL = ("A service this request needs did not answer in time. "
                       "Try again shortly.")


class Unauthenticated(GuanxiError):
    """No credentials, or credentials that did not check out (bad, expired, revoked)."""

    status = 401
    code = "unauthenticated"


class RateLimited(GuanxiError):
    """The principal went over its rate; ``details['retry_after']`` is in seconds."""

    status = 429
    code = "rate_limited"

    @property
    def retry_after(self):
        return self.details.get("retry_after")


def problem_type(code):
    return PROBLEM_TYPE_BASE + code


def problem_for(exc, instance=None, request_id=None):
    """``(status, body)`` for ``exc``; an unexpected exception is logged with its traceback."""
    status, code, detail, extensions = _classify(exc, request_id)
    body = {
        "type": problem_type(code),
        "title": TITLES.get(code) or _phrase(status),
        "status": status,
        "detail": detail or TITLES.get(code) or _phrase(status),
        "code": code,
    }
    if instance is not None:
        body["instance"] = instance
    if request_id is not None:
        body["request_id"] = request_id
    for key, value in extensions.items():
        if key not in _RESERVED:
            body[key] = _json_safe(value)
    return status, body


def problem_body(status, detail=None):
    """The body of a problem the app did not raise (gunicorn's own answers): the generic
    code and title of ``status``."""
    code = _http_code(status) if 400 <= status < 500 else "internal_error"
    title = TITLES.get(code) or _phrase(status)
    return {"type": problem_type(code), "title": title, "status": status,
            "detail": detail or (_INTERNAL_DETAIL if status >= 500 else title), "code": code}


def problem_headers(exc):
    """Headers the status calls for: ``WWW-Authenticate`` on 401, ``Retry-After`` on 429/503."""
    if isinstance(exc, GuanxiError) and exc.status == 401:
        error = ', error="invalid_token"' if exc.code == "invalid_token" else ""  # RFC 6750
        return {"WWW-Authenticate": f'Bearer realm="guanxi"{error}'}
    if isinstance(exc, RateLimited) and isinstance(exc.retry_after, (int, float)):
        return {"Retry-After": str(max(1, math.ceil(exc.retry_after)))}
    if isinstance(exc, (ServiceUnavailable, RpcTimeout, UnknownService)):
        return {"Retry-After": "1"}  # outages are answered fast; a retry soon is reasonable
    return {}


def _classify(exc, request_id):
    """``(status, code, detail, extensions)``: the order matters, subclasses first."""
    if isinstance(exc, ValidationFailed):
        return 422, "validation_failed", exc.message or "The request is not valid.", {
            "errors": _field_errors(exc.details)}
    if isinstance(exc, MarshmallowValidationError):
        return 422, "validation_failed", "The request is not valid.", {
            "errors": flatten_marshmallow(exc.messages)}
    if isinstance(exc, ServiceUnavailable):
        extensions = {}
        service = exc.details.get("service") if isinstance(exc.details, dict) else None
        if isinstance(service, str):
            extensions["service"] = service
        return 503, "service_unavailable", _UNAVAILABLE_DETAIL, extensions
    if isinstance(exc, BusinessRuleViolation):
        return 422, exc.code, exc.message, {**_details(exc), "rule": exc.rule}
    if isinstance(exc, RateLimited):
        return 429, exc.code, exc.message or "Too many requests.", _details(exc)
    if isinstance(exc, GuanxiError) and 400 <= exc.status < 500:
        return exc.status, exc.code, exc.message, _details(exc)
    if isinstance(exc, (RpcTimeout, UnknownService)):
        return 503, "service_unavailable", _UNAVAILABLE_DETAIL, {}
    if isinstance(exc, MethodNotFound):
        return 404, "not_found", "The requested operation does not exist.", {}
    if isinstance(exc, BadRequest):  # MalformedRequest, IncorrectSignature
        return 400, "bad_request", "The request could not be processed.", {}
    if isinstance(exc, HTTPException) and exc.code and 400 <= exc.code < 500:
        # Werkzeug's own 4xx (unknown route, wrong method, body too large): generic texts.
        return exc.code, _http_code(exc.code), exc.description or _phrase(exc.code), {}
    # RemoteError (a service's unexpected exception), a 5xx GuanxiError, anything else.
    _log.error("unhandled error answered as 500 (request %s)", request_id,
               exc_info=(type(exc), exc, exc.__traceback__),
               extra={"request_id": request_id, "remote": isinstance(exc, RemoteError)})
    return 500, "internal_error", _INTERNAL_DETAIL, {}


def _details(exc):
    return dict(exc.details) if isinstance(exc.details, dict) else {}


def _field_errors(details):
    """``{field: [reasons]}`` whatever shape the details arrived in."""
    if not isinstance(details, dict):
        return {"_schema": [str(details)]} if details else {}
    return {str(field): [str(r) for r in reasons] if isinstance(reasons, (list, tuple))
            else [str(reasons)] for field, reasons in details.items()}


def _http_code(status):
    return {400: "bad_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found",
            409: "conflict", 414: "uri_too_long", 422: "validation_failed", 429: "rate_limited",
            431: "request_header_fields_too_large"}.get(
        status, _phrase(status).lower().replace(" ", "_").replace("-", "_"))


def _phrase(status):
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _json_safe(value):
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_json_safe(v) for v in value]
    return str(value)  # Decimal, UUID, datetime: their string form is the wire form
