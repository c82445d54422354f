"""A thread-safe pool of standalone Nameko RPC clients for the gateway's worker threads.

The gateway runs under gunicorn ``gthread`` workers: plain OS threads, no eventlet monkey
patching. ``guanxi_common.rpc.cluster_rpc`` does not fit there as it is:

- a standalone proxy is single-threaded, and its context data is fixed when it is built,
  while every request has its own caller;
- its requests go through Nameko's ``Publisher``, i.e. kombu's process-wide pools
  (``acquire(block=True)`` without a timeout) and a retry policy that sleeps 2 s and more
  between reconnects. The only bound on that is an ``eventlet.Timeout``, whose timer never
  fires in a thread that does not run an eventlet hub: with the broker gone, a call with a
  2 s timeout took 3-5 s from a plain thread (it does bound it in a green process);
- Nameko's polling reply consumer reconnects and waits again after a connection error, and
  restarts its wait for every stray message, so a call may take more than its timeout.

So each pooled client owns two connections (one consuming its reply queue, one publishing
with confirms), both opened once with a bounded connect and never retried, and every wait
has a deadline. A client that saw a transport failure or a timeout is discarded; a new one
is made on a later checkout, which is how the pool recovers by itself. The request path
itself (headers from context data, ``mandatory`` + confirms so that a service without a
queue fails at once, typed errors rebuilt from the reply) is guanxi_common's
``TimedMethodProxy``; its ``eventlet.Timeout`` is a no-op here, the bounds below replace it.

Usage::

    pool = RpcPool(amqp_uri, size=8, timeout=5.0)
    with pool.client(actor) as rpc:            # the actor travels as context data
        rpc.customer.get("C00000001")
    sections = pool.gather({"orders": lambda rpc: rpc.sales.list_orders(number)}, actor=actor)
"""
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from contextlib import contextmanager
from dataclasses import dataclass

from amqp.exceptions import AMQPError, MessageNacked
from amqp.exceptions import ConnectionError as AmqpConnectionError
from eventlet.patcher import original
from kombu import Connection, Producer
from kombu.exceptions import EncodeError, KombuError, OperationalError
from nameko import serialization
from nameko.amqp.publish import UndeliverableMessage
from nameko.constants import AMQP_SSL_CONFIG_KEY, AMQP_URI_CONFIG_KEY, LOGIN_METHOD_CONFIG_KEY
from nameko.containers import WorkerContext
from nameko.exceptions import RpcTimeout
from nameko.standalone.rpc import (
    PollingQueueConsumer, SingleThreadedReplyListener, StandaloneProxyBase,
)

from guanxi_common.errors import ServiceUnavailable
from guanxi_common.rpc import RPC_REQUEST_OPTIONS, TimedMethodProxy

_log = logging.getLogger(__name__)

CONNECTION_ERRORS = (OSError, AmqpConnectionError, OperationalError)

# The real poll(): an idle client's sockets are checked without cooperating with any
# eventlet hub (eventlet's green ``select`` has no poll, and a green recv would wait).
_poll = original("select").poll
_POLL_TROUBLE = 0x001 | 0x008 | 0x010 | 0x020  # POLLIN, POLLERR, POLLHUP, POLLNVAL


@dataclass(frozen=True)
class Unavailable:
    """A :meth:`RpcPool.gather` section without an answer; ``error`` says why."""

    error: BaseException

    @property
    def status(self):
        return getattr(self.error, "status", 500)


def _connect(config, connect_timeout, io_timeout, **transport_options):
    """One connection attempt within ``connect_timeout``: kombu's lazy connect would retry
    after sleeping 2 s. Socket reads and writes outside a timed wait are bounded too."""
    connection = Connection(
        config[AMQP_URI_CONFIG_KEY], ssl=config.get(AMQP_SSL_CONFIG_KEY),
        login_method=config.get(LOGIN_METHOD_CONFIG_KEY), connect_timeout=connect_timeout,
        transport_options={"read_timeout": io_timeout, "write_timeout": io_timeout,
                           **transport_options})
    try:
        connection.ensure_connection(max_retries=0)
    except BaseException:
        connection.collect()
        raise
    return connection


def _quiet(connection):
    """Whether an idle connection is still open and has nothing to say (no EOF, no
    connection.close from the broker, no stray frame)."""
    if not connection.connected:
        return False
    try:
        poller = _poll()
        poller.register(connection.connection.sock.fileno(), _POLL_TROUBLE)
        return not poller.poll(0)
    except (OSError, ValueError, AttributeError):
        return False


class _ReplyConsumer(PollingQueueConsumer):
    """Nameko's polling reply consumer with a deadline per call and no reconnect."""

    def __init__(self, timeout, connect_timeout):
        super().__init__(timeout=timeout)
        self.connect_timeout = connect_timeout

    def register_provider(self, provider):
        config = provider.container.config
        self.provider = provider
        self.serializer, self.accept = serialization.setup(config)
        self.connection = _connect(config, self.connect_timeout,
                                   max(self.timeout, self.connect_timeout))
        self.queue = provider.queue
        self._setup_consumer()
        self.stopped = False

    def on_message(self, body, message):
        if message.properties.get("correlation_id") in self.provider._reply_events:
            self.replies[message.properties["correlation_id"]] = (body, message)
        else:
            message.ack()  # a reply nobody waits for any more: drop it, do not hoard it

    def get_message(self, correlation_id):
        deadline = time.monotonic() + self.timeout
        while correlation_id not in self.replies:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                event = self.provider._reply_events.pop(correlation_id, None)
                if event is not None:
                    event.send_exception(RpcTimeout(self.timeout))
                return
            try:
                self.connection.drain_events(timeout=remaining)
            except TimeoutError:
                continue
        body, message = self.replies.pop(correlation_id)
        self.provider.handle_message(body, message)


class _ReplyListener(SingleThreadedReplyListener):
    def __init__(self, timeout, connect_timeout):
        super().__init__(timeout=timeout)
        self.queue_consumer = _ReplyConsumer(timeout, connect_timeout)


class _Publisher:
    """Publishes requests on its own connection, once, waiting for the broker's confirm
    within the call's timeout. A ``mandatory`` request that no queue takes comes back as
    ``basic.return`` before the confirm; it is recorded rather than raised from inside the
    confirm wait, so the confirm is consumed and the channel stays in step."""

    def __init__(self, client, config, connect_timeout):
        self.client = client
        self.timeout = client.timeout
        self.serializer, _ = serialization.setup(config)
        self.connection = _connect(config, connect_timeout, max(self.timeout, connect_timeout),
                                   confirm_publish=True)
        channel = self.connection.channel()
        channel.events["basic_return"].add(self._on_return)
        self.producer = Producer(channel, serializer=self.serializer, auto_declare=False)
        self._returned = False

    def _on_return(self, exc, exchange, routing_key, message):
        self._returned = True

    def publish(self, payload, exchange, routing_key, mandatory, reply_to, correlation_id,
                extra_headers):
        self._returned = False
        try:
            self.producer.publish(
                payload, exchange=getattr(exchange, "name", exchange), routing_key=routing_key,
                mandatory=mandatory, reply_to=reply_to, correlation_id=correlation_id,
                headers=extra_headers, delivery_mode=RPC_REQUEST_OPTIONS["delivery_mode"],
                retry=False, timeout=self.timeout, confirm_timeout=self.timeout)
        except EncodeError:
            raise  # arguments that cannot be serialised: the caller's bug, nothing was sent
        except BaseException as exc:
            self.client.broken = True
            if isinstance(exc, (AMQPError, KombuError, MessageNacked, OSError)):
                service, _, method = routing_key.partition(".")
                raise ServiceUnavailable(
                    f"{routing_key}: the broker did not take the request "
                    f"({type(exc).__name__}: {exc})",
                    {"service": service, "method": method}) from None
            raise
        if self._returned:
            raise UndeliverableMessage()


class _Client:
    """One reply queue and one publishing connection, used by one thread at a time."""

    def __init__(self, config, name, timeout, connect_timeout):
        self.timeout = timeout
        self.broken = False
        self.last_used = time.monotonic()
        self.container = StandaloneProxyBase.ServiceContainer(config)
        self.container.service_name = name  # names the reply queue and the call ids
        self.reply_listener = _ReplyListener(timeout, connect_timeout).bind(self.container)
        self.publisher = None
        try:
            self.reply_listener.setup()
            self.publisher = _Publisher(self, config, connect_timeout)
        except BaseException:
            self.broken = True
            self.close()
            raise

    def _connections(self):
        consumer = self.reply_listener.queue_consumer
        return [c for c in (getattr(consumer, "connection", None),
                            self.publisher and self.publisher.connection) if c is not None]

    def usable(self, max_idle):
        if self.broken or time.monotonic() - self.last_used > max_idle:
            return False
        connections = self._connections()
        return len(connections) == 2 and all(_quiet(c) for c in connections)

    def set_timeout(self, timeout):
        self.reply_listener.queue_consumer.timeout = timeout
        self.publisher.timeout = timeout

    def close(self):
        """Politely when healthy (bounded by the socket timeouts), else just drop the sockets."""
        self.reply_listener.queue_consumer.stopped = True
        for connection in self._connections():
            try:
                if self.broken:
                    connection.collect()
                else:
                    connection.release()
            except Exception:
                _log.debug("error closing an RPC client connection", exc_info=True)
                connection.collect()


class _MethodProxy(TimedMethodProxy):
    """``rpc.<service>.<method>(...)``: the lease's context data, the client's connections."""

    def __init__(self, lease, service_name, method_name):
        client = lease._active_client()
        super().__init__(lease._worker_ctx, service_name, method_name, client.reply_listener,
                         client.timeout, green_timeout=False, **RPC_REQUEST_OPTIONS)
        self.publisher = client.publisher
        self._lease = lease

    def __call__(self, *args, **kwargs):
        client = self._lease._active_client()
        self.timeout = self._lease._call_timeout(self.service_name, self.method_name)
        client.set_timeout(self.timeout)
        try:
            reply = self._call(*args, **kwargs)  # a failed publish has marked the client
            try:
                return reply.result()
            except Exception as exc:
                if reply.resp_body is not None:
                    raise  # the service answered with an error: the client is fine
                client.broken = True  # timed out or lost the connection while waiting
                if isinstance(exc, ServiceUnavailable):
                    raise
                raise ServiceUnavailable(
                    f"{self.service_name}.{self.method_name}: the reply was lost ({exc})",
                    {"service": self.service_name, "method": self.method_name}) from None
        except Exception as exc:
            if isinstance(exc, CONNECTION_ERRORS):
                client.broken = True
                raise ServiceUnavailable(
                    f"{self.service_name}.{self.method_name} unreachable: {exc}",
                    {"service": self.service_name, "method": self.method_name}) from None
            raise
        except BaseException:
            client.broken = True  # interrupted mid-call: its connections are in an unknown state
            raise


class _ServiceProxy:
    def __init__(self, lease, service_name):
        self._lease = lease
        self._service_name = service_name

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _MethodProxy(self._lease, self._service_name, name)

    def __getitem__(self, name):
        return getattr(self, name)


class _Lease:
    """What ``pool.client(actor)`` yields. The context data lives here, not in the shared
    client: every checkout gets its own WorkerContext (the actor, a fresh call id), so a
    reused client never carries the previous caller, and a lease kept past its ``with``
    block refuses to call instead of borrowing a client another thread now owns."""

    def __init__(self, client, actor, deadline, timeout):
        self._client = client
        self._deadline = deadline
        self._timeout = timeout
        self._worker_ctx = WorkerContext(client.container, None, StandaloneProxyBase.Dummy,
                                         data=actor.to_context_data())

    def _active_client(self):
        if self._client is None:
            raise RuntimeError("this RPC client was given back to the pool; check out another")
        return self._client

    def _call_timeout(self, service, method):
        if self._deadline is None:
            return self._timeout
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise ServiceUnavailable(f"{service}.{method}: no time left for the call",
                                     {"service": service, "method": method})
        return min(self._timeout, remaining)

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return _ServiceProxy(self, name)

    def __getitem__(self, name):
        return _ServiceProxy(self, name)


class RpcPool:
    """Up to ``size`` RPC clients shared by threads, each used by one thread at a time.

    Clients are made on demand (a connect takes at most ``connect_timeout``, once; after a
    failure, new connects are refused for ``reconnect_interval`` so a broker outage answers
    in microseconds), reused LIFO, and replaced when broken, idle longer than ``max_idle``
    or closed by the broker. Every call times out after ``timeout`` with
    ``ServiceUnavailable``; a checkout waits at most ``timeout`` for a free client.
    """

    def __init__(self, amqp_uri, size=8, timeout=5.0, connect_timeout=2.0, *, name="gateway",
                 max_idle=120.0, reconnect_interval=1.0):
        if isinstance(amqp_uri, str):
            self.config = {AMQP_URI_CONFIG_KEY: amqp_uri}
        else:
            self.config = dict(amqp_uri)
        if size < 1:
            raise ValueError("size must be at least 1")
        self.size, self.timeout, self.connect_timeout = size, float(timeout), float(connect_timeout)
        self.name, self.max_idle, self.reconnect_interval = name, max_idle, reconnect_interval
        self._slots = threading.BoundedSemaphore(size)
        self._lock = threading.Lock()
        self._idle = []
        self._leased = 0
        self._created = 0
        self._discarded = 0
        self._connect_refused_until = 0.0
        self._executor = None
        self._closed = False

    # ------------------------------------------------------------------ checkout
    @contextmanager
    def client(self, actor, timeout=None, deadline=None):
        """``with pool.client(actor) as rpc: rpc.<service>.<method>(...)``.

        ``timeout`` bounds the wait for a free client (default: the call timeout);
        ``deadline`` (a ``time.monotonic()`` value) caps every call made with this client.
        Raises ``ServiceUnavailable`` when no client can be had in time.
        """
        if actor is None:
            raise TypeError("pool.client() needs the caller's Actor: services authorise by it")
        wait = self.timeout if timeout is None else max(0.0, timeout)
        client = self._checkout(wait)
        lease = _Lease(client, actor, deadline, self.timeout)
        try:
            yield lease
        finally:
            lease._client = None
            self._checkin(client)

    def _checkout(self, wait):
        if self._closed:
            raise ServiceUnavailable("the RPC pool is closed", {"service": "gateway"})
        if not self._slots.acquire(timeout=wait):
            raise ServiceUnavailable(f"no RPC client free within {wait:g} s",
                                     {"service": "gateway", "pool_size": self.size})
        try:
            client = self._reuse() or self._connect()
        except BaseException:
            self._slots.release()
            raise
        with self._lock:
            self._leased += 1
        return client

    def _reuse(self):
        while True:
            with self._lock:
                if not self._idle:
                    return None
                client = self._idle.pop()
            if client.usable(self.max_idle):
                return client
            client.broken = True
            self._discard(client)

    def _connect(self):
        now = time.monotonic()
        if now < self._connect_refused_until:
            raise ServiceUnavailable("broker unreachable (a reconnect is due shortly)",
                                     {"service": "broker"})
        try:
            client = _Client(self.config, self.name, self.timeout, self.connect_timeout)
        except (*CONNECTION_ERRORS, AMQPError, KombuError) as exc:
            # Refused, silent, wrong credentials or vhost: all an outage to our callers.
            self._connect_refused_until = time.monotonic() + self.reconnect_interval
            _log.warning("RPC pool cannot connect to the broker: %s: %s", type(exc).__name__, exc)
            raise ServiceUnavailable(f"broker unreachable: {exc}", {"service": "broker"}) from None
        self._connect_refused_until = 0.0
        with self._lock:
            self._created += 1
        return client

    def _checkin(self, client):
        try:
            with self._lock:
                self._leased -= 1
                keep = not (client.broken or self._closed)
                if keep:
                    client.last_used = time.monotonic()
                    self._idle.append(client)
            if not keep:
                self._discard(client)
        finally:
            self._slots.release()

    def _discard(self, client):
        with self._lock:
            self._discarded += 1
        client.close()

    # ------------------------------------------------------------------ fan-out
    def gather(self, calls, timeout=None, *, actor):
        """Run ``{name: fn(rpc)}`` in parallel, each with its own client and ``actor``.

        Returns ``{name: result or Unavailable(error)}`` within ``timeout`` (default: the
        call timeout) whatever the services do: sections still running then are reported
        unavailable, and their calls cannot outlive the deadline either. Do not call it
        while holding a client of the same pool: the sections need free clients.
        """
        budget = self.timeout if timeout is None else float(timeout)
        deadline = time.monotonic() + budget
        executor = self._get_executor()
        futures = {name: executor.submit(self._run_section, fn, actor, deadline)
                   for name, fn in calls.items()}
        wait_futures(futures.values(), timeout=max(0.0, deadline - time.monotonic()))
        results = {}
        for name, future in futures.items():
            if future.done() and not future.cancelled():
                error = future.exception()
                results[name] = Unavailable(error) if error is not None else future.result()
            else:
                future.cancel()
                results[name] = Unavailable(ServiceUnavailable(
                    f"{name} did not answer within {budget:g} s",
                    {"section": name, "timeout": budget}))
        return results

    def _run_section(self, fn, actor, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ServiceUnavailable("no time left to start", {"timeout": 0})
        with self.client(actor, timeout=remaining, deadline=deadline) as rpc:
            return fn(rpc)

    def _get_executor(self):
        with self._lock:
            if self._closed:
                raise ServiceUnavailable("the RPC pool is closed", {"service": "gateway"})
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=self.size,
                                                    thread_name_prefix=f"{self.name}-rpc")
            return self._executor

    # ------------------------------------------------------------------ lifecycle
    def stats(self):
        with self._lock:
            return {"size": self.size, "idle": len(self._idle), "in_use": self._leased,
                    "created": self._created, "discarded": self._discarded}

    def close(self):
        """Close idle clients now and leased ones when they come back; refuse checkouts."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)
        for client in idle:
            client.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
