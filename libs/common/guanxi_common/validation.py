"""Input validation at the edge: marshmallow errors become ValidationFailed naming fields."""
from marshmallow import ValidationError

from guanxi_common.errors import ValidationFailed, flatten_marshmallow


def load(schema, payload, *, field=None, partial=False):
    """Load ``payload`` with ``schema``; errors are ``{"field.path": [reasons]}``, paths
    relative to the payload (what an HTTP client sent as the body). ``field`` names the
    argument when the payload is not an object at all.
    """
    if not isinstance(payload, dict):
        raise ValidationFailed(f"{field or 'payload'} must be an object",
                               {field or "_schema": ["must be an object"]})
    try:
        return schema.load(payload, partial=partial)
    except ValidationError as exc:
        errors = flatten_marshmallow(exc.messages)
        summary = "; ".join(f"{k}: {', '.join(map(str, v))}" for k, v in list(errors.items())[:5])
        raise ValidationFailed(f"invalid input: {summary}", errors) from None


def text_arg(name, value, *, max_length=200, required=True):
    """A plain string argument of an RPC (a customer reference, a reason)."""
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed(f"{name} must be a non-empty string", {name: ["must be a non-empty string"]})
    if len(value) > max_length:
        raise ValidationFailed(f"{name} is too long", {name: [f"at most {max_length} characters"]})
    return value.strip()


def int_arg(name, value, *, minimum=None, maximum=None):
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed(f"{name} must be an integer", {name: ["must be an integer"]})
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ValidationFailed(f"{name} is out of range",
                               {name: [f"must be between {minimum} and {maximum}"]})
    return value
