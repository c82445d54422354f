"""The unit of work: one business transaction with its events, and its Nameko dependency.

Usage inside a service::

    class CustomerService:
        name = "customer"
        uow = UnitOfWorkProvider("customer")

        @rpc
        def rename(self, customer_id, name):
            with self.uow:
                customer = self.uow.session.get(Customer, customer_id)
                customer.name = name
                self.uow.emit("customer.updated", "customer", customer.id, {"name": name})

``with uow:`` commits on a clean exit and rolls back on an exception; events emitted
inside are stored in ``outbox_events`` in the same transaction and published by the
:class:`~guanxi_common.outbox.OutboxRelay` right after the commit.

On SQLite a unit of work holds its database's in-process write lock for the duration of
``with uow:`` (see :mod:`guanxi_common.engine`) — keep slow calls such as RPC to other
services outside the block. Tests of the application layer use
:class:`guanxi_common.testing.fakes.FakeUnitOfWork`, which has the same interface.
"""
import logging
import weakref
from contextlib import contextmanager

from nameko.extensions import DependencyProvider
from sqlalchemy import insert, text
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from guanxi_common import metrics
from guanxi_common.context import Actor
from guanxi_common.engine import SQLITE_IMMEDIATE_OPTION, check_engine, make_engine, write_lock
from guanxi_common.events import dumps, make_event, utcnow
from guanxi_common.messaging_models import inbox_events, outbox_events
from guanxi_common.outbox import OutboxRelay

log = logging.getLogger(__name__)

def make_session_factory(engine, session_class=Session):
    """Sessions on ``engine``. ``session_class`` is the service's own ``Session`` subclass
    when it listens to session events (e.g. ``before_flush``): listening on the subclass
    keeps the hook to the service's sessions instead of every session in the process."""
    # expire_on_commit=False: objects stay readable after ``with uow:`` (e.g. for dumping
    # the result of an RPC) without a new query.
    return sessionmaker(bind=engine, class_=session_class, expire_on_commit=False)


class UnitOfWork:
    """One business transaction: ``with uow:`` commits on success, rolls back on error.

    May be entered again after it exits (a new transaction each time). Entering it while
    it is already active opens a SAVEPOINT, released or rolled back on the inner exit.
    ``on_commit(events)`` is called after a commit that emitted events.
    """

    def __init__(self, session_factory, service_name, actor=None, on_commit=None):
        self.session_factory = session_factory
        self.service_name = service_name
        self.actor = actor if actor is not None else Actor.system()
        self.on_commit = on_commit
        self._session = None
        self._depth = 0
        self._savepoints = []
        self._emitted = []
        self._lock_held = None
        bind = getattr(session_factory, "kw", {}).get("bind")
        self._lock = write_lock(bind)

    @property
    def session(self):
        if self._session is None:
            self._session = self.session_factory()
        return self._session

    @property
    def active(self):
        return self._depth > 0

    def __enter__(self):
        if self._depth > 0:
            self._savepoints.append((self.session.begin_nested(), len(self._emitted)))
            self._depth += 1
            return self
        if self._lock is not None:
            self._lock.acquire()
            self._lock_held = self._lock
        try:
            session = self._session
            if session is not None and session.in_transaction() and not (
                    session.new or session.dirty or session.deleted):
                # A read transaction begun outside the block would give the writes a stale
                # snapshot (SQLite refuses to upgrade it); end it without expiring objects.
                session.commit()
            if self._lock is not None and not self.session.in_transaction():
                # SQLite: begin as a writer (see _sqlite_engine)
                self.session.connection(execution_options={SQLITE_IMMEDIATE_OPTION: True})
        except Exception:
            self._release()
            raise
        self._emitted = []
        self._depth = 1
        return self

    def __exit__(self, exc_type, exc, tb):
        if self._depth > 1:
            self._depth -= 1
            savepoint, emitted_before = self._savepoints.pop()
            if exc_type is None:
                savepoint.commit()
            else:
                savepoint.rollback()
                del self._emitted[emitted_before:]
            return False
        self._depth = 0
        emitted, self._emitted = self._emitted, []
        try:
            if self._session is not None:
                if exc_type is None:
                    try:
                        self._session.commit()
                    except Exception:
                        self._session.rollback()
                        raise
                else:
                    self._session.rollback()
        finally:
            self._release()
        if exc_type is None and emitted and self.on_commit is not None:
            try:
                self.on_commit(emitted)
            except Exception:  # the commit happened; a failed wake-up only delays publishing
                log.exception("on_commit callback failed")
        return False

    def _release(self):
        lock, self._lock_held = self._lock_held, None
        if lock is not None:
            lock.release()

    def _require_active(self, what):
        if self._depth == 0:
            raise RuntimeError(f"uow.{what}() must be called inside `with uow:`")

    def emit(self, event_type, aggregate_type, aggregate_id, data, number=None, version=None):
        """Store an event in the outbox in the current transaction; returns the envelope."""
        self._require_active("emit")
        envelope = make_event(event_type, self.service_name, aggregate_type, aggregate_id,
                              data, number=number, version=version, actor=self.actor)
        self.session.execute(insert(outbox_events).values(
            event_id=envelope["event_id"], event_type=event_type,
            aggregate_type=aggregate_type, aggregate_id=str(aggregate_id),
            payload=dumps(envelope), created_at=utcnow(), attempts=0))
        self._emitted.append(envelope)
        return envelope

    def first_delivery(self, event_id, consumer, event_type):
        """Record that ``consumer`` applies ``event_id`` now; False if it already did.

        Safe under concurrent duplicates: ON CONFLICT DO NOTHING waits for a concurrent
        insert of the same key and then reports the duplicate without aborting the
        transaction; other databases fall back to a SAVEPOINT around the insert.
        """
        self._require_active("first_delivery")
        values = {"event_id": str(event_id), "consumer": consumer,
                  "event_type": event_type, "processed_at": utcnow()}
        dialect = self.session.get_bind().dialect.name
        if dialect in ("postgresql", "sqlite"):
            module = pg_dialect if dialect == "postgresql" else sqlite_dialect
            stmt = module.insert(inbox_events).values(**values).on_conflict_do_nothing(
                index_elements=["event_id", "consumer"])
            inserted = self.session.execute(stmt).rowcount == 1
        else:  # pragma: no cover - only PostgreSQL and SQLite are supported deployments
            try:
                with self.session.begin_nested():
                    self.session.execute(insert(inbox_events).values(**values))
                inserted = True
            except IntegrityError:
                inserted = False
        if not inserted:
            metrics.DUPLICATES_SKIPPED.labels(self.service_name, consumer).inc()
        return inserted

    def check(self):
        """SELECT 1 on a fresh session (readiness), independent of this unit's transaction."""
        with self.session_factory() as session:
            session.execute(text("SELECT 1"))
        return True

    def close(self):
        """Roll back and close whatever is left open (worker teardown, end of a script)."""
        session, self._session = self._session, None
        self._depth = 0
        self._savepoints = []
        self._emitted = []
        try:
            if session is not None:
                session.close()  # rolls back an open transaction
        finally:
            self._release()


@contextmanager
def session_scope(url, service_name="script", actor=None, session_class=Session,
                  **engine_kwargs):
    """For scripts: ``with session_scope(url) as uow: uow.session...`` — committed at the
    end, rolled back on an exception. Events emitted are published by the service's
    relay on its next poll."""
    engine = make_engine(url, **engine_kwargs)
    uow = UnitOfWork(make_session_factory(engine, session_class), service_name,
                     actor or Actor.system())
    try:
        with uow:
            yield uow
    finally:
        uow.close()
        engine.dispose()


class UnitOfWorkProvider(DependencyProvider):
    """Nameko dependency: a :class:`UnitOfWork` per worker on ``config['DB_URIS'][name]``.

    One engine per container (owned by the relay so several providers share it); the
    worker's actor comes from the Nameko context data; after a commit that emitted events
    the outbox relay is woken so they leave at once. ``session_class``: see
    :func:`make_session_factory`.
    """

    relay = OutboxRelay()

    def __init__(self, service_name=None, session_class=Session, **engine_kwargs):
        self.service_name = service_name
        self.session_class = session_class
        self.engine_kwargs = engine_kwargs
        self.engine = None
        self.session_factory = None
        self._uows = weakref.WeakKeyDictionary()

    def setup(self):
        self.service_name = self.service_name or self.container.service_name
        try:
            url = self.container.config["DB_URIS"][self.service_name]
        except KeyError:
            raise RuntimeError(f"config DB_URIS has no entry for {self.service_name!r}")
        self.engine = self.relay.register(self.service_name, url, **self.engine_kwargs)
        self.session_factory = make_session_factory(self.engine, self.session_class)

    def get_dependency(self, worker_ctx):
        uow = UnitOfWork(self.session_factory, self.service_name,
                         Actor.from_context_data(worker_ctx.data), on_commit=self.relay.wake)
        self._uows[worker_ctx] = uow
        return uow

    def worker_teardown(self, worker_ctx):
        uow = self._uows.pop(worker_ctx, None)
        if uow is not None:
            uow.close()

    def check(self):
        return check_engine(self.engine)
