"""The permission questions the gateway's HTTP layer asks, over the CRM's role catalogue.

The catalogue (role names, what each is for, which ones read or write regionally) is a
wire contract in ``guanxi_common.contracts.roles``, and the record-level rules (who reads
or changes which customer) live once in ``guanxi_common.access`` because the services
enforce them too; the helpers here only name the gateway's questions in terms of those
rules so the two cannot drift.
"""
from guanxi_common import access
from guanxi_common.contracts.roles import ADMIN, DESCRIPTIONS
from guanxi_common.errors import Forbidden, ValidationFailed

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


def _passes(actor, *roles, action):
    """Ask ``access.ensure_role`` (admin always passes) and answer with a bool."""
    try:
        access.ensure_role(actor, *roles, action=action)
    except Forbidden:
        return False
    return True


def can_merge(actor):
    """Merging rewrites two customers' histories into one: admins only."""
    return _passes(actor, action="merge")


def can_erase(actor):
    """Erasure (privacy) cannot be undone: admins only."""
    return _passes(actor, action="erase")


def can_release_credit(actor):
    """Releasing a credit hold lets an order past its credit check."""
    return _passes(actor, "credit_manager", action="release_credit_hold")


def can_read_history(actor, owner_id, province):
    """History is readable by whoever may read the record (auditors and admins read all)."""
    return access.can_read(actor, owner_id, province)
