"""Whether a user may hold a record: the check of an owner named in a request body
(``assign``'s ``owner_id``, an opportunity's, an activity's or a visit plan's owner).

The gateway holds the users, so it is the one that can tell; it checks before calling the
service, which then trusts the owner id it is given (documented in docs/api.md "Scope"). A
user may hold a customer's record when they are active, hold a role that owns customers
(those that may claim from the pool) and could change the record once they own it: a sales
rep any customer, a regional role only in their region.
"""
from guanxi_common import access
from guanxi_common.context import Actor
from guanxi_common.contracts.roles import ADMIN, CUSTOMER_HOLDERS, OWNER_SCOPED
from guanxi_common.errors import ValidationFailed

from gateway.app import db_session
from gateway.models import User

#: the roles that may own customers and sales work (as they may claim from the pool)
HOLDER_ROLES = frozenset({ADMIN, *CUSTOMER_HOLDERS})


def holder(owner_id):
    """The owner as an Actor when it is an active user with a holding role, else None."""
    with db_session() as session:
        user = session.get(User, owner_id) if isinstance(owner_id, str) else None
        if user is None or not user.active or not HOLDER_ROLES.intersection(user.roles):
            return None
        return Actor(user_id=user.id, roles=frozenset(user.roles), region=user.region)


def needs_region(owner):
    """Whether the owner's right to hold depends on the record's region."""
    return not (owner.has_role(ADMIN, *OWNER_SCOPED) or owner.region is None)


def ensure_may_hold(owner_id, province=lambda: None, field="owner_id"):
    """Refuse (422 naming ``field``) an owner who is not an active user able to hold the
    record. ``province``: a callable giving the record's province, asked only when the
    owner's role is regional. One answer for unknown, disabled and unfit users."""
    owner = holder(owner_id)
    if owner is not None and (not needs_region(owner)
                              or access.can_write(owner, owner.user_id, province())):
        return owner
    raise ValidationFailed(f"{field} {owner_id!r} is not an active user who may hold this record",
                           {field: ["must be an active sales user who may hold this record "
                                    "(a regional role: of the record's region)"]})
