"""The caller of every call: user id, roles, region and request id.

They travel in Nameko context data (AMQP headers ``nameko.<key>``), which Nameko
propagates to every downstream RPC call and event dispatched by the worker.
Roles travel as one comma-separated string so every broker and client can carry them.
"""
import uuid
from dataclasses import dataclass, field

USER_ID, ROLES, REGION, REQUEST_ID = "user_id", "roles", "region", "request_id"
SYSTEM_USER = "system"


@dataclass(frozen=True)
class Actor:
    user_id: str = SYSTEM_USER
    roles: frozenset = field(default_factory=frozenset)
    region: str | None = None
    request_id: str | None = None

    def has_role(self, *roles):
        return bool(self.roles.intersection(roles))

    @property
    def is_system(self):
        return self.user_id == SYSTEM_USER

    def to_context_data(self):
        data = {USER_ID: self.user_id, ROLES: ",".join(sorted(self.roles)),
                REQUEST_ID: self.request_id or str(uuid.uuid4())}
        if self.region:
            data[REGION] = self.region
        return data

    def to_dict(self):
        return {"user_id": self.user_id, "roles": sorted(self.roles),
                "region": self.region, "request_id": self.request_id}

    @classmethod
    def from_context_data(cls, data):
        data = data or {}
        roles = data.get(ROLES) or ""
        if isinstance(roles, str):
            roles = [r for r in (p.strip() for p in roles.split(",")) if r]
        return cls(user_id=str(data.get(USER_ID) or SYSTEM_USER),
                   roles=frozenset(str(r) for r in roles),
                   region=data.get(REGION) or None,
                   request_id=data.get(REQUEST_ID) or _call_id(data))

    @classmethod
    def system(cls, request_id=None):
        return cls(user_id=SYSTEM_USER, roles=frozenset({"system"}), request_id=request_id)


def _call_id(data):
    stack = data.get("call_id_stack") or []
    return stack[0] if stack else None
