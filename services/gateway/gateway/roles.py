"""The CRM's role catalogue as the gateway uses it: which roles a user or account may hold.

The catalogue (role names, what each is for, which ones read or write regionally) is a
wire contract in ``guanxi_common.contracts.roles``, and the record-level rules (who reads
or changes which customer) live once in ``guanxi_common.access`` because the services
enforce them too. An endpoint names the roles it lets in (``gateway.http.endpoint(roles=
...)``, checked with ``access.ensure_role``); what is left here is the catalogue check of
the roles given to users and service accounts.
"""
from guanxi_common.contracts.roles import ADMIN, DESCRIPTIONS  # noqa: F401  (ADMIN: for endpoints)
from guanxi_common.errors import ValidationFailed

#: Every role a user or service account may hold, with what it is for.
ROLES = DESCRIPTIONS


def validate_roles(roles):
    """Refuse anything outside the catalogue (naming ``roles.N``) and return the roles
    sorted and de-duplicated; an empty list is refused since such a user could do nothing."""
    if isinstance(roles, str) or not isinstance(roles, (list, tuple, set, frozenset)):
        raise ValidationFailed("roles must be a list", {"roles": ["must be a list of role names"]})
    roles = list(roles)
    if not roles:
        raise ValidationFailed("at least one role is required",
                               {"roles": ["at least one role is required"]})
    errors = {}
    for index, role in enumerate(roles):
        if not isinstance(role, str) or role not in ROLES:
            errors[f"roles.{index}"] = [f"unknown role {role!r}; known: {', '.join(ROLES)}"]
    if errors:
        raise ValidationFailed("unknown roles", errors)
    return sorted(set(roles))
