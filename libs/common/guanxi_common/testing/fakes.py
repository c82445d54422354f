"""A unit of work for application-layer tests, without migrations and without a broker.

``FakeUnitOfWork(metadata, service_name="test", actor=None, session_class=Session)``
behaves like :class:`guanxi_common.unit_of_work.UnitOfWork` — it *is* one, on an in-memory
SQLite database — except for where events and deliveries go:

``with uow:``
    Commits on a clean exit, rolls back on an exception; entering it again while active
    opens a SAVEPOINT (released or rolled back on the inner exit), as the real one does.
``metadata``
    One ``MetaData`` or several (e.g. ``(Base.metadata, messaging_metadata)`` for a
    service whose commands read or clear the outbox and inbox tables, as the migrations
    make them).
``uow.session``
    A SQLAlchemy session on a private in-memory SQLite database holding
    ``create_all()`` of each metadata (no alembic), foreign keys on as in production. Commits are
    real: a test may commit, roll back and read back. ``session_class`` is the service's
    own ``Session`` subclass where it has one (its session-event hooks then run here too).
``uow.actor``
    The :class:`~guanxi_common.context.Actor` given, else the system actor.
``uow.emit(event_type, aggregate_type, aggregate_id, data, number=None, version=None)``
    Builds and returns the envelope as the real one does, but keeps it in memory instead of
    the outbox. ``uow.events`` lists the envelopes of committed transactions, in order;
    events of a rolled-back transaction or savepoint are dropped. ``uow.event_types()``
    is the list of their types.
``uow.first_delivery(event_id, consumer, event_type)``
    True the first time ``(event_id, consumer)`` is seen in a committed transaction, False
    afterwards. The inbox is the in-memory set ``uow.inbox``; a rolled-back delivery is
    forgotten, as the real inbox row would be.
``uow.commits``
    How many outermost ``with uow:`` blocks have committed.

The schema is built once per ``metadata`` (or tuple of them) and process; each fake gets a copy through
SQLite's backup API (well under a millisecond for a service's schema, against tens of
milliseconds for ``create_all``), so fakes never share data.

With pytest (the ``guanxi_common.testing`` plugin)::

    def test_rename(fake_uow_factory):
        uow = fake_uow_factory(Base.metadata, "customer")
        rename_customer(uow, customer_id, "李小龙")
        assert uow.event_types() == ["customer.updated"]
"""
import sqlite3
import threading

import pytest
from sqlalchemy import MetaData
from sqlalchemy.orm import Session

from guanxi_common.engine import make_engine
from guanxi_common.events import make_event
from guanxi_common.unit_of_work import UnitOfWork, make_session_factory

_templates = {}  # ids of the metadata -> (the metadata, sqlite3 connection holding the schema)
_templates_lock = threading.Lock()


def _as_tuple(metadata):
    return (metadata,) if isinstance(metadata, MetaData) else tuple(metadata)


def _schema_template(metadata):
    metadata = _as_tuple(metadata)
    key = tuple(map(id, metadata))
    with _templates_lock:
        entry = _templates.get(key)
        if entry is None or any(kept is not given for kept, given in zip(entry[0], metadata)):
            engine = make_engine("sqlite://")
            for each in metadata:
                each.create_all(engine)
            template = sqlite3.connect(":memory:", check_same_thread=False)
            with engine.connect() as conn:
                conn.connection.dbapi_connection.backup(template)
            engine.dispose()
            entry = _templates[key] = (metadata, template)
        return entry[1]


def sqlite_engine_for(metadata):
    """A fresh in-memory SQLite engine (as ``make_engine`` sets it up) holding the tables of
    ``metadata`` (one or several); the schema is built once per process and copied."""
    template = _schema_template(metadata)
    engine = make_engine("sqlite://")
    with engine.connect() as conn:
        with _templates_lock:
            template.backup(conn.connection.dbapi_connection)
    return engine


class FakeUnitOfWork(UnitOfWork):
    """See the module docstring."""

    def __init__(self, metadata, service_name="test", actor=None, session_class=Session):
        self.engine = sqlite_engine_for(metadata)
        super().__init__(make_session_factory(self.engine, session_class), service_name, actor,
                         on_commit=None)
        self.events = []
        self.inbox = set()
        self.commits = 0
        self._deliveries = []        # (event_id, consumer) of the open transaction
        self._delivery_marks = []    # len(self._deliveries) at each open savepoint

    def __enter__(self):
        outermost = not self.active
        super().__enter__()
        if outermost:
            self._deliveries = []
        else:
            self._delivery_marks.append(len(self._deliveries))
        return self

    def __exit__(self, exc_type, exc, tb):
        if self._delivery_marks and self._depth > 1:
            mark = self._delivery_marks.pop()
            if exc_type is not None:
                del self._deliveries[mark:]
            return super().__exit__(exc_type, exc, tb)
        emitted = list(self._emitted)
        deliveries, self._deliveries = self._deliveries, []
        super().__exit__(exc_type, exc, tb)  # raises if the commit fails
        if exc_type is None:
            self.commits += 1
            self.events.extend(emitted)
            self.inbox.update(deliveries)
        return False

    def emit(self, event_type, aggregate_type, aggregate_id, data, number=None, version=None):
        self._require_active("emit")
        envelope = make_event(event_type, self.service_name, aggregate_type, aggregate_id,
                              data, number=number, version=version, actor=self.actor)
        self._emitted.append(envelope)
        return envelope

    def first_delivery(self, event_id, consumer, event_type):
        self._require_active("first_delivery")
        key = (str(event_id), consumer)
        if key in self.inbox or key in self._deliveries:
            return False
        self._deliveries.append(key)
        return True

    def event_types(self):
        return [event["type"] for event in self.events]

    def close(self):
        try:
            super().close()
        finally:
            self._deliveries = []
            self._delivery_marks = []
            self.engine.dispose()


@pytest.fixture
def fake_uow_factory():
    """``fake_uow_factory(metadata, service_name="test", actor=None, session_class=Session)`` → a
    :class:`FakeUnitOfWork`, closed at teardown."""
    made = []

    def make(metadata, service_name="test", actor=None, session_class=Session):
        uow = FakeUnitOfWork(metadata, service_name, actor, session_class)
        made.append(uow)
        return uow

    yield make
    for uow in made:
        uow.close()
