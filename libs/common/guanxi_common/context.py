"""The caller of every call: user id, roles, region and request id.

They travel in Nameko context data (AMQP headers ``nameko.<key>``), which Nameko
propagates to every downstream RPC call and event dispatched by the worker.
Roles travel as one comma-separated string so every broker and client can carry them.

Headers come from whoever can publish to the broker, so :func:`context_from_headers`
checks them by type and size before Nameko or :meth:`Actor.from_context_data` sees them.
"""
import re
import uuid
from dataclasses import dataclass, field

USER_ID, ROLES, REGION, REQUEST_ID = "user_id", "roles", "region", "request_id"
CALL_ID_STACK = "call_id_stack"
SYSTEM_USER = "system"

HEADER_PREFIX = "nameko."
MAX_CONTEXT_HEADERS = 32
MAX_TEXT_LENGTH = {USER_ID: 128, ROLES: 1024, REGION: 64, REQUEST_ID: 128}
DEFAULT_MAX_TEXT_LENGTH = 512     # language, user_agent, auth_token and keys of other tools
MAX_ROLES = 64
MAX_CALL_ID_STACK = 64
MAX_CALL_ID_LENGTH = 256
_KEY = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class ContextHeaderError(ValueError):
    """A ``nameko.*`` header that cannot be context data; ``header`` names it."""

    def __init__(self, header, reason):
        super().__init__(f"context header {header} {reason}")
        self.header = header
        self.reason = reason


def context_from_headers(headers):
    """``(context_data, dropped)`` from a message's ``nameko.*`` headers, checked.

    Every value is a string within its length bound (``roles`` may also be a list of
    strings); ``None`` counts as absent. A bad ``call_id_stack`` (tracing only; Nameko
    joins it while setting up the worker) is dropped and named in ``dropped``; any other
    bad value raises :class:`ContextHeaderError`, since guessing who the caller is would
    be worse than refusing. Headers without the prefix are not context data.
    """
    items = [(key, value) for key, value in (headers or {}).items()
             if isinstance(key, str) and key.startswith(HEADER_PREFIX)]
    if len(items) > MAX_CONTEXT_HEADERS:
        raise ContextHeaderError(f"{HEADER_PREFIX}*",
                                 f"count {len(items)} is over {MAX_CONTEXT_HEADERS}")
    data, dropped = {}, []
    for header, value in items:
        key = header[len(HEADER_PREFIX):]
        if not _KEY.match(key):
            raise ContextHeaderError(header[:80], "has a name that is not a context key")
        if value is None:
            continue
        if key == CALL_ID_STACK:
            if _valid_call_id_stack(value):
                data[key] = list(value)
            else:
                dropped.append(header)
            continue
        _check_value(header, key, value)
        data[key] = list(value) if isinstance(value, (list, tuple)) else value
    return data, dropped


def _check_value(header, key, value):
    limit = MAX_TEXT_LENGTH.get(key, DEFAULT_MAX_TEXT_LENGTH)
    if key == ROLES and isinstance(value, (list, tuple)):
        if len(value) > MAX_ROLES:
            raise ContextHeaderError(header, f"has more than {MAX_ROLES} roles")
        for role in value:
            if not isinstance(role, str) or len(role) > DEFAULT_MAX_TEXT_LENGTH:
                raise ContextHeaderError(header, "must be a list of short strings")
        return
    if not isinstance(value, str):
        expected = "a string or a list of strings" if key == ROLES else "a string"
        raise ContextHeaderError(header, f"must be {expected}, not {type(value).__name__}")
    if len(value) > limit:
        raise ContextHeaderError(header, f"is longer than {limit} characters")


def _valid_call_id_stack(value):
    return (isinstance(value, (list, tuple)) and len(value) <= MAX_CALL_ID_STACK
            and all(isinstance(item, str) and len(item) <= MAX_CALL_ID_LENGTH for item in value))


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
