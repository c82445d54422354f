"""RPC hygiene: a guarded ``rpc`` entrypoint, ``ServiceRpc`` with a timeout, ``cluster_rpc``.

``rpc`` is a drop-in for ``nameko.rpc.rpc`` (same ``expected_exceptions`` and
``sensitive_arguments``). Nameko's own consumer trusts the request: a message without
``content_type`` or ``reply_to`` makes its Responder raise ``KeyError`` in a managed thread,
which kills the container, and the unacked message is redelivered into the next one — a
crash loop. Here every request is checked before a worker is spawned; a bad one is logged,
counted in ``metrics.MALFORMED_MESSAGES{service, reason}``, acked, and answered with a
typed error when the caller can receive one (``reply_to`` and ``correlation_id`` present).

Reasons counted: ``no_content_type``, ``bad_content_type``, ``decode_error`` (bad JSON,
content type not accepted), ``no_reply_to``, ``no_correlation_id``, ``body_not_object``,
``missing_args``, ``bad_args``, ``unknown_method``, ``wrong_arguments``, ``internal``.

Use this ``rpc`` for every RPC entrypoint of a service: it consumes ``rpc-<service>`` on its
own connection, so mixing it with ``nameko.rpc.rpc`` in one service would put two
consumers that each know only half of the methods on the same queue.

Errors are serialised so that :mod:`guanxi_common.errors` types keep JSON-native ``details``
(Nameko's ``serialize`` stringifies numbers and ``None``) and carry the paths of their
registered base classes, so a service-specific subclass the caller has not imported is
raised as its nearest registered base (e.g. ``Conflict``) instead of ``RemoteError``.
"""
import json
import logging
import sys
import uuid
from functools import partial

import eventlet
import kombu.serialization
from amqp.exceptions import ConnectionError as AmqpConnectionError
from kombu.exceptions import OperationalError
from nameko.amqp.publish import DEFAULT_TRANSPORT_OPTIONS, Publisher, UndeliverableMessage
from nameko.constants import (
    AMQP_SSL_CONFIG_KEY, AMQP_URI_CONFIG_KEY, CALL_ID_STACK_CONTEXT_KEY, LOGIN_METHOD_CONFIG_KEY,
)
from nameko.exceptions import (
    ContainerBeingKilled, IncorrectSignature, MalformedRequest, MethodNotFound, RemoteError,
    RpcTimeout, UnserializableValueError, get_module_path, registry,
    serialize,
)
from nameko.extensions import DependencyProvider
from nameko.messaging import QueueConsumer
from nameko.rpc import MethodProxy, ReplyListener, RpcConsumer, get_rpc_exchange
from nameko.rpc import Rpc as NamekoRpc
from nameko.standalone.rpc import ClusterRpcProxy

from . import metrics
from .context import Actor
from .config import env
from .errors import GuanxiError, ServiceUnavailable, ValidationFailed

_log = logging.getLogger(__name__)

DEFAULT_RPC_TIMEOUT = 5.0

# An RPC is answered or times out: a request or reply that dies with the broker is
# retried by the caller, so persistence (a disk write per message on the durable request
# queue) buys nothing. Requests keep publisher confirms, which is how an unroutable request
# (no service listening) fails at once instead of at the timeout; replies need neither.
# Events are another matter: the outbox publishes them persistent and confirmed.
RPC_REQUEST_OPTIONS = {"delivery_mode": 1}
RPC_REPLY_OPTIONS = {"use_confirms": False, "delivery_mode": 1}


def rpc_timeout(config, override=None):
    if override is not None:
        return float(override)
    configured = config.get("RPC_TIMEOUT") if isinstance(config, dict) else None
    return float(configured or env("RPC_TIMEOUT", DEFAULT_RPC_TIMEOUT, float))


# --------------------------------------------------------------------------- errors

def serialize_error(exc):
    """Nameko's error dict, with JSON-native args for our errors and registered bases."""
    data = serialize(exc)
    if isinstance(exc, GuanxiError):
        try:
            args = [exc.message, exc.details]
            json.dumps(args)
            data["exc_args"] = args
        except (TypeError, ValueError):
            pass  # keep Nameko's stringified args: details were not JSON-safe
    bases = [get_module_path(base) for base in type(exc).__mro__[1:]
             if issubclass(base, BaseException) and get_module_path(base) in registry]
    if bases:
        data["exc_bases"] = bases
    return data


def deserialize_error(data):
    """Rebuild the registered exception (or its nearest registered base), else RemoteError."""
    exc_args = data.get("exc_args") or ()
    for path in [data.get("exc_path")] + list(data.get("exc_bases") or []):
        cls = registry.get(path)
        if cls is None:
            continue
        try:
            return cls(*exc_args)
        except Exception:  # args that do not fit the constructor: try the next base
            continue
    return RemoteError(exc_type=data.get("exc_type"), value=data.get("value"))


# --------------------------------------------------------------------------- server side

class GuardedQueueConsumer(QueueConsumer):
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
    def reject(self, message, reason, error):
        self._count(reason)
        self._log_rejection(message, reason, error)
        if self._can_reply(message):
            self._safe_reply(message, None, error)
        self._ack(message)

    def handle_result(self, message, result, exc_info):
        """Reply and ack; returns ``(result, exc_info)`` and never raises (it runs in the worker)."""
        exc = exc_info[1] if exc_info else None
        result, reply_exc_info = self._safe_reply(message, result, exc)
        self._ack(message)
        return result, (reply_exc_info or exc_info)

    def _count(self, reason):
        metrics.MALFORMED_MESSAGES.labels(self.container.service_name, reason).inc()

    def _log_rejection(self, message, reason, error):
        props = message.properties
        _log.warning("rejected malformed RPC request (%s): %s", reason, error, extra={
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

    def handle_message(self, body, message):
        args, kwargs = list(body["args"]), body["kwargs"]
        try:
            self.check_signature(args, kwargs)
        except IncorrectSignature as exc:
            method = f"{self.container.service_name}.{self.method_name}"
            raise _Rejected("wrong_arguments", ValidationFailed(
                f"wrong arguments for {method}: {exc}", {"_arguments": [str(exc)]}))

        context_data = _sanitize_context(self.unpack_message_headers(message))
        try:
            self.container.spawn_worker(self, args, kwargs, context_data=context_data,
                                        handle_result=partial(self.handle_result, message))
        except ContainerBeingKilled:
            # Another instance will take it: this is shutdown, not a bad request.
            self.rpc_consumer.requeue_message(message)


def _sanitize_context(data):
    """Drop header values that would crash the worker before our code runs.

    Nameko joins ``call_id_stack`` with ``'->'.join`` while setting up the worker; a
    non-list or non-string entry there raises outside any handler and kills the container.
    """
    stack = data.get(CALL_ID_STACK_CONTEXT_KEY)
    if stack is not None and not (isinstance(stack, list) and all(isinstance(s, str) for s in stack)):
        data.pop(CALL_ID_STACK_CONTEXT_KEY)
    return data


rpc = Rpc.decorator


# --------------------------------------------------------------------------- client side

class _Reply:
    """An RPC reply that raises ServiceUnavailable instead of waiting forever."""

    def __init__(self, reply_event, reply_listener, correlation_id, service, method, timeout,
                 green_timeout):
        self.reply_event = reply_event
        self.reply_listener = reply_listener
        self.correlation_id = correlation_id
        self.service, self.method, self.timeout = service, method, timeout
        self.green_timeout = green_timeout
        self.resp_body = None

    def _unavailable(self, why):
        return ServiceUnavailable(
            f"{self.service}.{self.method} {why}",
            {"service": self.service, "method": self.method, "timeout": self.timeout})

    def result(self):
        if self.resp_body is None:
            self.resp_body = self._wait()
        error = self.resp_body.get("error")
        if error:
            raise deserialize_error(error)
        return self.resp_body.get("result")

    def _wait(self):
        if not self.green_timeout:
            # The standalone listener times out on its socket read and raises RpcTimeout.
            try:
                return self.reply_event.wait()
            except RpcTimeout:
                raise self._unavailable(f"did not answer within {self.timeout:g} s") from None
            except (OSError, AmqpConnectionError, OperationalError) as exc:
                raise self._unavailable(f"unreachable: {exc}") from None
        timer = eventlet.Timeout(self.timeout)
        try:
            return self.reply_event.wait()
        except eventlet.Timeout as exc:
            if exc is not timer:
                raise
            # Forget the pending event so a late reply is dropped instead of leaking.
            self.reply_listener._reply_events.pop(self.correlation_id, None)
            raise self._unavailable(f"did not answer within {self.timeout:g} s") from None
        finally:
            timer.cancel()


class TimedMethodProxy(MethodProxy):
    def __init__(self, worker_ctx, service_name, method_name, reply_listener, timeout,
                 green_timeout=True, **options):
        self.timeout = timeout
        self.green_timeout = green_timeout
        super().__init__(worker_ctx, service_name, method_name, reply_listener, **options)

    def _call(self, *args, **kwargs):
        correlation_id = str(uuid.uuid4())
        reply_event = self.reply_listener.get_reply_event(correlation_id)
        reply = _Reply(reply_event, self.reply_listener, correlation_id, self.service_name,
                       self.method_name, self.timeout, self.green_timeout)
        try:
            # Publishing retries on connection errors; bound it by the same timeout.
            with eventlet.Timeout(self.timeout, ServiceUnavailable(
                    f"{self.service_name}.{self.method_name}: broker did not accept the request "
                    f"within {self.timeout:g} s",
                    {"service": self.service_name, "method": self.method_name})):
                self.publisher.publish(
                    {"args": args, "kwargs": kwargs},
                    exchange=get_rpc_exchange(self.container.config),
                    routing_key=f"{self.service_name}.{self.method_name}",
                    mandatory=True,  # with confirms, an unbound routing key comes back
                    reply_to=self.reply_listener.routing_key,
                    correlation_id=correlation_id,
                    extra_headers=self.get_message_headers(self.worker_ctx))
        except UndeliverableMessage:
            self.reply_listener._reply_events.pop(correlation_id, None)
            raise reply._unavailable("is not running (no queue bound)") from None
        except (OSError, AmqpConnectionError, OperationalError) as exc:
            self.reply_listener._reply_events.pop(correlation_id, None)
            raise reply._unavailable(f"unreachable: {exc}") from None
        except ServiceUnavailable:
            self.reply_listener._reply_events.pop(correlation_id, None)
            raise
        return reply


class TimedServiceProxy:
    def __init__(self, worker_ctx, service_name, reply_listener, timeout, green_timeout=True,
                 **options):
        self.worker_ctx = worker_ctx
        self.service_name = service_name
        self.reply_listener = reply_listener
        self.timeout = timeout
        self.green_timeout = green_timeout
        self.options = options

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return TimedMethodProxy(self.worker_ctx, self.service_name, name, self.reply_listener,
                                self.timeout, self.green_timeout, **self.options)

    def __getitem__(self, name):
        return getattr(self, name)


class ServiceRpc(DependencyProvider):
    """``nameko.rpc.RpcProxy`` whose every call times out (``RPC_TIMEOUT``, default 5 s).

    A call that gets no answer in time, or whose target has no queue, raises
    ``ServiceUnavailable`` naming the service and method. The worker's context data
    (actor, request id, call id stack) travels on as Nameko does.
    """

    rpc_reply_listener = ReplyListener()  # Nameko's: one reply queue per container

    def __init__(self, target_service, timeout=None, **options):
        self.target_service = target_service
        self.timeout = timeout
        self.options = {**RPC_REQUEST_OPTIONS, **options}

    def get_dependency(self, worker_ctx):
        return TimedServiceProxy(worker_ctx, self.target_service, self.rpc_reply_listener,
                                 rpc_timeout(self.container.config, self.timeout), **self.options)


class _TimedClusterProxy:
    def __init__(self, worker_ctx, reply_listener, timeout):
        self._worker_ctx = worker_ctx
        self._reply_listener = reply_listener
        self._timeout = timeout
        self._proxies = {}

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        if name not in self._proxies:
            self._proxies[name] = TimedServiceProxy(self._worker_ctx, name, self._reply_listener,
                                                    self._timeout, green_timeout=False,
                                                    **RPC_REQUEST_OPTIONS)
        return self._proxies[name]

    def __getitem__(self, name):
        return getattr(self, name)


class _TimedClusterRpcProxy(ClusterRpcProxy):
    def __init__(self, config, context_data, timeout):
        super().__init__(config, context_data=context_data, timeout=timeout)
        self._proxy = _TimedClusterProxy(self._worker_ctx, self._reply_listener, timeout)


class cluster_rpc:
    """Standalone client for scripts, tests and benchmarks::

        with cluster_rpc(amqp_uri, actor=Actor("u1", frozenset({"sales_rep"}))) as rpc:
            rpc.customer.get("C00000001")

    ``config_or_uri`` is a Nameko config dict or an AMQP URI. Context data is the actor's
    (the system actor with a fresh request id when none is given). Calls time out after
    ``timeout`` / ``RPC_TIMEOUT`` / 5 s with ``ServiceUnavailable``. One client is
    single-threaded: give each greenthread its own.
    """

    def __init__(self, config_or_uri, actor=None, timeout=None):
        if isinstance(config_or_uri, str):
            config = {AMQP_URI_CONFIG_KEY: config_or_uri}
        else:
            config = dict(config_or_uri)
        self.config = config
        self.actor = actor or Actor.system(request_id=str(uuid.uuid4()))
        self.timeout = rpc_timeout(config, timeout)
        self._standalone = None

    def __enter__(self):
        self._standalone = _TimedClusterRpcProxy(self.config, self.actor.to_context_data(),
                                                 self.timeout)
        try:
            return self._standalone.start()
        except (OSError, AmqpConnectionError, OperationalError) as exc:
            raise ServiceUnavailable(f"broker unreachable: {exc}", {"service": "broker"}) from None

    def __exit__(self, *exc_info):
        try:
            self._standalone.stop()
        except Exception:  # the connection may already be gone; nothing left to release
            _log.debug("error closing cluster_rpc", exc_info=True)
