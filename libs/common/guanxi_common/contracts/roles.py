"""The CRM's role catalogue: every role a user or a service account may hold.

Roles are part of the wire: the gateway assigns them to users and tokens, they travel in
the RPC context data (``guanxi_common.context``, comma-separated), and every service
decides record-level access from them with the generic rules of ``guanxi_common.access``.
The groups below say which roles those rules treat how.
"""
from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    SALES_MANAGER = "sales_manager"
    SALES_REP = "sales_rep"
    CREDIT_MANAGER = "credit_manager"
    SERVICE_AGENT = "service_agent"
    SERVICE_MANAGER = "service_manager"
    MARKETER = "marketer"
    AUDITOR = "auditor"
    REGIONAL_OFFICE = "regional_office"


#: What each role is for, in the catalogue's order.
DESCRIPTIONS = {
    Role.ADMIN.value: "Everything, in every region; the only role that merges and erases customers.",
    Role.SALES_MANAGER.value: "Reads and changes the customers and sales records of their region.",
    Role.SALES_REP.value: "Reads and changes the customers they own and those in the pool.",
    Role.CREDIT_MANAGER.value: "Sets credit limits and releases credit holds in their region.",
    Role.SERVICE_AGENT.value: "Works tickets; reads the customers of their region.",
    Role.SERVICE_MANAGER.value: "Runs the service desk of their region; reads its customers.",
    Role.MARKETER.value: "Campaigns, segments and leads; reads the customers of their region.",
    Role.AUDITOR.value: "Reads everything, including history; changes nothing.",
    Role.REGIONAL_OFFICE.value: "A province's own system: reads and changes what is in its region.",
}

#: Everything, everywhere (as the system actor of internal calls).
ADMIN = Role.ADMIN.value
#: Read every record, change none.
AUDITORS = frozenset({Role.AUDITOR.value})
#: Read the records of their own region (all regions when they have none).
REGIONAL_READERS = frozenset({Role.SALES_MANAGER.value, Role.SERVICE_MANAGER.value,
                              Role.CREDIT_MANAGER.value, Role.MARKETER.value,
                              Role.REGIONAL_OFFICE.value, Role.SERVICE_AGENT.value})
#: Change the records of their own region.
REGIONAL_WRITERS = frozenset({Role.SALES_MANAGER.value, Role.CREDIT_MANAGER.value,
                              Role.REGIONAL_OFFICE.value})
#: Read and change the records they own, and those nobody owns (the pool).
OWNER_SCOPED = frozenset({Role.SALES_REP.value})
#: Hold customers: claim them from the pool and be named their owner.
CUSTOMER_HOLDERS = (Role.SALES_REP.value, Role.SALES_MANAGER.value)
