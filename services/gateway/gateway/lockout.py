"""Brute-force protection of the password check: failed logins are counted per account and
per client address, and a key over its threshold is locked with an exponential back-off.

- ``account:<username>``: after ``account_failures`` failures in a row the account is
  locked for ``base_seconds``, doubling with every further failure up to ``max_seconds``.
  A success resets it. Unknown usernames are counted the same way, so a lock says nothing
  about which usernames exist.
- ``address:<client address>``: the same back-off after ``address_failures`` failures
  (password spraying over many accounts from one address). A success does not reset it,
  or one valid account would whitewash the address.

While a key is locked every login on it is answered 429 with ``Retry-After``, a correct
password included, and without checking the password (so the attempt is not counted and
cannot extend the lock). Locks end by themselves; failures older than ``window_seconds``
are forgotten. An attacker can therefore hold an account at most ``max_seconds`` past
their last attempt, and gets a handful of guesses per ``max_seconds`` at best.

The counters live in the gateway's database, so they hold across gunicorn workers and
replicas. Logins already past the check when a lock starts still finish (at most the
number of requests in flight: workers x threads).
"""
import math
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, or_
from sqlalchemy.exc import IntegrityError

from guanxi_common.events import utcnow

from gateway.models import LoginThrottle
from gateway.problems import RateLimited

_MAX_KEY_PART = 100
#: 2 ** 20 x base is far beyond any cap: keeps the arithmetic finite for huge counts.
_MAX_DOUBLINGS = 20


class LoginLocked(RateLimited):
    """Too many failed logins for this account or address; retry after ``retry_after``."""

    code = "login_locked"


@dataclass(frozen=True)
class LockoutPolicy:
    account_failures: int = 5
    address_failures: int = 20
    base_seconds: float = 2.0
    max_seconds: float = 300.0
    window_seconds: float = 900.0

    def __post_init__(self):
        if self.account_failures < 1 or self.address_failures < 1:
            raise ValueError("lock-out thresholds must be at least 1")
        if not 0 < self.base_seconds <= self.max_seconds:
            raise ValueError("the lock-out base must be positive and at most the maximum")
        if self.window_seconds < self.max_seconds:
            raise ValueError("the failure window must be at least the longest lock")

    def lock_seconds(self, failures, threshold):
        """How long ``failures`` in a row lock a key whose threshold is ``threshold``."""
        if failures < threshold:
            return 0.0
        doublings = min(failures - threshold, _MAX_DOUBLINGS)
        return min(self.max_seconds, self.base_seconds * 2 ** doublings)


def account_key(username):
    return "account:" + str(username)[:_MAX_KEY_PART]


def address_key(address):
    return "address:" + str(address or "unknown")[:_MAX_KEY_PART]


class Lockout:
    """The policy and the clock (``utcnow``; tests move it) over a SQLAlchemy session;
    the caller owns the transaction."""

    def __init__(self, policy=None, clock=utcnow):
        self.policy = policy or LockoutPolicy()
        self.clock = clock

    def _thresholds(self, username, address):
        return {account_key(username): self.policy.account_failures,
                address_key(address): self.policy.address_failures}

    def check(self, session, username, address):
        """Raise ``LoginLocked`` while the account or the address is locked."""
        now = self.clock()
        waits = []
        for key in self._thresholds(username, address):
            row = session.get(LoginThrottle, key)
            if row is not None and row.locked_until is not None and row.locked_until > now:
                waits.append((row.locked_until - now).total_seconds())
        if waits:
            raise LoginLocked("too many failed logins; retry later",
                              {"retry_after": max(1, math.ceil(max(waits)))})

    def failed(self, session, username, address):
        """Count one failed password check on the account and the address."""
        now = self.clock()
        window = timedelta(seconds=self.policy.window_seconds)
        for key, threshold in self._thresholds(username, address).items():
            row = _locked_row(session, key, now)
            if now - row.last_failure_at > window:
                row.failures = 0
            row.failures += 1
            row.last_failure_at = now
            seconds = self.policy.lock_seconds(row.failures, threshold)
            row.locked_until = now + timedelta(seconds=seconds) if seconds else None
        # Forgotten counters of other keys (random usernames, past attackers) go away here.
        session.execute(delete(LoginThrottle).where(
            LoginThrottle.last_failure_at < now - window,
            or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until < now)))

    def succeeded(self, session, username):
        """A correct password: the account's count starts again (the address's does not)."""
        session.execute(delete(LoginThrottle).where(
            LoginThrottle.key == account_key(username)))


def _locked_row(session, key, now):
    """The counter row of ``key``, locked for update, created when missing (a concurrent
    first failure on another worker may create it first)."""
    row = session.get(LoginThrottle, key, with_for_update=True)
    if row is not None:
        return row
    try:
        with session.begin_nested():
            session.add(LoginThrottle(key=key, failures=0, last_failure_at=now))
    except IntegrityError:
        pass
    return session.get(LoginThrottle, key, with_for_update=True, populate_existing=True)
