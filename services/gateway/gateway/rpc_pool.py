"""A thread-safe pool of lean AMQP RPC clients for the gateway's worker threads.

The gateway runs under gunicorn ``gthread`` workers: plain OS threads, no eventlet monkey
patching. Nameko's standalone proxy (``guanxi_common.rpc.cluster_rpc``) does not fit there:

- it is single-threaded, and its context data is fixed when it is built, while every
  request has its own caller;
- its requests go through Nameko's ``Publisher``, i.e. kombu's process-wide pools
  (``acquire(block=True)`` without a timeout) and a retry policy that sleeps 2 s and more
  between reconnects. The only bound on that is an ``eventlet.Timeout``, whose timer never
  fires in a thread that does not run an eventlet hub: with the broker gone, a call with a
  2 s timeout took 3-5 s from a plain thread;
- its polling reply consumer reconnects and waits again after a connection error;
- and it is costly per call: context objects, a confirm round trip, an ack per reply.

So each pooled client speaks Nameko's RPC wire protocol itself, on one connection opened
once with a bounded connect and never retried: an exclusive reply queue bound to the RPC
exchange and consumed without acks, requests published ``mandatory`` on the same channel,
every wait with a deadline. A request that no queue takes comes back as ``basic.return``,
which arrives before any reply could, so "service not running" is answered at once without
publisher confirms; a broker that dies mid-call shows as an error on the socket the reply
is read from. A client that saw a transport failure or a timeout is discarded; a new one is
made on a later checkout, which is how the pool recovers by itself.

Every target service has a circuit breaker (``guanxi_common.circuits``): after
``breaker_failures`` calls in a row that got no answer (timed out, or no consumer for the
request) its calls are refused at once with ``CircuitOpen`` (503) for ``breaker_cooldown``
seconds; then the next call starts a probe in the background (the chassis' ``ping`` of
that service, with the call timeout) and is refused too: only the probe's answer closes
the circuit again. So a stopped service costs the RPC timeout a few times, not on every
request, no user request waits for it once its circuit is open, and the gateway's threads
are not all kept waiting for it. The breakers sit where a call is
made (``rpc.<service>.<method>()``), below the pool interface, so ``gather`` sections and
single calls share them, and ``gateway.testing.FakeRpcPool`` takes the same breakers.

The wire format is Nameko's: body ``{"args", "kwargs"}`` in the configured serializer,
``reply_to`` / ``correlation_id``, the caller's context data as ``nameko.*`` headers (the
actor, and a fresh ``call_id_stack`` per checkout), replies ``{"result", "error"}`` with
errors rebuilt through the exception registry (``guanxi_common.rpc.deserialize_error``).

Usage::

    pool = RpcPool(amqp_uri, size=8, timeout=5.0)
    with pool.client(actor) as rpc:            # the actor travels as context data
        rpc.customer.get("C00000001")
    sections = pool.gather({"orders": lambda rpc: rpc.sales.list_orders(number)}, actor=actor)
"""
import logging
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from contextlib import contextmanager
from dataclasses import dataclass

from amqp import Message
from amqp.exceptions import AMQPError
from amqp.exceptions import ConnectionError as AmqpConnectionError
from eventlet.patcher import original
from kombu import Connection
from kombu.exceptions import KombuError, OperationalError
from kombu.serialization import dumps, loads, prepare_accept_content
from nameko import serialization
from nameko.constants import (
    AMQP_SSL_CONFIG_KEY, AMQP_URI_CONFIG_KEY, HEADER_PREFIX, LOGIN_METHOD_CONFIG_KEY,
)
from nameko.rpc import get_rpc_exchange

from guanxi_common.circuits import NoAnswer, NotDelivered, guarded_call, report, rpc_breakers
from guanxi_common.context import Actor
from guanxi_common.errors import ServiceUnavailable
from guanxi_common.rpc import RPC_REQUEST_OPTIONS, deserialize_error, request_expiration_ms

_log = logging.getLogger(__name__)

# Refused, reset, silent, wrong credentials or vhost, closed by the broker: all an outage.
TRANSPORT_ERRORS = (OSError, AmqpConnectionError, OperationalError, AMQPError, KombuError)

# The real poll(): an idle client's socket is checked without cooperating with any
# eventlet hub (eventlet's green ``select`` has no poll, and a green recv would wait).
_poll = original("select").poll
_POLL_TROUBLE = 0x001 | 0x008 | 0x010 | 0x020  # POLLIN, POLLERR, POLLHUP, POLLNVAL
_PROBE_ACTOR = Actor.system(request_id="gateway-circuit-probe")


@dataclass(frozen=True)
class Unavailable:
    """A :meth:`RpcPool.gather` section without an answer; ``error`` says why."""

    error: BaseException

    @property
    def status(self):
        return getattr(self.error, "status", 500)


def _connect(config, connect_timeout, io_timeout):
    """One connection attempt within ``connect_timeout``: kombu's lazy connect would retry
    after sleeping 2 s. Socket reads and writes outside a timed wait are bounded too."""
    connection = Connection(
        config[AMQP_URI_CONFIG_KEY], ssl=config.get(AMQP_SSL_CONFIG_KEY),
        login_method=config.get(LOGIN_METHOD_CONFIG_KEY), connect_timeout=connect_timeout,
        transport_options={"read_timeout": io_timeout, "write_timeout": io_timeout})
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


def _unavailable(service, method, why, kind=NotDelivered, **details):
    return kind(f"{service}.{method} {why}", {"service": service, "method": method, **details})


class _Client:
    """One connection, one channel, one reply queue; used by one thread at a time."""

    def __init__(self, config, name, timeout, connect_timeout):
        self.broken = False
        self.last_used = time.monotonic()
        self.exchange = get_rpc_exchange(config)
        self.serializer, accept = serialization.setup(config)
        self.accept = prepare_accept_content(accept)
        self._waiting = None  # the correlation id of the call in flight
        self._reply = None
        self._returned = False
        self.connection = _connect(config, connect_timeout, max(timeout, connect_timeout))
        try:
            self._amqp = self.connection.connection  # py-amqp's Connection: no kombu layers
            self.channel = self._amqp.channel()
            self.channel.events["basic_return"].add(self._on_return)
            self.reply_to = str(uuid.uuid4())
            queue = f"rpc.reply-{name}-{self.reply_to}"
            self.channel.exchange_declare(self.exchange.name, self.exchange.type,
                                          durable=True, auto_delete=False)
            self.channel.queue_declare(queue=queue, exclusive=True, auto_delete=True)
            self.channel.queue_bind(queue=queue, exchange=self.exchange.name,
                                    routing_key=self.reply_to)
            self.channel.basic_consume(queue=queue, no_ack=True, callback=self._on_reply)
        except BaseException:
            self.broken = True
            self.close()
            raise

    def _on_reply(self, message):
        if message.properties.get("correlation_id") == self._waiting:
            self._reply = message
        # else: the late reply of a call that gave up; with no acks it is simply dropped

    def _on_return(self, exc, exchange, routing_key, message):
        if message.properties.get("correlation_id") == self._waiting:
            self._returned = True

    def call(self, service, method, args, kwargs, headers, timeout):
        """Publish the request, wait for its reply; the result or the service's error."""
        content_type, encoding, body = dumps({"args": args, "kwargs": kwargs},
                                             serializer=self.serializer)  # an EncodeError is the caller's
        correlation_id = str(uuid.uuid4())
        self._waiting, self._reply, self._returned = correlation_id, None, False
        deadline = time.monotonic() + timeout
        try:
            self._publish(service, method, body, content_type, encoding, correlation_id, headers,
                          timeout)
            reply = self._wait(service, method, deadline, timeout)
        except BaseException:
            self.broken = True  # timed out, lost or interrupted: its state is unknown
            raise
        finally:
            self._waiting = None
        if reply is None:
            raise _unavailable(service, method, "is not running (no queue bound)", NoAnswer)
        payload = loads(reply.body, reply.properties.get("content_type"),
                        reply.properties.get("content_encoding"), accept=self.accept)
        error = payload.get("error")
        if error:
            raise deserialize_error(error)
        return payload.get("result")

    def _publish(self, service, method, body, content_type, encoding, correlation_id, headers,
                 timeout):
        message = Message(body, content_type=content_type, content_encoding=encoding,
                          reply_to=self.reply_to, correlation_id=correlation_id,
                          delivery_mode=RPC_REQUEST_OPTIONS["delivery_mode"],
                          expiration=request_expiration_ms(timeout),  # not run once given up
                          application_headers=headers)
        try:
            self.channel.basic_publish(message, exchange=self.exchange.name,
                                       routing_key=f"{service}.{method}", mandatory=True)
        except TRANSPORT_ERRORS as exc:
            raise _unavailable(service, method, "could not be sent: the broker did not take "
                               f"the request ({type(exc).__name__}: {exc})") from None

    def _wait(self, service, method, deadline, timeout):
        """The reply message, or None when the broker returned the request as unroutable."""
        while self._reply is None and not self._returned:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _unavailable(service, method, f"did not answer within {timeout:g} s",
                                   NoAnswer, timeout=timeout)
            try:
                self._amqp.drain_events(timeout=remaining)
            except TimeoutError:
                continue
            except TRANSPORT_ERRORS as exc:
                raise _unavailable(service, method, f"unreachable: the reply was lost "
                                   f"({type(exc).__name__}: {exc})") from None
        return self._reply

    def usable(self, max_idle):
        if self.broken or time.monotonic() - self.last_used > max_idle:
            return False
        return _quiet(self.connection)

    def close(self):
        """Politely when healthy (bounded by the socket timeouts), else just drop the socket."""
        try:
            if self.broken:
                self.connection.collect()
            else:
                self.connection.release()
        except Exception:
            _log.debug("error closing an RPC client connection", exc_info=True)
            self.connection.collect()


class _MethodProxy:
    """``rpc.<service>.<method>(...)`` with the lease's context and deadline."""

    def __init__(self, lease, service_name, method_name):
        self._lease = lease
        self.service_name, self.method_name = service_name, method_name

    def __call__(self, *args, **kwargs):
        lease = self._lease
        client = lease._active_client()
        service, method = self.service_name, self.method_name
        timeout = lease._call_timeout(service, method)
        return guarded_call(lease._breakers, service, method, lambda: client.call(
            service, method, args, kwargs, lease._headers, timeout), lease._probe)


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
    """What ``pool.client(actor)`` yields. The context lives here, not in the shared
    client: every checkout gets its own headers (the actor, a fresh call id), so a reused
    client never carries the previous caller, and a lease kept past its ``with`` block
    refuses to call instead of borrowing a client another thread now owns."""

    def __init__(self, client, actor, deadline, timeout, name, breakers, probe):
        self._client = client
        self._breakers, self._probe = breakers, probe
        self._deadline = deadline
        self._timeout = timeout
        data = {**actor.to_context_data(), "call_id_stack": [f"{name}.call.{uuid.uuid4()}"]}
        # Nameko's HeaderEncoder: one ``nameko.<key>`` header per context value set.
        self._headers = {f"{HEADER_PREFIX}.{key}": value for key, value in data.items()
                         if value is not None}

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
    ``breaker_failures`` calls in a row to one service without an answer open its circuit
    for ``breaker_cooldown`` seconds (0 failures: no breakers); ``clock`` is for tests.
    """

    def __init__(self, amqp_uri, size=8, timeout=5.0, connect_timeout=2.0, *, name="gateway",
                 max_idle=120.0, reconnect_interval=1.0, breaker_failures=5,
                 breaker_cooldown=10.0, clock=time.monotonic):
        if isinstance(amqp_uri, str):
            self.config = {AMQP_URI_CONFIG_KEY: amqp_uri}
        else:
            self.config = dict(amqp_uri)
        if size < 1:
            raise ValueError("size must be at least 1")
        self.size, self.timeout, self.connect_timeout = size, float(timeout), float(connect_timeout)
        self.name, self.max_idle, self.reconnect_interval = name, max_idle, reconnect_interval
        self.breakers = rpc_breakers(name, breaker_failures, breaker_cooldown, clock=clock)
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
        lease = _Lease(client, actor, deadline, self.timeout, self.name, self.breakers,
                       self._start_probe)
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
        except TRANSPORT_ERRORS as exc:
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

    # ------------------------------------------------------------------ probes
    def _start_probe(self, service, trial):
        threading.Thread(target=self._probe, args=(service, trial), daemon=True,
                         name=f"{self.name}-probe-{service}").start()

    def _probe(self, service, trial):
        """``service.ping()`` outside the breaker; its outcome decides the trial (a probe
        that could not be sent decides nothing: another is made after the cool-down)."""
        error = None
        try:
            with self.client(_PROBE_ACTOR) as lease:
                client = lease._active_client()
                try:
                    client.call(service, "ping", (), {}, lease._headers, self.timeout)
                except Exception as exc:  # noqa: BLE001 -- the outcome is the report
                    error = exc
                report(self.breakers, service, trial, error)
        except ServiceUnavailable as exc:  # no client: the broker is away or the pool full
            error = exc
        _log.info("circuit of %s probed: %s", service,
                  "answered" if error is None else f"{type(error).__name__}: {error}")

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

    def circuits(self):
        """``{service: {"state", "failures", "retry_after"}}`` of every service called."""
        return self.breakers.snapshot()

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
