"""Engines for every service's database, and the locks that serialise its writers.

``make_engine(url)`` sets up SQLite (the single-node default) or PostgreSQL the way the
unit of work (:mod:`guanxi_common.unit_of_work`) and the outbox relay expect.

SQLite allows one writer at a time, and its busy wait is a C sleep that would freeze
eventlet's hub. So each SQLite database file gets an in-process (green) write lock, held
by a unit of work for the duration of ``with uow:`` (:func:`write_lock`), and a second one
that lets one outbox relay at a time publish (:func:`relay_lock`); connections begin
``BEGIN IMMEDIATE`` when asked, so a writer in another process (a seed, a migration, an
export) makes them wait rather than fail. PostgreSQL needs no in-process lock; replicas
serialise on advisory locks (:func:`advisory_key`, :func:`serialize_on`).
"""
import threading
import weakref
import zlib
from pathlib import Path

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

from guanxi_common.config import normalize_db_url

SQLITE_BUSY_TIMEOUT_MS = 10_000
SQLITE_IMMEDIATE_OPTION = "guanxi_sqlite_immediate"

_psycopg_patched = False
_patch_lock = threading.Lock()
# One lock per SQLite database file, shared by every engine of the process on that file.
_sqlite_file_locks = {}
_engine_locks = weakref.WeakKeyDictionary()


def normalize_url(url):
    return normalize_db_url(str(url))


def _patch_psycopg_if_green():
    """Make psycopg2 yield to eventlet's hub instead of blocking it (only once, only
    when the process is monkey-patched: scripts without eventlet keep plain psycopg2)."""
    global _psycopg_patched
    if _psycopg_patched:
        return
    try:
        from eventlet import patcher
    except ImportError:  # pragma: no cover - eventlet is a hard dependency of nameko
        return
    if not patcher.is_monkey_patched("socket"):
        return
    with _patch_lock:
        if not _psycopg_patched:
            from psycogreen.eventlet import patch_psycopg
            patch_psycopg()
            _psycopg_patched = True


def make_engine(url, **kwargs):
    """An engine set up for the service's database; ``kwargs`` override the defaults."""
    url = make_url(normalize_url(url))
    backend = url.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(url, **kwargs)
    if backend == "postgresql":
        _patch_psycopg_if_green()
        # pre-ping: a pooled connection dropped by a database restart or a proxy is
        # replaced instead of failing the next request.
        kwargs.setdefault("pool_pre_ping", True)
        if "poolclass" not in kwargs:
            kwargs.setdefault("pool_size", 5)
            kwargs.setdefault("max_overflow", 10)
            kwargs.setdefault("pool_recycle", 1800)
            kwargs.setdefault("pool_timeout", 30)
    return create_engine(url, **kwargs)


def _sqlite_engine(url, busy_timeout_ms=SQLITE_BUSY_TIMEOUT_MS, **kwargs):
    database = url.database or ""
    memory = database in ("", ":memory:") or url.query.get("mode") == "memory"
    connect_args = kwargs.pop("connect_args", {})
    connect_args.setdefault("check_same_thread", False)  # green threads share the pool
    connect_args.setdefault("timeout", busy_timeout_ms / 1000)
    if memory:
        # one shared connection, otherwise every green thread would see its own empty DB
        kwargs.setdefault("poolclass", StaticPool)
    else:
        Path(database).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
        if "poolclass" not in kwargs:
            kwargs.setdefault("pool_size", 5)
            kwargs.setdefault("max_overflow", 15)
            kwargs.setdefault("pool_timeout", 30)
    engine = create_engine(url, connect_args=connect_args, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        # pysqlite's own implicit BEGIN (only before DML) breaks SAVEPOINT and gives
        # reads no snapshot; let SQLAlchemy emit BEGIN itself (see "begin" below).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        try:
            if not memory:
                cur.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
                cur.execute("PRAGMA synchronous=NORMAL")  # safe with WAL, much faster
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        finally:
            cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # A unit of work asks for IMMEDIATE: it takes the write lock up front (waiting up
        # to busy_timeout for another process such as a seed or a migration), whereas a
        # deferred reader that later writes fails at once with "database is locked" if
        # another process committed since its snapshot.
        immediate = conn.get_execution_options().get(SQLITE_IMMEDIATE_OPTION)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    if memory:
        locks = (threading.RLock(), threading.Lock())
    else:
        key = str(Path(database).expanduser().resolve())
        with _patch_lock:
            locks = _sqlite_file_locks.setdefault(key, (threading.RLock(), threading.Lock()))
    _engine_locks[engine] = locks
    return engine


def write_lock(engine):
    """The in-process lock serialising transactions on a SQLite database, else None."""
    locks = _engine_locks.get(engine) if engine is not None else None
    return locks[0] if locks else None


def relay_lock(engine):
    """On SQLite, the in-process lock that lets one outbox relay at a time publish a
    database's outbox (PostgreSQL uses an advisory lock instead), else None."""
    locks = _engine_locks.get(engine) if engine is not None else None
    return locks[1] if locks else None


def serialize_on(session, name):
    """Serialise transactions that decide on the same ``name`` (e.g. a per-user quota)
    until the current transaction ends. PostgreSQL: a transaction-scoped advisory lock, so
    replicas wait for each other. SQLite: nothing to do, a unit of work already holds the
    database's write lock (in-process lock + BEGIN IMMEDIATE)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"),
                        {"k": advisory_key(f"guanxi:{name}")})


def check_engine(engine):
    """SELECT 1 — raises when the database does not answer (used by /readyz)."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    return True


def advisory_key(name):
    """The key of the PostgreSQL advisory lock for ``name``.

    crc32 is stable across processes and Python versions (``hash()`` is salted) and fits
    the signed 64-bit key ``pg_advisory_*lock`` takes; a collision only makes two names
    share a lock.
    """
    return zlib.crc32(name.encode())
