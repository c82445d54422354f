"""An in-memory stand-in for :class:`gateway.rpc_pool.RpcPool`, so endpoint tests run the
real Flask app without a broker or a service::

    pool = FakeRpcPool()
    pool.reply("customer", "get", record)                     # the same answer every time
    pool.reply("customer", "search", lambda criteria: page)   # computed from the arguments
    pool.fail("customer", "get", NotFound("customer C09999999 not found"))
    pool.down("sales")                                        # every sales call: 503
    pool = FakeRpcPool(breakers=rpc_breakers("gateway", 3, 10, clock=clock))  # circuits too
    app = create_app({..., "RPC_POOL": pool})

    call = pool.last("customer", "update")
    call.args, call.kwargs, call.actor, call.context          # what the gateway sent

Arguments and answers cross the same JSON serializer as on the wire (a ``Decimal`` in a
body reaches the "service" the way Nameko would deliver it), and errors cross the same
error serialisation (``guanxi_common.rpc.serialize_error``), so the gateway meets what a
real service would send back. A call nobody configured raises :class:`UnexpectedCall` and
is kept in :attr:`FakeRpcPool.unexpected`, so a test can tell a missing fixture from a
gateway bug.
"""
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from kombu.serialization import dumps, loads, prepare_accept_content
from nameko import serialization

from guanxi_common.circuits import NoAnswer, guarded_call
from guanxi_common.context import Actor
from guanxi_common.errors import ServiceUnavailable
from guanxi_common.rpc import deserialize_error, serialize_error

from gateway.rpc_pool import Unavailable

_SERIALIZER, _accept = serialization.setup({})  # Nameko's defaults, as the real pool
_ACCEPT = prepare_accept_content(_accept)


class UnexpectedCall(AssertionError):
    """The gateway called a method the test gave no answer for."""


@dataclass(frozen=True)
class Call:
    """One RPC the gateway made: ``args``/``kwargs`` as the service would receive them."""

    service: str
    method: str
    args: tuple
    kwargs: dict
    actor: Actor

    @property
    def context(self):
        """The Nameko context data the call carried (user id, roles, region, request id)."""
        return self.actor.to_context_data()


@dataclass
class _Answer:
    value: Any = None
    error: BaseException | None = None

    def __call__(self, *args, **kwargs):
        if self.error is not None:
            raise self.error
        return self.value(*args, **kwargs) if callable(self.value) else self.value


@dataclass
class FakeRpcPool:
    """Answers per ``(service, method)``; every call recorded in :attr:`calls`. With
    ``breakers`` (``guanxi_common.circuits.rpc_breakers``) calls pass the same circuit
    breakers as the real pool's: a call refused by an open circuit is not recorded."""

    calls: list = field(default_factory=list)
    unexpected: list = field(default_factory=list)
    breakers: Any = None

    def __post_init__(self):
        self._answers = {}
        self._down = set()
        self._lock = threading.Lock()
        self.closed = False

    # --- configuring --------------------------------------------------------------------
    def reply(self, service, method, value):
        """``value``, or ``value(*args, **kwargs)`` when it is callable (it may raise)."""
        self._answers[(service, method)] = _Answer(value=value)
        return self

    def fail(self, service, method, error):
        """Answer ``service.method`` with the typed error ``error``."""
        self._answers[(service, method)] = _Answer(error=error)
        return self

    def down(self, service):
        """Every call to ``service`` fails as when it is not running (no answer)."""
        self._down.add(service)
        return self

    def up(self, service):
        self._down.discard(service)
        return self

    # --- reading what was sent ----------------------------------------------------------
    def calls_to(self, service, method=None):
        return [c for c in self.calls
                if c.service == service and (method is None or c.method == method)]

    def last(self, service, method):
        made = self.calls_to(service, method)
        if not made:
            raise AssertionError(f"{service}.{method} was never called; calls: "
                                 f"{[f'{c.service}.{c.method}' for c in self.calls]}")
        return made[-1]

    # --- the RpcPool interface ----------------------------------------------------------
    @contextmanager
    def client(self, actor, timeout=None, deadline=None):
        if actor is None:
            raise TypeError("pool.client() needs the caller's Actor: services authorise by it")
        if self.closed:
            raise ServiceUnavailable("the RPC pool is closed", {"service": "gateway"})
        lease = _Lease(self, actor)
        try:
            yield lease
        finally:
            lease._pool = None

    def gather(self, calls, timeout=None, *, actor):
        """Like ``RpcPool.gather``, one section after another: ``{name: result or
        Unavailable(error)}``."""
        results = {}
        for name, section in calls.items():
            try:
                with self.client(actor) as rpc:
                    results[name] = section(rpc)
            except Exception as exc:  # noqa: BLE001 -- a section's error is its answer
                results[name] = Unavailable(exc)
        return results

    def stats(self):
        return {"calls": len(self.calls)}

    def close(self):
        self.closed = True

    # --- one call -----------------------------------------------------------------------
    def _call(self, service, method, args, kwargs, actor):
        return guarded_call(self.breakers, service, method,
                            lambda: self._answer(service, method, args, kwargs, actor))

    def _answer(self, service, method, args, kwargs, actor):
        payload = _wire({"args": list(args), "kwargs": kwargs})
        call = Call(service, method, tuple(payload["args"]), payload["kwargs"], actor)
        with self._lock:
            self.calls.append(call)
        if service in self._down:
            raise NoAnswer(f"{service}.{method} is not running (no queue bound)",
                           {"service": service, "method": method})
        answer = self._answers.get((service, method))
        if answer is None:
            self.unexpected.append(call)
            raise UnexpectedCall(f"no answer configured for {service}.{method}")
        try:
            result = answer(*call.args, **call.kwargs)
        except Exception as exc:  # noqa: BLE001 -- crosses as the service's error would
            raise deserialize_error(serialize_error(exc)) from None
        return _wire({"result": result})["result"]


def _wire(data):
    content_type, encoding, body = dumps(data, serializer=_SERIALIZER)
    return loads(body, content_type, encoding, accept=_ACCEPT)


class _Lease:
    def __init__(self, pool, actor):
        self._pool, self._actor = pool, actor

    def __getattr__(self, service):
        if service.startswith("_"):
            raise AttributeError(service)
        return _Service(self, service)

    __getitem__ = __getattr__


class _Service:
    def __init__(self, lease, service):
        self._lease, self._service = lease, service

    def __getattr__(self, method):
        if method.startswith("__"):
            raise AttributeError(method)
        lease, service = self._lease, self._service

        def call(*args, **kwargs):
            if lease._pool is None:
                raise RuntimeError("this RPC client was given back to the pool; check out another")
            return lease._pool._call(service, method, args, kwargs, lease._actor)

        return call

    __getitem__ = __getattr__
