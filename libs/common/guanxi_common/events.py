"""The event envelope of docs/messaging.md and its JSON encoding.

Every event a service publishes is built by :func:`make_event` (normally through
``uow.emit``), stored as JSON in the outbox and published verbatim to the topic
exchange ``<service>.events`` with routing key = event type.
"""
import datetime as _dt
import json
import uuid
from decimal import Decimal

from kombu import Exchange

from guanxi_common.clock import utcnow  # noqa: F401  (re-exported for the envelope's users)

SCHEMA_VERSION = 1
CONTENT_TYPE = "application/json"


def iso_utc(value):
    """``2026-11-23T10:00:00.123Z``: UTC, millisecond precision, ``Z`` suffix.

    Naive datetimes are taken as UTC (SQLite hands timestamps back without a zone).
    """
    if value.tzinfo is None:
        value = value.replace(tzinfo=_dt.timezone.utc)
    value = value.astimezone(_dt.timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def json_default(obj):
    """``json.dumps`` hook: money stays exact (Decimal as string), times as ISO 8601."""
    if isinstance(obj, Decimal):
        return str(obj)
    if isinstance(obj, _dt.datetime):
        return iso_utc(obj)
    if isinstance(obj, (_dt.date, _dt.time)):
        return obj.isoformat()
    if isinstance(obj, uuid.UUID):
        return str(obj)
    if isinstance(obj, (set, frozenset)):
        return sorted(obj, key=str)
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def dumps(obj):
    # ensure_ascii=False keeps Chinese text readable on the wire and in the outbox.
    return json.dumps(obj, default=json_default, ensure_ascii=False, separators=(",", ":"))


def loads(text):
    if isinstance(text, (bytes, bytearray)):
        text = text.decode("utf-8")
    return json.loads(text)


def _actor_dict(actor):
    if actor is None:
        return {"user_id": None, "request_id": None}
    if isinstance(actor, dict):
        return {"user_id": actor.get("user_id"), "request_id": actor.get("request_id")}
    return {"user_id": getattr(actor, "user_id", None),
            "request_id": getattr(actor, "request_id", None)}


def make_event(event_type, source, aggregate_type, aggregate_id, data, number=None,
               version=None, actor=None, event_id=None, occurred_at=None):
    """Build the envelope. ``data`` is made JSON-plain here (Decimal → str, datetime → ISO)
    so the dict returned equals what consumers will receive."""
    if occurred_at is None:
        occurred_at = utcnow()
    return {
        "event_id": str(event_id or uuid.uuid4()),
        "type": event_type,
        "schema_version": SCHEMA_VERSION,
        "occurred_at": iso_utc(occurred_at) if isinstance(occurred_at, _dt.datetime)
        else str(occurred_at),
        "source": source,
        "aggregate": {"type": aggregate_type, "id": str(aggregate_id),
                      "number": number, "version": version},
        "actor": _actor_dict(actor),
        "data": json.loads(dumps(data if data is not None else {})),
    }


def events_exchange(service):
    """The durable topic exchange a service publishes its events to (same name as Nameko's)."""
    return Exchange(f"{service}.events", type="topic", durable=True, auto_delete=False)
