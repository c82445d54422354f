"""Retrying, idempotent event consumers.

``event_handler(source_service, event_type)`` is a drop-in for Nameko's: same queue
names (``evt-<source>-<type>--<service>.<method>``), same SERVICE_POOL default. What it
adds is what happens when a handler fails::

    handler raises ──> attempts < HANDLER_MAX_ATTEMPTS and the error is retryable
        │                 └─> republished to headers exchange <service>.retry
        │                     (header retry-delay-ms=<ms>) ─> queue <service>.retry.<ms>
        │                     (x-message-ttl=<ms>, x-dead-letter-exchange="") ─> on expiry
        │                     back through the default exchange to the handler's queue
        └─> otherwise parked on durable queue <service>.dlq with the error in headers

The original delivery is acked only after the retry/park publish is confirmed, so a
broker hiccup requeues it instead of losing it. Delays come from
``HANDLER_RETRY_DELAYS_MS`` (the last one repeats). ``ValidationFailed`` and anything in
``non_retryable=`` are parked at once; so is a malformed message (not JSON, not a dict,
not an event envelope, a ``nameko.*`` context header of the wrong type or size: reason
``malformed:bad_header`` naming the header), which never reaches the handler and never
stops the consumer. A bad ``call_id_stack`` (tracing only) is dropped, not parked.

The retry exchange routes on ``retry-delay-ms``, deliberately *not* an ``x-`` header:
RabbitMQ ignores ``x-``-prefixed binding arguments in headers exchanges, so such a
binding would match every message.

Idempotency: decorate the handler with :func:`idempotent` (inside ``event_handler``)::

    @event_handler("customer", "customer.updated")
    @idempotent
    def on_customer_updated(self, event):
        ...  # runs inside `with self.uow:` at most once per event id

Parked messages are listed and re-driven with ``python -m guanxi_common.dlq_cli``.
"""
import functools
import hashlib
import logging
import traceback
import uuid

import eventlet
from kombu import Exchange, Queue
from nameko.amqp.publish import get_connection, get_producer
from nameko.constants import AMQP_SSL_CONFIG_KEY, LOGIN_METHOD_CONFIG_KEY
from nameko.events import SERVICE_POOL
from nameko.events import EventHandler as NamekoEventHandler
from nameko.exceptions import ContainerBeingKilled

from guanxi_common import metrics
from guanxi_common.context import ContextHeaderError, context_from_headers
from guanxi_common.errors import ValidationFailed
from guanxi_common.events import iso_utc, utcnow
from guanxi_common.inflight import InflightGuard
from guanxi_common.reconnect import CappedQueueConsumer

log = logging.getLogger(__name__)

RETRY_DELAY_HEADER = "retry-delay-ms"
ATTEMPTS_HEADER = "x-attempts"
ORIGINAL_EXCHANGE_HEADER = "x-original-exchange"
ORIGINAL_ROUTING_KEY_HEADER = "x-original-routing-key"
ORIGINAL_QUEUE_HEADER = "x-original-queue"
ERROR_TYPE_HEADER = "x-error-type"
ERROR_MESSAGE_HEADER = "x-error-message"
ERROR_TRACEBACK_HEADER = "x-error-traceback"
PARKED_AT_HEADER = "x-parked-at"
PARK_REASON_HEADER = "x-park-reason"
POISON_REASON = "poison"
CONSUMER_HEADER = "x-consumer"

DEFAULT_RETRY_DELAYS_MS = (1000, 5000, 30000)
DEFAULT_MAX_ATTEMPTS = 5
NON_RETRYABLE = (ValidationFailed,)
# Properties carried over when a message is republished for a retry, to the DLQ or back.
CARRIED_PROPERTIES = ("message_id", "type", "correlation_id", "reply_to", "app_id", "timestamp")
# Headers the broker or our own routing set; never carried to the next hop.
DROPPED_HEADERS = ("x-death", "x-first-death-exchange", "x-first-death-queue",
                   "x-first-death-reason", RETRY_DELAY_HEADER)
# Short retry/park publishes: a broker that does not answer makes us requeue instead.
PUBLISH_RETRY_POLICY = {"max_retries": 3, "interval_start": 0.2, "interval_step": 0.5,
                        "interval_max": 1.0}


def retry_exchange(service):
    return Exchange(f"{service}.retry", type="headers", durable=True, auto_delete=False)


def retry_queue(service, delay_ms):
    delay_ms = int(delay_ms)
    return Queue(f"{service}.retry.{delay_ms}", exchange=retry_exchange(service),
                 binding_arguments={"x-match": "all", RETRY_DELAY_HEADER: str(delay_ms)},
                 durable=True, auto_delete=False,
                 queue_arguments={"x-message-ttl": delay_ms, "x-dead-letter-exchange": ""})


def dlq_name(service):
    return f"{service}.dlq"


def dead_letter_queue(service):
    return Queue(dlq_name(service), durable=True, auto_delete=False)


def declare_topology(amqp_uri, service, delays_ms, ssl=None):
    """Declare <service>.retry, <service>.retry.<ms> for each delay and <service>.dlq."""
    with get_connection(amqp_uri, ssl) as conn:
        channel = conn.channel()
        try:
            retry_exchange(service)(channel).declare()
            for delay in sorted(set(int(d) for d in delays_ms)):
                retry_queue(service, delay)(channel).declare()
            dead_letter_queue(service)(channel).declare()
        finally:
            channel.close()


def declare_dead_letter_queue(amqp_uri, service, ssl=None):
    with get_connection(amqp_uri, ssl) as conn:
        channel = conn.channel()
        try:
            dead_letter_queue(service)(channel).declare()
        finally:
            channel.close()


def publish_raw(amqp_uri, body, exchange, routing_key, headers, content_type=None,
                content_encoding=None, properties=None, ssl=None, login_method=None):
    """Publish bytes exactly as given, persistent, confirmed and mandatory (an unroutable
    message raises instead of vanishing)."""
    with get_producer(amqp_uri, True, ssl, login_method) as producer:
        producer.publish(
            body, exchange=exchange, routing_key=routing_key, headers=headers,
            content_type=content_type or "application/octet-stream",
            content_encoding=content_encoding or "binary", delivery_mode=2,
            mandatory=True, retry=True, retry_policy=PUBLISH_RETRY_POLICY,
            timeout=5, confirm_timeout=5, **(properties or {}))


def hop_headers(message, queue_name, consumer_name):
    """The headers a message carries to its next hop (a retry queue, the DLQ)."""
    headers = {k: v for k, v in (message.headers or {}).items() if k not in DROPPED_HEADERS}
    info = message.delivery_info or {}
    # keep the first hop's origin: retries come back through the default exchange
    headers.setdefault(ORIGINAL_EXCHANGE_HEADER, info.get("exchange") or "")
    headers.setdefault(ORIGINAL_ROUTING_KEY_HEADER, info.get("routing_key") or "")
    headers[ORIGINAL_QUEUE_HEADER] = queue_name
    headers[CONSUMER_HEADER] = consumer_name
    return headers


def park_message(amqp_uri, service, message, queue_name, consumer_name, extra_headers,
                 ssl=None, login_method=None):
    """Publish ``message`` verbatim to ``<service>.dlq`` with where it came from, who
    parked it and why (``extra_headers``) in its headers."""
    headers = hop_headers(message, queue_name, consumer_name)
    headers.update(extra_headers)
    headers[PARKED_AT_HEADER] = iso_utc(utcnow())
    props = carried_properties(message)
    # every parked message gets an id so it can be re-driven by id
    props.setdefault("message_id", str(uuid.uuid4()))
    publish_raw(amqp_uri, message.body, "", dlq_name(service), headers, message.content_type,
                message.content_encoding, props, ssl, login_method)


def poison_headers(verdict, attempts=0):
    return {ATTEMPTS_HEADER: attempts, PARK_REASON_HEADER: POISON_REASON,
            ERROR_TYPE_HEADER: "PoisonMessage", ERROR_MESSAGE_HEADER: _as_str(verdict)}


def message_identity(message):
    """What names a delivery across redeliveries: its message id, else its body's hash."""
    message_id = (message.properties or {}).get("message_id")
    if message_id:
        return str(message_id)
    body = message.body if isinstance(message.body, bytes) else str(message.body).encode()
    return "sha256:" + hashlib.sha256(body).hexdigest()


def carried_properties(message):
    props = message.properties or {}
    return {key: props[key] for key in CARRIED_PROPERTIES if props.get(key) is not None}


def parse_attempts(headers):
    try:
        return max(0, int((headers or {}).get(ATTEMPTS_HEADER) or 0))
    except (TypeError, ValueError):
        return 0


def short_traceback(exc_info, limit=2000):
    text = "".join(traceback.format_exception(exc_info[0], exc_info[1], exc_info[2], limit=-5))
    return text[-limit:]


def _as_str(value, limit=1000):
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return str(value)[:limit]


class GuanxiQueueConsumer(CappedQueueConsumer):
    """Nameko's queue consumer, plus: a message kombu cannot decode (bad JSON, content
    type not accepted) is handed to its entrypoint to be parked instead of raising out
    of the consumer loop, which would kill the container."""

    def get_consumers(self, consumer_cls, channel):
        consumers = super().get_consumers(consumer_cls, channel)
        for provider, consumer in self._consumers.items():
            consumer.on_decode_error = functools.partial(self._on_decode_error, provider)
        return consumers

    def _on_decode_error(self, provider, message, exc):
        try:
            provider.park_malformed(message, "undecodable", f"{type(exc).__name__}: {exc}")
        except Exception:  # never let this escape into the consumer loop
            # requeue rather than drop; the pause keeps a broken broker from a hot loop
            log.exception("could not park an undecodable message; requeueing it")
            eventlet.sleep(1)
            self.requeue_message(message)


class EventHandler(NamekoEventHandler):
    """``@event_handler(source_service, event_type, handler_type=SERVICE_POOL,
    reliable_delivery=True, non_retryable=(), require_envelope=True)``"""

    queue_consumer = GuanxiQueueConsumer()
    inflight = InflightGuard()

    def __init__(self, source_service, event_type, handler_type=SERVICE_POOL,
                 reliable_delivery=True, non_retryable=(), require_envelope=True, **kwargs):
        self.non_retryable = tuple(non_retryable)
        self.require_envelope = require_envelope
        kwargs.pop("requeue_on_error", None)  # failures go through retry/DLQ, never requeue
        super().__init__(source_service, event_type, handler_type=handler_type,
                         reliable_delivery=reliable_delivery, requeue_on_error=False, **kwargs)

    def setup(self):
        super().setup()
        config = self.container.config
        self.service_name = self.container.service_name
        self.consumer_name = f"{self.service_name}.{self.method_name}"
        self.amqp_uri = config["AMQP_URI"]
        self.ssl = config.get(AMQP_SSL_CONFIG_KEY)
        self.login_method = config.get(LOGIN_METHOD_CONFIG_KEY)
        self.max_attempts = max(1, int(config.get("HANDLER_MAX_ATTEMPTS") or DEFAULT_MAX_ATTEMPTS))
        delays = config.get("HANDLER_RETRY_DELAYS_MS") or DEFAULT_RETRY_DELAYS_MS
        if isinstance(delays, str):
            delays = [d for d in delays.split(",") if d.strip()]
        self.retry_delays = [max(1, int(d)) for d in delays] or list(DEFAULT_RETRY_DELAYS_MS)
        declare_topology(self.amqp_uri, self.service_name, self.retry_delays, self.ssl)

    # Only ``nameko.*`` headers are context data; our retry bookkeeping headers must not
    # leak into the worker's context (and from there into downstream calls).
    def unpack_message_headers(self, message):
        """The checked context data; raises ``ContextHeaderError`` for a bad header."""
        data, dropped = context_from_headers(message.headers)
        for header in dropped:
            metrics.MALFORMED_MESSAGES.labels(self.service_name, "dropped_call_id_stack").inc()
            log.warning("%s: dropped context header %s: not a list of call ids",
                        self.consumer_name, header)
        return data

    def malformed_reason(self, body):
        if isinstance(body, (str, bytes)):
            return "not_json"
        if not isinstance(body, dict):
            return "not_a_dict"
        if self.require_envelope and not (isinstance(body.get("event_id"), str)
                                          and isinstance(body.get("type"), str)):
            return "not_an_envelope"
        return None

    def handle_message(self, body, message):
        reason = self.malformed_reason(body)
        if reason is not None:
            self._park_or_requeue(message, reason, f"{reason}: {type(body).__name__} body")
            return
        try:
            context_data = self.unpack_message_headers(message)
        except ContextHeaderError as exc:
            self._park_or_requeue(message, "bad_header", str(exc))
            return
        key, verdict = self.inflight.admit(self.queue.name, message_identity(message), message)
        if verdict is not None:
            self._park_poison(message, key, verdict)
            return
        try:
            worker_ctx = self.container.spawn_worker(
                self, (body,), {}, context_data=context_data,
                handle_result=functools.partial(self.handle_result, message))
        except ContainerBeingKilled:
            self.inflight.release(key)
            self.queue_consumer.requeue_message(message)
            return
        except Exception:
            self.inflight.release(key)
            raise
        self.inflight.running(key, worker_ctx)

    def kill(self):
        self.inflight.blame_crashed_workers()
        super().kill()

    def _release(self, message):
        self.inflight.release(self.inflight_key(message))

    def inflight_key(self, message):
        ledger = self.inflight.ledger
        return ledger.key(self.queue.name, message_identity(message)) if ledger else None

    def _park_poison(self, message, key, verdict):
        try:
            self._park(message, poison_headers(verdict, parse_attempts(message.headers)))
        except Exception:
            # still in the ledger as it was: the next delivery is judged the same way
            log.exception("%s: could not park a poison message; requeueing it",
                          self.consumer_name)
            eventlet.sleep(1)
            self.queue_consumer.requeue_message(message)
            return
        metrics.MALFORMED_MESSAGES.labels(self.service_name, POISON_REASON).inc()
        metrics.HANDLER_PARKED.labels(self.service_name, self.consumer_name).inc()
        log.error("%s: message %s parked on %s as poison (%s)", self.consumer_name,
                  (message.properties or {}).get("message_id"), dlq_name(self.service_name),
                  verdict)
        self.queue_consumer.ack_message(message)
        self.inflight.release(key)

    def _park_or_requeue(self, message, reason, detail):
        try:
            self.park_malformed(message, reason, detail)
        except Exception:
            log.exception("could not park a malformed message; requeueing it")
            eventlet.sleep(1)  # the broker is struggling; don't spin on this message
            self.queue_consumer.requeue_message(message)

    def handle_message_processed(self, message, result=None, exc_info=None):
        try:
            self._settle(message, exc_info)
        finally:
            self._release(message)

    def _settle(self, message, exc_info):
        if exc_info is None:
            self.queue_consumer.ack_message(message)
            return
        exc = exc_info[1]
        attempts = parse_attempts(message.headers) + 1
        retryable = not isinstance(exc, NON_RETRYABLE + self.non_retryable)
        try:
            if retryable and attempts < self.max_attempts:
                delay = self.retry_delays[min(attempts, len(self.retry_delays)) - 1]
                self._publish_retry(message, attempts, delay)
                metrics.HANDLER_RETRIES.labels(self.service_name, self.consumer_name).inc()
                log.warning("%s failed (attempt %d/%d), retrying in %d ms: %s",
                            self.consumer_name, attempts, self.max_attempts, delay, exc)
            else:
                self._park(message, {
                    ATTEMPTS_HEADER: attempts,
                    PARK_REASON_HEADER: "retries_exhausted" if retryable else "non_retryable",
                    ERROR_TYPE_HEADER: type(exc).__name__,
                    ERROR_MESSAGE_HEADER: _as_str(exc),
                    ERROR_TRACEBACK_HEADER: short_traceback(exc_info),
                })
                metrics.HANDLER_PARKED.labels(self.service_name, self.consumer_name).inc()
                log.error("%s failed (attempt %d), parked on %s: %s",
                          self.consumer_name, attempts, dlq_name(self.service_name), exc)
        except Exception:
            # Not acked: the broker keeps the message and redelivers it.
            log.exception("%s: could not schedule a retry/park; requeueing", self.consumer_name)
            eventlet.sleep(1)
            self.queue_consumer.requeue_message(message)
            return
        self.queue_consumer.ack_message(message)

    def _publish_retry(self, message, attempts, delay_ms):
        headers = hop_headers(message, self.queue.name, self.consumer_name)
        headers[ATTEMPTS_HEADER] = attempts
        headers[RETRY_DELAY_HEADER] = str(delay_ms)
        publish_raw(self.amqp_uri, message.body, retry_exchange(self.service_name).name,
                    self.queue.name, headers, message.content_type, message.content_encoding,
                    carried_properties(message), self.ssl, self.login_method)

    def _park(self, message, extra_headers):
        park_message(self.amqp_uri, self.service_name, message, self.queue.name,
                     self.consumer_name, extra_headers, self.ssl, self.login_method)

    def park_malformed(self, message, reason, detail):
        """Park a message the handler must never see, then ack it."""
        self._park(message, {
            ATTEMPTS_HEADER: parse_attempts(message.headers),
            PARK_REASON_HEADER: f"malformed:{reason}",
            ERROR_TYPE_HEADER: "MalformedMessage",
            ERROR_MESSAGE_HEADER: _as_str(detail),
            "x-original-content-type": message.content_type or "",
        })
        metrics.MALFORMED_MESSAGES.labels(self.service_name, reason).inc()
        metrics.HANDLER_PARKED.labels(self.service_name, self.consumer_name).inc()
        log.error("%s: malformed message parked on %s (%s)", self.consumer_name,
                  dlq_name(self.service_name), detail)
        self.queue_consumer.ack_message(message)


event_handler = EventHandler.decorator


def idempotent(fn=None, *, consumer=None, uow_attr="uow"):
    """Apply an event at most once per consumer.

    The handler runs inside ``with self.uow:``, in one transaction with the inbox row
    that ``uow.first_delivery`` writes, so its effect and the record of the event commit
    or roll back together; a redelivered event is skipped (logged, and counted in
    ``guanxi_duplicates_skipped_total``) and the handler returns None::

        @event_handler("sales", "activity.logged")
        @idempotent
        def on_activity_logged(self, event):
            record_follow_up(self.uow, ...)  # the unit of work is already open

    Opening ``with self.uow:`` again inside the handler is allowed but makes a SAVEPOINT.
    The consumer name kept in the inbox is ``<service name>.<method name>`` (e.g.
    ``customer.on_activity_logged``) unless ``consumer=`` names it; keep it stable, since
    a new name re-applies events redelivered after the change. ``uow_attr`` names the
    unit-of-work dependency when it is not ``uow``. Usable as ``@idempotent`` or
    ``@idempotent(consumer=...)``, under ``@event_handler``; works with anything that has
    the unit of work's interface (``guanxi_common.testing.fakes.FakeUnitOfWork``, the
    mocks of ``nameko.testing.services.worker_factory``).
    """
    def decorate(func):
        @functools.wraps(func)
        def wrapper(self, event, *args, **kwargs):
            uow = getattr(self, uow_attr)
            name = consumer or f"{self.name}.{func.__name__}"
            with uow:
                if not uow.first_delivery(event["event_id"], name, event.get("type", "")):
                    log.info("%s: event %s already applied, skipped", name, event["event_id"])
                    return None
                return func(self, event, *args, **kwargs)
        return wrapper
    return decorate(fn) if fn is not None else decorate
