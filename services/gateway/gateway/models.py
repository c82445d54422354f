"""SQLAlchemy models of the gateway's own database: users, API tokens, refresh tokens,
failed-login counters.

Only hashes of secrets are stored. Refresh tokens are rows (not just signed JWTs) so that
a used one can be revoked on rotation and a replayed one detected. A login is the family of
its refresh tokens: access tokens name it (``sid``), and it is alive while one member is
unrevoked, which ``gateway.sessions`` checks at most every few seconds per login.
"""
from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from guanxi_common.columns import UTCDateTime


class Base(DeclarativeBase):
    pass


class User(Base):
    """A person or a service account. ``roles`` is a list from ``gateway.roles.ROLES``;
    ``region`` (a province) scopes the regional roles."""

    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    display_name: Mapped[str | None] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    roles: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    region: Mapped[str | None] = mapped_column(String(40))
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class ApiToken(Base):
    """A long-lived token of a service account. ``id`` is the token id embedded in the
    plaintext (``gx_<id>_<secret>``), so a presented token is found by primary key and
    then compared with ``token_hash`` in constant time. Its own ``roles``/``region`` (a
    subset of its user's at creation) are what the token may do."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    roles: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    region: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RefreshToken(Base):
    """One issued refresh token (by its JWT ``jti``). ``family`` is the jti of the first
    token of a login: rotation keeps the family, and a replay of a revoked member revokes
    the whole family (someone else holds a copy)."""

    __tablename__ = "refresh_tokens"

    jti: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), nullable=False)
    family: Mapped[str] = mapped_column(String(36), nullable=False, index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_refresh_tokens_user_expiry", "user_id", "expires_at"),)


class LoginThrottle(Base):
    """Failed logins counted per key: ``account:<username>`` (any username, known or not,
    so a lock says nothing about which exist) and ``address:<client address>``. Kept in the
    database so every worker and replica sees the same count (``gateway.lockout``)."""

    __tablename__ = "login_throttles"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_failure_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, index=True)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
