"""Marshmallow schemas of the gateway's own endpoints (auth, users, API tokens).

Input schemas refuse unknown fields, so a typo such as ``usename`` is named in a 422
rather than ignored. The same classes describe the OpenAPI document.
"""
from marshmallow import Schema, fields, validate

from guanxi_common.contracts.fields import StrictSchema, name_text

from gateway.roles import ROLES
from gateway.security import MAX_TOKEN_LENGTH, PASSWORD_MAX_LENGTH

ROLE = fields.String(validate=validate.OneOf(list(ROLES)))
USERNAME = [validate.Length(min=3, max=64),
            validate.Regexp(r"^[^\s/\\:]+$", error="must not contain spaces, slashes or colons")]
#: documents the policy's bound (security.check_password_policy enforces it)
PASSWORD_BOUND = {"maxLength": PASSWORD_MAX_LENGTH}
REGION = validate.Length(min=1, max=40)


class LoginSchema(StrictSchema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(required=True,
                             validate=validate.Length(min=1, max=PASSWORD_MAX_LENGTH))


class RefreshSchema(StrictSchema):
    refresh_token = fields.String(required=True,
                                  validate=validate.Length(min=1, max=MAX_TOKEN_LENGTH))


class TokenResponseSchema(Schema):
    access_token = fields.String(required=True)
    refresh_token = fields.String(required=True)
    token_type = fields.String(required=True, metadata={"enum": ["bearer"]})
    expires_in = fields.Integer(required=True, metadata={"description": "seconds"})


DISPLAY_NAME = validate.Length(min=1, max=100)


class UserCreateSchema(StrictSchema):
    username = fields.String(required=True, validate=USERNAME)
    display_name = name_text(DISPLAY_NAME.max, load_default=None, allow_none=True)
    # The policy itself (length, not blank) is checked by security.check_password_policy.
    password = fields.String(required=True, metadata=PASSWORD_BOUND)
    roles = fields.List(ROLE, required=True, validate=validate.Length(min=1, max=len(ROLES)))
    region = fields.String(load_default=None, allow_none=True, validate=REGION)
    active = fields.Boolean(load_default=True)


class UserSchema(Schema):
    id = fields.String()
    username = fields.String()
    display_name = fields.String(allow_none=True)
    roles = fields.List(fields.String())
    region = fields.String(allow_none=True)
    active = fields.Boolean()
    created_at = fields.DateTime()


class MeSchema(Schema):
    user_id = fields.String()
    username = fields.String(allow_none=True)
    roles = fields.List(fields.String())
    region = fields.String(allow_none=True)
    kind = fields.String(metadata={"enum": ["user", "service"]})
    token_id = fields.String(allow_none=True)


class ApiTokenCreateSchema(StrictSchema):
    name = name_text(100, required=True)
    username = fields.String(load_default=None, allow_none=True, validate=USERNAME,
                             metadata={"description": "the token's user; default: the caller"})
    roles = fields.List(ROLE, load_default=None, allow_none=True,
                        validate=validate.Length(min=1, max=len(ROLES)),
                        metadata={"description": "default: all roles of the user"})
    region = fields.String(load_default=None, allow_none=True, validate=REGION)


class ApiTokenSchema(Schema):
    id = fields.String()
    name = fields.String()
    user_id = fields.String()
    roles = fields.List(fields.String())
    region = fields.String(allow_none=True)
    created_at = fields.DateTime()
    revoked_at = fields.DateTime(allow_none=True)
    last_used_at = fields.DateTime(allow_none=True)


class ApiTokenCreatedSchema(ApiTokenSchema):
    token = fields.String(metadata={"description": "the plaintext, shown only in this answer"})


class ApiTokenListQuerySchema(StrictSchema):
    include_revoked = fields.Boolean(load_default=False)
