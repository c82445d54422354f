"""RPC clients whose every call times out: ``ServiceRpc`` (inside a service) and
``cluster_rpc`` (scripts, tests, benchmarks).

A call that gets no answer in time, whose target has no queue, or whose broker is gone
raises ``ServiceUnavailable`` naming the service and method, instead of waiting forever.
Each request expires (AMQP ``expiration``) when its caller stops waiting, so a service
that comes back later does not run requests nobody waits for.
Replies are read through :func:`guanxi_common.rpc.wire.deserialize_error`, so the caller
gets the service's typed error back.
"""
import logging
import uuid

import eventlet
from amqp.exceptions import ConnectionError as AmqpConnectionError
from kombu.exceptions import OperationalError
from nameko.amqp.publish import UndeliverableMessage
from nameko.constants import AMQP_URI_CONFIG_KEY
from nameko.exceptions import RpcTimeout
from nameko.extensions import DependencyProvider
from nameko.rpc import MethodProxy, ReplyListener, get_rpc_exchange
from nameko.standalone.rpc import ClusterRpcProxy

from guanxi_common.circuits import CallGuard, rpc_breakers
from guanxi_common.config import rpc_breaker_cooldown, rpc_breaker_failures
from guanxi_common.config import rpc_timeout as configured_rpc_timeout
from guanxi_common.context import Actor
from guanxi_common.errors import ServiceUnavailable
from guanxi_common.reconnect import CappedQueueConsumer
from guanxi_common.rpc.wire import RPC_REQUEST_OPTIONS, deserialize_error, request_expiration_ms

_log = logging.getLogger(__name__)

DEFAULT_RPC_TIMEOUT = 5.0


def rpc_timeout(config, override=None):
    if override is not None:
        return float(override)
    configured = config.get("RPC_TIMEOUT") if isinstance(config, dict) else None
    return float(configured or configured_rpc_timeout())


class _Reply:
    """An RPC reply that raises ServiceUnavailable instead of waiting forever."""

    def __init__(self, reply_event, reply_listener, correlation_id, service, method, timeout,
                 green_timeout, guard=None):
        self.guard = guard or CallGuard(None, service, method)
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
            try:
                self.resp_body = self._wait()
            except ServiceUnavailable:
                self.guard.no_answer()
                raise
            self.guard.answered()
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
                 green_timeout=True, breakers=None, **options):
        self.timeout = timeout
        self.green_timeout = green_timeout
        self.breakers = breakers
        super().__init__(worker_ctx, service_name, method_name, reply_listener, **options)

    def _call(self, *args, **kwargs):
        guard = CallGuard(self.breakers, self.service_name, self.method_name)  # or CircuitOpen
        correlation_id = str(uuid.uuid4())
        reply_event = self.reply_listener.get_reply_event(correlation_id)
        reply = _Reply(reply_event, self.reply_listener, correlation_id, self.service_name,
                       self.method_name, self.timeout, self.green_timeout, guard)
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
                    # kombu takes seconds and sends whole milliseconds
                    expiration=int(request_expiration_ms(self.timeout)) / 1000,
                    extra_headers=self.get_message_headers(self.worker_ctx))
        except UndeliverableMessage:
            self.reply_listener._reply_events.pop(correlation_id, None)
            guard.no_answer()
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
                 breakers=None, **options):
        self.breakers = breakers
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
                                self.timeout, self.green_timeout, self.breakers, **self.options)

    def __getitem__(self, name):
        return getattr(self, name)


class CappedReplyListener(ReplyListener):
    """Nameko's reply listener (one reply queue per container), reconnecting quickly."""

    queue_consumer = CappedQueueConsumer()


class ServiceRpc(DependencyProvider):
    """``nameko.rpc.RpcProxy`` whose every call times out (``RPC_TIMEOUT``, default 5 s).

    A call that gets no answer in time, or whose target has no queue, raises
    ``ServiceUnavailable`` naming the service and method. The worker's context data
    (actor, request id, call id stack) travels on as Nameko does. After
    ``RPC_BREAKER_FAILURES`` such calls in a row the target's circuit opens
    (``guanxi_common.circuits``): calls raise ``CircuitOpen`` at once for
    ``RPC_BREAKER_COOLDOWN`` seconds, then the next call is the trial that closes it.
    """

    rpc_reply_listener = CappedReplyListener()

    def __init__(self, target_service, timeout=None, **options):
        self.target_service = target_service
        self.timeout = timeout
        self.options = {**RPC_REQUEST_OPTIONS, **options}

    def setup(self):
        config = self.container.config
        self.breakers = rpc_breakers(
            self.container.service_name,
            int(config.get("RPC_BREAKER_FAILURES", rpc_breaker_failures())),
            float(config.get("RPC_BREAKER_COOLDOWN", rpc_breaker_cooldown())))

    def get_dependency(self, worker_ctx):
        return TimedServiceProxy(worker_ctx, self.target_service, self.rpc_reply_listener,
                                 rpc_timeout(self.container.config, self.timeout),
                                 breakers=self.breakers, **self.options)


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
