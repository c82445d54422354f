"""A circuit breaker: stop waiting for a target that keeps failing, try it again later.

- **closed**: calls pass; ``failure_threshold`` failures in a row (no success between)
  open the breaker.
- **open**: calls are refused at once with :class:`BreakerOpen` for ``cooldown`` seconds.
- **half-open**: after the cool-down one call passes as the trial; while it is out every
  other call is still refused. Its success closes the breaker, its failure opens it for
  another cool-down. A trial that never reports (its caller died) is replaced by a new one
  after a further ``cooldown``. The trial is either the next call (``permit()``) or a probe
  the caller makes in the background (:meth:`CircuitBreaker.trial_permit`, with callers
  asking ``permit(trial=False)``), so that no user request waits for a target still down.

A call is split in two on purpose: :meth:`CircuitBreaker.permit` before the request and
:meth:`CircuitBreaker.succeeded` / :meth:`CircuitBreaker.failed` when its outcome is
known, because an RPC's request and reply may be handled at different places (a Nameko
``call_async`` reads its reply later). What counts as a failure is the caller's decision:
only "the target did not answer" (a timeout, no consumer) should, never a typed error the
target answered with. Reports of calls permitted before the last change of state are
ignored, so a slow call from before the outage cannot undo what a trial found out.

The breaker is pure: no I/O, no thread of its own, the clock injected (monotonic seconds).
Its critical sections never block nor yield, so one object is safe from OS threads (the
gateway's gunicorn threads) and from eventlet greenthreads (a Nameko service) alike.

Hand-written rather than ``pybreaker``: that one wraps a synchronous call (no separate
outcome report for a reply read later) and reads the wall clock, which tests cannot step.
"""
import threading
import time
from dataclasses import dataclass
from enum import Enum


class BreakerState(str, Enum):
    CLOSED = "closed"
    HALF_OPEN = "half_open"
    OPEN = "open"


#: A gauge value per state, for metrics (higher is worse).
STATE_LEVELS = {BreakerState.CLOSED: 0, BreakerState.HALF_OPEN: 1, BreakerState.OPEN: 2}


class BreakerOpen(Exception):
    """The breaker refused the call; ``retry_after`` is in seconds."""

    def __init__(self, name, retry_after):
        super().__init__(f"{name}: circuit open, not called (next try in {retry_after:.1f} s)")
        self.name = name
        self.retry_after = retry_after


@dataclass(frozen=True)
class Permit:
    """Handed out by :meth:`CircuitBreaker.permit`; give it back with the call's outcome."""

    generation: int
    trial: bool = False


class CircuitBreaker:
    """One target's breaker. ``failure_threshold`` 0 disables it (every call permitted).

    ``on_change(name, old_state, new_state)`` is called under the breaker's lock on every
    transition: keep it quick (setting a gauge), and do not call the breaker from it.
    """

    def __init__(self, name, failure_threshold=5, cooldown=10.0, *, clock=time.monotonic,
                 on_change=None):
        if failure_threshold < 0:
            raise ValueError("failure_threshold must be 0 (off) or more")
        if cooldown <= 0:
            raise ValueError("cooldown must be positive")
        self.name = name
        self.failure_threshold = int(failure_threshold)
        self.cooldown = float(cooldown)
        self._clock = clock
        self._on_change = on_change
        self._lock = threading.Lock()
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._generation = 0
        self._opened_at = 0.0
        self._trial_started_at = None

    @property
    def enabled(self):
        return self.failure_threshold > 0

    @property
    def state(self):
        with self._lock:
            return self._current_state(self._clock())

    def permit(self, trial=True):
        """A :class:`Permit` for one call, or :class:`BreakerOpen` when it must not be made.
        ``trial=False``: never the trial (the caller probes with :meth:`trial_permit`)."""
        if not self.enabled:
            return Permit(0)
        with self._lock:
            now = self._clock()
            state = self._current_state(now)
            if state is BreakerState.CLOSED:
                return Permit(self._generation)
            if state is BreakerState.OPEN:
                raise BreakerOpen(self.name, self._opened_at + self.cooldown - now)
            if not trial or not self._trial_due(now):
                raise BreakerOpen(self.name, self._trial_wait(now))
            return self._start_trial(now)

    def trial_permit(self):
        """The trial's :class:`Permit` when one is due (the cool-down is over and no trial
        is out), else None: for a caller that probes the target in the background."""
        if not self.enabled:
            return None
        with self._lock:
            now = self._clock()
            if self._current_state(now) is not BreakerState.HALF_OPEN or \
                    not self._trial_due(now):
                return None
            return self._start_trial(now)

    def succeeded(self, permit):
        """The target answered (a result or a typed error of its own)."""
        if not self.enabled:
            return
        with self._lock:
            if permit.generation != self._generation:
                return
            self._failures = 0
            if self._state is not BreakerState.CLOSED:
                self._trial_started_at = None
                self._move(BreakerState.CLOSED)

    def failed(self, permit):
        """The target did not answer: timed out, or nothing consumes its requests."""
        if not self.enabled:
            return
        with self._lock:
            if permit.generation != self._generation:
                return
            if self._state is BreakerState.CLOSED:
                self._failures += 1
                if self._failures < self.failure_threshold:
                    return
            self._opened_at = self._clock()
            self._trial_started_at = None
            self._move(BreakerState.OPEN)

    def snapshot(self):
        """``{"state", "failures", "retry_after"}`` for probes and stats."""
        with self._lock:
            now = self._clock()
            state = self._current_state(now)
            retry_after = 0.0
            if state is BreakerState.OPEN:
                retry_after = self._opened_at + self.cooldown - now
            return {"state": state.value, "failures": self._failures,
                    "retry_after": round(max(0.0, retry_after), 3)}

    # --- under the lock -------------------------------------------------------------------
    def _current_state(self, now):
        """An open breaker whose cool-down is over is half-open (its trial not yet given)."""
        if self._state is BreakerState.OPEN and now - self._opened_at >= self.cooldown:
            return BreakerState.HALF_OPEN
        return self._state

    def _trial_due(self, now):
        return self._trial_started_at is None or now - self._trial_started_at >= self.cooldown

    def _trial_wait(self, now):
        if self._trial_started_at is None:
            return 0.0
        return max(0.0, self._trial_started_at + self.cooldown - now)

    def _start_trial(self, now):
        if self._state is not BreakerState.HALF_OPEN:
            self._move(BreakerState.HALF_OPEN)
        self._trial_started_at = now
        return Permit(self._generation, trial=True)

    def _move(self, state):
        old, self._state = self._state, state
        self._generation += 1
        self._failures = 0
        if self._on_change is not None:
            self._on_change(self.name, old, state)


class CircuitBreakers:
    """One :class:`CircuitBreaker` per target name, made on first use with the same
    settings: ``breakers["customer"].permit()``."""

    def __init__(self, failure_threshold=5, cooldown=10.0, *, clock=time.monotonic,
                 on_change=None):
        self.failure_threshold, self.cooldown = failure_threshold, cooldown
        self._clock, self._on_change = clock, on_change
        self._lock = threading.Lock()
        self._breakers = {}
        CircuitBreaker("settings check", failure_threshold, cooldown)  # refuse bad values now

    def __getitem__(self, name):
        breaker = self._breakers.get(name)
        if breaker is None:
            with self._lock:
                breaker = self._breakers.get(name)
                if breaker is None:
                    breaker = CircuitBreaker(name, self.failure_threshold, self.cooldown,
                                             clock=self._clock, on_change=self._on_change)
                    self._breakers[name] = breaker
        return breaker

    def snapshot(self):
        """``{name: breaker.snapshot()}`` of every target called so far."""
        with self._lock:
            breakers = dict(self._breakers)
        return {name: breaker.snapshot() for name, breaker in sorted(breakers.items())}
