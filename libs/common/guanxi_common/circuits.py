"""Circuit breakers on RPC targets, shared by the gateway's pool and ``ServiceRpc``.

A caller keeps one :class:`guanxi_common.breaker.CircuitBreaker` per target service
(:func:`rpc_breakers`). What trips it is :class:`NoAnswer`, which the RPC clients raise
when the target did not answer: the call timed out, or nothing consumes its requests. A
typed error is an answer (the target is up); a broker outage is neither (the clients fail
fast on it already, and it says nothing about one target). An open circuit refuses calls
at once with :class:`CircuitOpen`, a ``ServiceUnavailable`` (503) naming the service.
The clients raise :class:`NotDelivered` for a broker that did not take a request or lost
its reply, which does not count against the target.

None of these classes is registered for deserialisation, so one that crosses RPC inside another
service's reply is rebuilt as a plain ``ServiceUnavailable``: service A answering "my
dependency B is down" is an answer from A and does not trip A's circuit.

Metrics (``caller`` is "gateway" or the calling service's name):
``guanxi_rpc_circuit_state{caller,service}`` 0 closed, 1 half-open, 2 open;
``guanxi_rpc_circuit_transitions_total{caller,service,state}``;
``guanxi_rpc_circuit_rejected_total{caller,service}``: calls refused by an open circuit.
"""
import time

from nameko.exceptions import IncorrectSignature, MalformedRequest, MethodNotFound, RemoteError
from prometheus_client import Counter, Gauge

from guanxi_common.breaker import STATE_LEVELS, BreakerOpen, CircuitBreakers
from guanxi_common.errors import GuanxiError, ServiceUnavailable

CIRCUIT_STATE = Gauge(
    "guanxi_rpc_circuit_state", "RPC circuit breaker per target: 0 closed, 1 half-open, 2 open",
    ["caller", "service"], multiprocess_mode="livemax")
CIRCUIT_TRANSITIONS = Counter(
    "guanxi_rpc_circuit_transitions_total", "RPC circuit breaker changes of state",
    ["caller", "service", "state"])
CIRCUIT_REJECTED = Counter(
    "guanxi_rpc_circuit_rejected_total", "RPC calls answered unavailable by an open circuit",
    ["caller", "service"])


#: What a service's reply may raise on the caller's side: the service is up.
_ANSWERS = (GuanxiError, RemoteError, MethodNotFound, IncorrectSignature, MalformedRequest)


class NoAnswer(ServiceUnavailable):
    """The target did not answer: timed out, or no consumer took the request."""


class NotDelivered(ServiceUnavailable):
    """The broker did not take the request, or the connection died before the reply."""


class CircuitOpen(ServiceUnavailable):
    """Not called: the target's circuit is open after calls that got no answer."""


def rpc_breakers(caller, failure_threshold, cooldown, *, clock=time.monotonic):
    """A :class:`CircuitBreakers` whose changes of state show in the metrics."""

    def on_change(service, old, new):
        CIRCUIT_STATE.labels(caller, service).set(STATE_LEVELS[new])
        CIRCUIT_TRANSITIONS.labels(caller, service, new.value).inc()

    breakers = CircuitBreakers(failure_threshold, cooldown, clock=clock, on_change=on_change)
    breakers.caller = caller
    return breakers


def permit(breakers, service, method, probe=None):
    """The breaker's permit for one call of ``service.method``, or :class:`CircuitOpen`.

    With ``probe(service, trial_permit)`` (which must not block: it starts a background
    call and reports its outcome with :func:`report`), a due trial is that probe and the
    call itself is refused until the probe got an answer; without, the call is the trial.
    """
    breaker = breakers[service]
    if probe is not None:
        trial = breaker.trial_permit()
        if trial is not None:
            probe(service, trial)
    try:
        return breaker.permit(trial=probe is None)
    except BreakerOpen as refused:
        CIRCUIT_REJECTED.labels(getattr(breakers, "caller", ""), service).inc()
        raise CircuitOpen(
            f"{service} unavailable: its last calls got no answer, so {service}.{method} was "
            f"not called (next try in {max(0.0, refused.retry_after):.1f} s)",
            {"service": service, "method": method, "circuit": "open",
             "retry_after": round(max(0.0, refused.retry_after), 3)}) from None


def report(breakers, service, permit_, error=None):
    """Tell the breaker how the permitted call ended (``error``: what it raised, if any)."""
    breaker = breakers[service]
    if error is None or answered(error):
        breaker.succeeded(permit_)
    elif isinstance(error, NoAnswer):
        breaker.failed(permit_)
    # anything else (the broker gone, a local bug) says nothing about the target


def answered(error):
    """Whether ``error`` is the target's own answer (a typed error read from its reply)."""
    if isinstance(error, (NoAnswer, NotDelivered, CircuitOpen)):
        return False
    return isinstance(error, _ANSWERS)


def guarded_call(breakers, service, method, call, probe=None):
    """``call()`` behind ``service``'s breaker (no breaker when ``breakers`` is None);
    ``probe`` as for :func:`permit`."""
    if breakers is None:
        return call()
    permit_ = permit(breakers, service, method, probe)
    try:
        result = call()
    except BaseException as exc:
        report(breakers, service, permit_, exc)
        raise
    report(breakers, service, permit_)
    return result


class CallGuard:
    """One call's permit, for a client that learns the outcome in pieces (``ServiceRpc``:
    the request is published in one place, its reply read in another). Made before the
    request (raises :class:`CircuitOpen`); then :meth:`answered` or :meth:`no_answer`,
    at most one counts. Without ``breakers`` it does nothing."""

    def __init__(self, breakers, service, method):
        self._breakers, self._service = breakers, service
        self._permit = None if breakers is None else permit(breakers, service, method)

    def answered(self):
        self._report(answered=True)

    def no_answer(self):
        self._report(answered=False)

    def _report(self, answered):
        permit_, self._permit = self._permit, None
        if permit_ is None:
            return
        breaker = self._breakers[self._service]
        if answered:
            breaker.succeeded(permit_)
        else:
            breaker.failed(permit_)
