"""Record-level authorization shared by the services: who may read or change a record
that belongs to a customer with a given owner and region.

Plain rules over an Actor, unit-testable. The system actor (internal calls without a
user, timers, scripts) and admins see everything; a sales rep sees what the customers
they own plus the pool; managers and regional offices see their region; auditors read
everything and change nothing. An event handler acts as the user who caused the event.
"""
from guanxi_common.errors import Forbidden

ADMIN = "admin"
REGIONAL_READERS = ("sales_manager", "service_manager", "credit_manager", "marketer",
                    "regional_office", "service_agent")
REGIONAL_WRITERS = ("sales_manager", "credit_manager", "regional_office")
OWNER_SCOPED = ("sales_rep",)


def _unrestricted(actor):
    return actor.is_system or ADMIN in actor.roles


def _in_region(actor, province):
    return actor.region is None or actor.region == province


def can_read(actor, owner_id, province):
    if _unrestricted(actor) or "auditor" in actor.roles:
        return True
    if actor.has_role(*REGIONAL_READERS) and _in_region(actor, province):
        return True
    if actor.has_role(*OWNER_SCOPED) and owner_id in (None, actor.user_id):
        return True
    return False


def can_write(actor, owner_id, province):
    if _unrestricted(actor):
        return True
    if actor.has_role(*REGIONAL_WRITERS) and _in_region(actor, province):
        return True
    if actor.has_role(*OWNER_SCOPED) and owner_id in (None, actor.user_id):
        return True
    return False


def ensure_role(actor, *roles, action):
    """Privileged operations (merge, erase, credit limits, releases, catalogue)."""
    if _unrestricted(actor) or actor.has_role(*roles):
        return
    raise Forbidden(f"{action} needs one of the roles: {', '.join(roles) or 'admin'}",
                    {"action": action, "roles": list(roles) or [ADMIN]})


def search_scope(actor):
    """Filters that restrict a search to what the actor may read (None = no restriction)."""
    if _unrestricted(actor) or "auditor" in actor.roles:
        return None
    if actor.has_role(*REGIONAL_READERS):
        return {"province": actor.region} if actor.region else None
    if actor.has_role(*OWNER_SCOPED):
        return {"owner_or_pool": actor.user_id}
    return {"nothing": True}
