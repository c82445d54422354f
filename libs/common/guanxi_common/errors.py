"""Typed errors that cross Nameko RPC and are raised again as the same type.

Every error carries JSON-safe constructor arguments only, because Nameko
serialises ``exc.args`` and the registry rebuilds the instance on the caller's
side with ``cls(*exc_args)``.
"""
from contextlib import contextmanager

from nameko.exceptions import deserialize_to_instance

from guanxi_common.rules import DomainRuleError


@deserialize_to_instance
class GuanxiError(Exception):
    """Base for errors a caller is expected to handle. ``status`` is the HTTP mapping."""

    status = 500
    code = "error"

    def __init__(self, message="", details=None):
        details = details or {}
        super().__init__(message, details)
        self.message = message
        self.details = details

    def __str__(self):
        return self.message

    def to_dict(self):
        return {"type": type(self).__name__, "code": self.code,
                "message": self.message, "details": self.details}


@deserialize_to_instance
class NotFound(GuanxiError):
    status = 404
    code = "not_found"


@deserialize_to_instance
class ValidationFailed(GuanxiError):
    """``details`` maps a field (dotted path for nested fields) to a list of reasons."""

    status = 422
    code = "validation_failed"

    @property
    def field_errors(self):
        return self.details


@deserialize_to_instance
class Conflict(GuanxiError):
    status = 409
    code = "conflict"


@deserialize_to_instance
class Forbidden(GuanxiError):
    status = 403
    code = "forbidden"


@deserialize_to_instance
class BusinessRuleViolation(GuanxiError):
    """A domain rule refused the command; ``details['rule']`` names it (e.g. ``credit_limit``)."""

    status = 422
    code = "business_rule_violation"

    def __init__(self, message="", details=None):
        super().__init__(message, details)

    @property
    def rule(self):
        return self.details.get("rule")


@deserialize_to_instance
class ServiceUnavailable(GuanxiError):
    """A downstream service or the broker did not answer within the timeout."""

    status = 503
    code = "service_unavailable"


def flatten_marshmallow(messages, prefix=""):
    """Turn marshmallow's nested error dict into ``{"a.b.0.c": ["reason"]}``."""
    flat = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            flat.update(flatten_marshmallow(value, path))
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        flat[prefix or "_schema"] = list(messages)
    elif isinstance(messages, list):
        for index, value in enumerate(messages):
            flat.update(flatten_marshmallow(value, f"{prefix}.{index}" if prefix else str(index)))
    else:
        flat[prefix or "_schema"] = [str(messages)]
    return flat


@contextmanager
def domain_rules(**extra):
    """The one translation point from a pure rule's refusal to the wire: a
    ``DomainRuleError`` leaves as ``BusinessRuleViolation`` with its message, its code as
    ``details['rule']``, its own details, and ``extra`` context such as the order number
    (``None`` values left out). The chassis' ``rpc`` entrypoint applies it to every call,
    so a service uses it by hand only to add context."""
    try:
        yield
    except DomainRuleError as error:
        details = {"rule": error.code, **error.details}
        details.update({k: v for k, v in extra.items() if v is not None})
        raise BusinessRuleViolation(error.message, details) from None
