"""JSON-lines logging with the request id and the Nameko call id of the running worker.

``configure_logging(service)`` installs one JSON handler on the root logger. Each line:
``ts`` (UTC ISO 8601), ``level``, ``service``, ``logger``, ``message``, ``request_id``,
``call_id``, ``exc`` when an exception is attached, plus any JSON-safe ``extra=`` fields.

The request id and call id live in a greenlet-local that the chassis dependency
(:class:`guanxi_common.chassis.WorkerLogContext`) fills at worker setup: Nameko runs every
worker in its own greenthread, so concurrent workers never see each other's ids.
"""
import json
import logging
import sys
import traceback
from datetime import datetime, timezone

from eventlet import corolocal

_local = corolocal.local()
_default_service = {"name": None}

# LogRecord attributes that are not user-supplied ``extra`` fields.
_STANDARD_ATTRS = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message", "asctime", "taskName"}


def set_context(service=None, request_id=None, call_id=None):
    """Bind ids to the current greenlet (one worker)."""
    _local.service = service
    _local.request_id = request_id
    _local.call_id = call_id


def clear_context():
    for key in ("service", "request_id", "call_id"):
        if hasattr(_local, key):
            delattr(_local, key)


def get_context():
    return {"service": getattr(_local, "service", None),
            "request_id": getattr(_local, "request_id", None),
            "call_id": getattr(_local, "call_id", None)}


class JsonFormatter(logging.Formatter):
    def __init__(self, service=None):
        super().__init__()
        self.service = service

    def format(self, record):
        context = get_context()
        line = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc)
                          .isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            # A process may host several containers (tests); the worker's service wins.
            "service": context["service"] or self.service or _default_service["name"],
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": context["request_id"],
            "call_id": context["call_id"],
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and key not in line and not key.startswith("_"):
                line[key] = value
        if record.exc_info and record.exc_info[0] is not None:
            line["exc_type"] = record.exc_info[0].__name__
            line["exc"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        elif record.exc_text:
            line["exc"] = record.exc_text
        if record.stack_info:
            line["stack"] = record.stack_info
        return json.dumps(line, ensure_ascii=False, default=str)


class _JsonHandler(logging.StreamHandler):
    """Writes to ``sys.stderr`` as it is *now* unless given a stream.

    Resolving stderr at emit time keeps working when something (pytest's capture,
    a supervisor) swaps ``sys.stderr`` after logging was configured.
    """

    _guanxi_json = True

    def __init__(self, stream=None):
        super().__init__(stream or sys.stderr)
        self._fixed_stream = stream

    @property
    def stream(self):
        return self._fixed_stream or sys.stderr

    @stream.setter
    def stream(self, value):
        self._fixed_stream = None if value is sys.stderr else value


def is_configured():
    return any(getattr(h, "_guanxi_json", False) for h in logging.getLogger().handlers)


def configure_logging(service, level="INFO", stream=None):
    """Send every log record as one JSON line to stderr (or ``stream``).

    Idempotent: a second call replaces the handler installed by the first one. Plain
    ``StreamHandler``s on the root logger (``logging.basicConfig``, which ``nameko run``
    installs) are removed so lines are not printed twice; subclasses such as pytest's
    capture handlers are left alone.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_guanxi_json", False) or type(handler) is logging.StreamHandler:
            root.removeHandler(handler)
    _default_service["name"] = service
    handler = _JsonHandler(stream)
    handler.setFormatter(JsonFormatter(service))
    root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)
    # Per-message INFO chatter from the AMQP stack would drown the service's own lines.
    for noisy in ("amqp", "kombu", "nameko.containers", "nameko.messaging"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    return handler
