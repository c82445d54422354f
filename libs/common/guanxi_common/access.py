"""Record-level authorization shared by the services: who may read or change a record
that belongs to a customer with a given owner and region.

Generic rules over an Actor and a :class:`RolePolicy` (which roles count as admin,
auditor, regional reader or writer, owner-scoped), unit-testable. The system actor
(internal calls without a user, timers, scripts) and admins see everything; owner-scoped
roles see the customers they own plus the pool; regional roles see their region; auditors
read everything and change nothing. An event handler acts as the user who caused the
event. The policy defaults to the CRM's, built from its role catalogue in
``guanxi_common.contracts.roles``.
"""
from dataclasses import dataclass

from guanxi_common.contracts import roles as catalogue
from guanxi_common.errors import Forbidden


@dataclass(frozen=True)
class RolePolicy:
    admin: str
    auditors: frozenset = frozenset()
    regional_readers: frozenset = frozenset()
    regional_writers: frozenset = frozenset()
    owner_scoped: frozenset = frozenset()


CRM_POLICY = RolePolicy(admin=catalogue.ADMIN, auditors=catalogue.AUDITORS,
                        regional_readers=catalogue.REGIONAL_READERS,
                        regional_writers=catalogue.REGIONAL_WRITERS,
                        owner_scoped=catalogue.OWNER_SCOPED)


def _unrestricted(actor, policy):
    return actor.is_system or policy.admin in actor.roles


def _reads_all(actor, policy):
    return _unrestricted(actor, policy) or actor.has_role(*policy.auditors)


def _in_region(actor, province):
    return actor.region is None or actor.region == province


def _owns_or_pool(actor, owner_id, policy):
    return actor.has_role(*policy.owner_scoped) and owner_id in (None, actor.user_id)


def can_read(actor, owner_id, province, policy=CRM_POLICY):
    if _reads_all(actor, policy):
        return True
    if actor.has_role(*policy.regional_readers) and _in_region(actor, province):
        return True
    return _owns_or_pool(actor, owner_id, policy)


def can_write(actor, owner_id, province, policy=CRM_POLICY):
    if _unrestricted(actor, policy):
        return True
    if actor.has_role(*policy.regional_writers) and _in_region(actor, province):
        return True
    return _owns_or_pool(actor, owner_id, policy)


def ensure_role(actor, *roles, action, policy=CRM_POLICY):
    """Privileged operations (merge, erase, credit limits, releases, catalogue)."""
    if _unrestricted(actor, policy) or actor.has_role(*roles):
        return
    raise Forbidden(f"{action} needs one of the roles: {', '.join(roles) or policy.admin}",
                    {"action": action, "roles": list(roles) or [policy.admin]})


def search_scope(actor, policy=CRM_POLICY):
    """Filters that restrict a search to what the actor may read (None = no restriction)."""
    if _reads_all(actor, policy):
        return None
    if actor.has_role(*policy.regional_readers):
        return {"province": actor.region} if actor.region else None
    if actor.has_role(*policy.owner_scoped):
        return {"owner_or_pool": actor.user_id}
    return {"nothing": True}
