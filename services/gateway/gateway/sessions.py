"""Whether a verified access token still stands for a live login of an active user.

An access token names its user (``sub``) and its login (``sid``: the family of refresh
tokens that login created). It is refused when the user is unknown or disabled, when its
roles or region are no longer the user's (``stale``: a refresh gives a token with the
current ones), or when the login was ended: by logout, by a password change, by disabling
the user, or by the replay of a used refresh token. A login is alive while one refresh
token of its family is unrevoked and unexpired.

What was read from the database is remembered per login for ``check_seconds`` (default 5),
so a frontend's burst of calls costs one query. The bound: **a change takes effect at once
in the worker process that made it and within ``check_seconds`` in every other worker and
replica** (all read the same database); the signature and expiry are still checked on every
request.
"""
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from sqlalchemy import select

from guanxi_common.events import utcnow

from gateway.models import RefreshToken, User
from gateway.security import TokenInvalid

UNKNOWN_USER, USER_DISABLED, REVOKED = "unknown_user", "user_disabled", "revoked"
NO_SESSION, STALE = "no_session", "stale"
DEFAULT_CHECK_SECONDS = 5.0
MAX_ENTRIES = 4096


@dataclass(frozen=True)
class LoginState:
    user_exists: bool
    active: bool
    roles: tuple
    region: str | None
    alive: bool


def read_state(session, user_id, session_id):
    """The user's standing and whether the login ``session_id`` is alive, from the database."""
    user = session.get(User, user_id)
    if user is None:
        return LoginState(False, False, (), None, False)
    alive = session.scalar(
        select(RefreshToken.jti).where(RefreshToken.family == session_id,
                                       RefreshToken.user_id == user_id,
                                       RefreshToken.revoked_at.is_(None),
                                       RefreshToken.expires_at > utcnow()).limit(1)) is not None
    return LoginState(True, bool(user.active), tuple(sorted(set(user.roles or ()))),
                      user.region, alive)


class SessionGuard:
    """``check(claims)`` raises ``TokenInvalid`` for a token whose login no longer stands.

    ``open_session`` is a context manager factory yielding a SQLAlchemy session (the app's
    ``db_session``); ``clock`` is monotonic seconds (tests move it).
    """

    def __init__(self, open_session, check_seconds=DEFAULT_CHECK_SECONDS,
                 clock=time.monotonic, max_entries=MAX_ENTRIES):
        if check_seconds < 0:
            raise ValueError("check_seconds must not be negative")
        self._open_session = open_session
        self.check_seconds = float(check_seconds)
        self.clock = clock
        self.max_entries = int(max_entries)
        self._states = OrderedDict()  # (user_id, session_id) -> (read at, LoginState)
        self._lock = threading.Lock()

    def check(self, claims):
        user_id, session_id = claims["sub"], claims.get("sid")
        if not session_id:
            raise TokenInvalid(NO_SESSION)  # not issued by a login
        state = self._state(user_id, session_id)
        if not state.user_exists:
            raise TokenInvalid(UNKNOWN_USER)
        if not state.active:
            raise TokenInvalid(USER_DISABLED)
        if not state.alive:
            raise TokenInvalid(REVOKED)
        if tuple(claims["roles"]) != state.roles or claims.get("region") != state.region:
            raise TokenInvalid(STALE)

    def forget(self, user_id):
        """Drop what is remembered about ``user_id``'s logins: this process sees a change
        it just made at once."""
        with self._lock:
            for key in [key for key in self._states if key[0] == user_id]:
                del self._states[key]

    def _state(self, user_id, session_id):
        key = (user_id, session_id)
        now = self.clock()
        with self._lock:
            cached = self._states.get(key)
            if cached is not None and now - cached[0] < self.check_seconds:
                self._states.move_to_end(key)
                return cached[1]
        with self._open_session() as session:
            state = read_state(session, user_id, session_id)
        with self._lock:
            self._states[key] = (now, state)
            self._states.move_to_end(key)
            while len(self._states) > self.max_entries:
                self._states.popitem(last=False)
        return state
