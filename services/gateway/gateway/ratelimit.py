"""Token-bucket rate limiting per principal, answered with 429 and ``Retry-After``.

Each key (``user:<id>``, ``token:<id>``, or the client address for anonymous calls such
as ``POST /auth/token``) has a bucket of ``burst`` tokens refilled at ``rate_per_second``.

The buckets live in the memory of one process: under gunicorn every worker process has
its own limiter, so the effective limit of a host is ``workers x GATEWAY_RATE_LIMIT``
(threads of one worker share it). That is deliberate: no shared store on the hot path,
and a client spread over workers still gets a bounded rate.

Configuration: ``GATEWAY_RATE_LIMIT`` = ``<number>/<s|m|h>`` (default ``20/s``) or ``off``;
``GATEWAY_RATE_BURST`` (default: twice the per-second rate, at least 1).
"""
import math
import re
import threading
import time
from collections import OrderedDict


DEFAULT_RATE = "20/s"
DEFAULT_MAX_KEYS = 10_000
_UNITS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60,
          "h": 3600, "hour": 3600}
#: Float refill arithmetic can land a hair under a whole token exactly at retry_after.
_EPSILON = 1e-9


class RateLimiter:
    """Thread-safe token buckets with memory bounded to ``max_keys`` buckets.

    The least recently used bucket is dropped first. An idle bucket refills to ``burst``
    within ``burst / rate`` seconds, so dropping it loses nothing; only a flood of more
    than ``max_keys`` distinct keys can hand an evicted, busy key a fresh burst.
    ``lock`` defaults to ``threading.Lock()`` taken at construction, which is the green
    lock in an eventlet-patched process and the OS lock otherwise.
    """

    def __init__(self, rate_per_second, burst, clock=time.monotonic,
                 max_keys=DEFAULT_MAX_KEYS, lock=None):
        if not rate_per_second > 0 or math.isinf(rate_per_second):
            raise ValueError("rate_per_second must be a positive finite number")
        if int(burst) < 1:
            raise ValueError("burst must be at least 1")
        if int(max_keys) < 1:
            raise ValueError("max_keys must be at least 1")
        self.rate = float(rate_per_second)
        self.burst = int(burst)
        self.max_keys = int(max_keys)
        self.clock = clock
        self._buckets = OrderedDict()  # key -> [tokens, last_refill]
        self._lock = lock if lock is not None else threading.Lock()

    def check(self, key):
        """Take one token for ``key``: ``(True, 0.0)``, or ``(False, seconds until the
        next token)`` for the 429's ``Retry-After``."""
        with self._lock:
            now = self.clock()
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = [float(self.burst), now]
                while len(self._buckets) > self.max_keys:
                    self._buckets.popitem(last=False)
            else:
                self._buckets.move_to_end(key)
                elapsed = max(0.0, now - bucket[1])
                bucket[0] = min(float(self.burst), bucket[0] + elapsed * self.rate)
                bucket[1] = now
            if bucket[0] >= 1.0 - _EPSILON:
                bucket[0] = max(0.0, bucket[0] - 1.0)
                return True, 0.0
            return False, (1.0 - bucket[0]) / self.rate

    def __len__(self):
        with self._lock:
            return len(self._buckets)


class Unlimited:
    """Stands in for a limiter when ``GATEWAY_RATE_LIMIT=off`` (benchmarks, local tools)."""

    rate = math.inf
    burst = None

    def check(self, key):
        return True, 0.0

    def __len__(self):
        return 0


def parse_rate(text):
    """``"20/s"``, ``"600/m"``, ``"5000/h"``, ``"2.5/s"`` or a bare number (per second)
    → requests per second."""
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*(?:/\s*([a-z]+))?\s*", text or "")
    if not match or (match.group(2) and match.group(2) not in _UNITS):
        raise ValueError(f"rate limit {text!r} is not like '20/s', '600/m' or '5000/h'")
    rate = float(match.group(1)) / _UNITS[match.group(2) or "s"]
    if rate <= 0:
        raise ValueError(f"rate limit {text!r} must be positive (or 'off')")
    return rate


def make_limiter(rate=DEFAULT_RATE, burst=None, clock=time.monotonic):
    """The limiter for a ``GATEWAY_RATE_LIMIT`` value (``off`` for none) and an optional
    ``GATEWAY_RATE_BURST`` (default: twice the per-second rate, at least 1)."""
    text = str(rate).strip().lower()
    if text in ("off", "none", "unlimited"):
        return Unlimited()
    per_second = parse_rate(text)
    return RateLimiter(per_second, burst or max(1, math.ceil(2 * per_second)), clock=clock)


def retry_after_header(seconds):
    """``Retry-After`` takes whole seconds; round up so a client that obeys it succeeds."""
    return str(max(1, math.ceil(seconds)))
