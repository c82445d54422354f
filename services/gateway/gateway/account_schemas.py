"""Schemas of account management: an admin's changes to a user, password changes.

Kept beside ``gateway.schemas`` (logins, users, API tokens), whose field rules they reuse.
"""
from marshmallow import fields, validate

from gateway.roles import ROLES
from gateway.schemas import DISPLAY_NAME, PASSWORD_BOUND, REGION, ROLE, StrictSchema
from gateway.security import PASSWORD_MAX_LENGTH


class UserUpdateSchema(StrictSchema):
    """Only the fields sent change. ``active: false`` disables the user: their logins end
    and their access and API tokens stop working."""

    display_name = fields.String(allow_none=True, validate=DISPLAY_NAME)
    roles = fields.List(ROLE, validate=validate.Length(min=1, max=len(ROLES)))
    region = fields.String(allow_none=True, validate=REGION)
    active = fields.Boolean()


class PasswordChangeSchema(StrictSchema):
    current_password = fields.String(required=True,
                                     validate=validate.Length(min=1, max=PASSWORD_MAX_LENGTH))
    # The policy itself (length, not blank) is checked by security.check_password_policy.
    new_password = fields.String(required=True, metadata=PASSWORD_BOUND)


class PasswordSetSchema(StrictSchema):
    password = fields.String(required=True, metadata=PASSWORD_BOUND)
