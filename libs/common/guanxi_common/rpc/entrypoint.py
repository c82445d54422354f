"""The guarded ``rpc`` entrypoint every service method is exposed with.

``rpc`` is a drop-in for ``nameko.rpc.rpc`` (same ``expected_exceptions`` and
``sensitive_arguments``). Nameko's own consumer trusts the request: a message without
``content_type`` or ``reply_to`` makes its Responder raise ``KeyError`` in a managed thread,
which kills the container, and the unacked message is redelivered into the next one — a
crash loop. Here every request is checked before a worker is spawned; a bad one is logged,
counted in ``metrics.MALFORMED_MESSAGES{service, reason}``, acked, and answered with a
typed error when the caller can receive one (``reply_to`` and ``correlation_id`` present).

Reasons counted: ``no_content_type``, ``bad_content_type``, ``decode_error`` (bad JSON,
content type not accepted), ``no_reply_to``, ``no_correlation_id``, ``body_not_object``,
``missing_args``, ``bad_args``, ``unknown_method``, ``wrong_arguments``, ``bad_header`` (a
``nameko.*`` context header of the wrong type or size, answered ``ValidationFailed`` naming
it: see :func:`guanxi_common.context.context_from_headers`), ``internal``; and
``dropped_call_id_stack`` for a bad tracing stack dropped from a request still handled.

A :class:`~guanxi_common.rules.DomainRuleError` escaping a method is an expected outcome
(logged as such, not as a crash) and is answered as ``BusinessRuleViolation`` with
``details['rule']`` = its code, through :func:`guanxi_common.errors.domain_rules`; a method
wraps its body in ``domain_rules(...)`` itself only to add context to the details.

Use this ``rpc`` for every RPC entrypoint of a service: it consumes ``rpc-<service>`` on its
own connection, so mixing it with ``nameko.rpc.rpc`` in one service would put two
consumers that each know only half of the methods on the same queue.
"""
import logging
import sys
from functools import partial

import eventlet
import kombu.serialization
from nameko.amqp.publish import DEFAULT_TRANSPORT_OPTIONS, Publisher
from nameko.constants import AMQP_SSL_CONFIG_KEY, AMQP_URI_CONFIG_KEY, LOGIN_METHOD_CONFIG_KEY
from nameko.exceptions import (
    ContainerBeingKilled, IncorrectSignature, MalformedRequest, MethodNotFound,
    UnserializableValueError,
)
from nameko.rpc import Rpc as NamekoRpc
from nameko.rpc import RpcConsumer, get_rpc_exchange

from guanxi_common import metrics
from guanxi_common.consumers import (
    POISON_REASON, declare_dead_letter_queue, park_message, poison_headers,
)
from guanxi_common.context import ContextHeaderError, context_from_headers
from guanxi_common.errors import ServiceUnavailable, ValidationFailed, domain_rules
from guanxi_common.inflight import InflightGuard
from guanxi_common.reconnect import CappedQueueConsumer
from guanxi_common.rpc.wire import RPC_REPLY_OPTIONS, serialize_error
from guanxi_common.rules import DomainRuleError

_log = logging.getLogger(__name__)


class GuardedQueueConsumer(CappedQueueConsumer):
    """A QueueConsumer whose consumers route decode failures back to their provider.

    kombu decodes in the consumer thread; by default ``ConsumerMixin.on_decode_error``
    acks silently, so a caller sending bad JSON would wait forever and nobody would count
    it. A separate class (hence a separate shared extension and connection) keeps
    event handlers on Nameko's QueueConsumer unaffected.
    """

    def get_consumers(self, consumer_cls, channel):
        for provider in self._providers:
            on_decode_error = getattr(provider, "handle_decode_error", None)
            options = {"on_decode_error": on_decode_error} if on_decode_error else {}
            consumer = consumer_cls(queues=[provider.queue],
                                    callbacks=[partial(self.handle_message, provider)],
                                    accept=self.accept, **options)
            consumer.qos(prefetch_count=self.prefetch_count)
            self._consumers[provider] = consumer
        return self._consumers.values()


class _Rejected(Exception):
    def __init__(self, reason, error):
        super().__init__(reason)
        self.reason = reason
        self.error = error


class GuardedRpcConsumer(RpcConsumer):
    queue_consumer = GuardedQueueConsumer()
    inflight = InflightGuard()

    def setup(self):
        super().setup()
        config = self.container.config
        # where a request that killed its consumer is parked (see guanxi_common.inflight)
        declare_dead_letter_queue(config[AMQP_URI_CONFIG_KEY], self.container.service_name,
                                  config.get(AMQP_SSL_CONFIG_KEY))

    # ---- entry from the queue consumer (one managed thread per message)
    def handle_message(self, body, message):
        try:
            self._dispatch(body, message)
        except _Rejected as rejected:
            self.reject(message, rejected.reason, rejected.error)
        except Exception as exc:  # never let a request kill the container
            _log.exception("unexpected error while dispatching an RPC request")
            self.reject(message, "internal", MalformedRequest(f"request could not be handled: {exc}"))

    def handle_decode_error(self, message, exc):
        """Called by kombu in the consumer thread: must not raise or block."""
        try:
            reason = "decode_error"
            error = MalformedRequest(f"request body could not be decoded: {type(exc).__name__}: {exc}")
            self._count(reason)
            self._log_rejection(message, reason, error)
            self._ack(message)
            if self._can_reply(message):
                self.container.spawn_managed_thread(
                    lambda: self._safe_reply(message, None, error), identifier="rpc.reject_reply")
        except Exception:
            _log.exception("error while rejecting an undecodable RPC request")

    def _dispatch(self, body, message):
        props = message.properties
        content_type = props.get("content_type")
        if not content_type:
            raise _Rejected("no_content_type", MalformedRequest("request has no content_type"))
        if content_type not in self._accepted_content_types():
            raise _Rejected("bad_content_type",
                            MalformedRequest(f"content_type {content_type!r} is not accepted"))
        if not props.get("reply_to"):
            raise _Rejected("no_reply_to", MalformedRequest("request has no reply_to"))
        if not props.get("correlation_id"):
            raise _Rejected("no_correlation_id", MalformedRequest("request has no correlation_id"))
        if not isinstance(body, dict):
            raise _Rejected("body_not_object", MalformedRequest("request body must be a JSON object"))
        if "args" not in body or "kwargs" not in body:
            raise _Rejected("missing_args", MalformedRequest("Message missing `args` or `kwargs`"))
        if not isinstance(body["args"], (list, tuple)) or not isinstance(body["kwargs"], dict):
            raise _Rejected("bad_args", MalformedRequest("`args` must be a list and `kwargs` an object"))
        try:
            provider = self.get_provider_for_method(message.delivery_info["routing_key"])
        except MethodNotFound as exc:
            raise _Rejected("unknown_method", exc)
        provider.handle_message(body, message)

    def _accepted_content_types(self):
        names = self.container.accept or [self.container.serializer]
        return {kombu.serialization.registry.name_to_type.get(n, n) for n in names}

    # ---- outcomes
    def reject(self, message, reason, error, level=logging.WARNING):
        self._count(reason)
        self._log_rejection(message, reason, error, level)
        if self._can_reply(message):
            self._safe_reply(message, None, error)
        self._ack(message)

    def handle_result(self, message, result, exc_info):
        """Reply and ack; returns ``(result, exc_info)`` and never raises (it runs in the worker)."""
        exc = exc_info[1] if exc_info else None
        result, reply_exc_info = self._safe_reply(message, result, exc)
        self._ack(message)
        self.inflight.release(self.inflight_key(message))
        return result, (reply_exc_info or exc_info)

    # ---- the poison guard
    def admit(self, message):
        return self.inflight.admit(self.queue.name, message.properties["correlation_id"],
                                   message)

    def inflight_key(self, message):
        ledger = self.inflight.ledger
        return ledger.key(self.queue.name, message.properties["correlation_id"]) if ledger else None

    def park_poison(self, message, key, verdict, method):
        """Park a request that killed its previous consumer and answer it as unavailable:
        it may have had part of its effect, and it is not run again."""
        config = self.container.config
        service = self.container.service_name
        try:
            park_message(config[AMQP_URI_CONFIG_KEY], service, message, self.queue.name,
                         method, poison_headers(verdict), config.get(AMQP_SSL_CONFIG_KEY),
                         config.get(LOGIN_METHOD_CONFIG_KEY))
        except Exception:
            # still in the ledger as it was: the next delivery is judged the same way
            _log.exception("could not park a poison RPC request; requeueing it")
            eventlet.sleep(1)
            self.requeue_message(message)
            return
        self.reject(message, POISON_REASON, ServiceUnavailable(
            f"{method}: the request was being handled when the service stopped; "
            "it is not run again", {"service": service, "method": method.split(".", 1)[-1],
                                    "reason": POISON_REASON}), level=logging.ERROR)
        self.inflight.release(key)

    def note_dropped_header(self, message, header):
        self._count("dropped_call_id_stack")
        _log.warning("dropped context header %s of an RPC request: not a list of call ids",
                     header, extra={"routing_key": message.delivery_info.get("routing_key"),
                                    "correlation_id": message.properties.get("correlation_id")})

    def _count(self, reason):
        metrics.MALFORMED_MESSAGES.labels(self.container.service_name, reason).inc()

    def _log_rejection(self, message, reason, error, level=logging.WARNING):
        props = message.properties
        _log.log(level, "rejected RPC request (%s): %s", reason, error, extra={
            "reason": reason,
            "routing_key": message.delivery_info.get("routing_key"),
            "content_type": props.get("content_type"),
            "correlation_id": props.get("correlation_id"),
            "reply_to": props.get("reply_to"),
        })

    @staticmethod
    def _can_reply(message):
        props = message.properties
        return bool(props.get("reply_to") and props.get("correlation_id"))

    def _ack(self, message):
        try:
            self.queue_consumer.ack_message(message)
        except Exception:  # already acked or connection gone: the broker owns it again
            _log.debug("could not ack RPC request", exc_info=True)

    def _safe_reply(self, message, result, exc):
        try:
            return self._reply(message, result, exc)
        except Exception:
            _log.exception("could not publish the RPC reply")
            return result, None

    def _reply(self, message, result, exc):
        if not self._can_reply(message):
            return result, None
        config = self.container.config
        content_type = message.properties.get("content_type")
        serializer = None
        if content_type in self._accepted_content_types():
            serializer = kombu.serialization.registry.type_to_name.get(content_type)
        serializer = serializer or self.container.serializer

        reply_exc_info = None
        error = serialize_error(exc) if exc is not None else None
        try:
            kombu.serialization.dumps(result, serializer)
        except Exception:
            # Same guard as Nameko's Responder: an unserialisable result must not kill us.
            reply_exc_info = sys.exc_info()
            error = serialize_error(UnserializableValueError(result))
            result = None

        publisher = Publisher(config[AMQP_URI_CONFIG_KEY], ssl=config.get(AMQP_SSL_CONFIG_KEY),
                              login_method=config.get(LOGIN_METHOD_CONFIG_KEY),
                              **RPC_REPLY_OPTIONS)
        # A fresh transport_options dict: Nameko's Publisher writes confirm_publish into the
        # dict it is given, by default one shared by every publisher in the process, which
        # would switch confirms off for the requests this process sends.
        publisher.publish({"result": result, "error": error}, serializer=serializer,
                          transport_options=dict(DEFAULT_TRANSPORT_OPTIONS),
                          exchange=get_rpc_exchange(config),
                          routing_key=message.properties["reply_to"],
                          correlation_id=message.properties["correlation_id"])
        return result, reply_exc_info


class Rpc(NamekoRpc):
    rpc_consumer = GuardedRpcConsumer()

    def __init__(self, expected_exceptions=(), sensitive_arguments=(), **kwargs):
        if not isinstance(expected_exceptions, tuple):
            expected_exceptions = (expected_exceptions,)
        if DomainRuleError not in expected_exceptions:
            expected_exceptions += (DomainRuleError,)
        super().__init__(expected_exceptions=expected_exceptions,
                         sensitive_arguments=sensitive_arguments, **kwargs)

    def unpack_message_headers(self, message):
        """The request's checked context data: only ``nameko.*`` headers (Nameko's own
        decoder would also turn every other header into context data and carry it on to
        downstream calls); a bad one refuses the request as ``ValidationFailed``."""
        try:
            data, dropped = context_from_headers(message.headers)
        except ContextHeaderError as exc:
            raise _Rejected("bad_header", ValidationFailed(str(exc), {exc.header: [exc.reason]}))
        for header in dropped:
            self.rpc_consumer.note_dropped_header(message, header)
        return data

    def handle_result(self, message, worker_ctx, result, exc_info):
        # Before the reply and the worker_result hooks (metrics, logs), which then all
        # see the typed error the caller receives.
        return super().handle_result(message, worker_ctx, result,
                                     _domain_refusal_as_violation(exc_info))

    def handle_message(self, body, message):
        args, kwargs = list(body["args"]), body["kwargs"]
        try:
            self.check_signature(args, kwargs)
        except IncorrectSignature as exc:
            method = f"{self.container.service_name}.{self.method_name}"
            raise _Rejected("wrong_arguments", ValidationFailed(
                f"wrong arguments for {method}: {exc}", {"_arguments": [str(exc)]}))

        context_data = self.unpack_message_headers(message)
        consumer = self.rpc_consumer
        key, verdict = consumer.admit(message)
        if verdict is not None:
            consumer.park_poison(message, key, verdict,
                                 f"{self.container.service_name}.{self.method_name}")
            return
        try:
            worker_ctx = self.container.spawn_worker(
                self, args, kwargs, context_data=context_data,
                handle_result=partial(self.handle_result, message))
        except ContainerBeingKilled:
            # Another instance will take it: this is shutdown, not a bad request.
            consumer.inflight.release(key)
            consumer.requeue_message(message)
            return
        except Exception:
            consumer.inflight.release(key)
            raise
        consumer.inflight.running(key, worker_ctx)

    def kill(self):
        # Before Nameko kills the workers: one that already died killed the container.
        self.rpc_consumer.inflight.blame_crashed_workers()
        super().kill()


def _domain_refusal_as_violation(exc_info):
    if not exc_info or not isinstance(exc_info[1], DomainRuleError):
        return exc_info
    try:
        with domain_rules():
            raise exc_info[1]
    except Exception:
        return sys.exc_info()


rpc = Rpc.decorator
