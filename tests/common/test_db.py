"""Unit of work, outbox writes, inbox idempotency and migrations — on SQLite and, where it
answers, PostgreSQL (a throwaway database per test)."""
import re
import textwrap

import eventlet
import pytest
from nameko.testing.services import entrypoint_hook
from prometheus_client import REGISTRY
from sqlalchemy import inspect, select, text

from guanxi_common.config import service_config
from guanxi_common.context import Actor
from guanxi_common.engine import make_engine, write_lock
from guanxi_common.events import dumps
from guanxi_common.messaging_models import inbox_events, outbox_events
from guanxi_common.unit_of_work import UnitOfWork, make_session_factory, session_scope
from outbox_app.service import SERVICE, LocalOutboxApp, add_note, app_engine, notes

ISO_MS_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@pytest.fixture
def make_uow(engine):
    factory = make_session_factory(engine)
    made = []

    def make(actor=None, on_commit=None):
        uow = UnitOfWork(factory, SERVICE, actor or Actor(user_id="u1", request_id="r1"),
                         on_commit=on_commit)
        made.append(uow)
        return uow

    yield make
    for uow in made:
        uow.close()


def rows(engine, table):
    with engine.connect() as conn:
        return conn.execute(select(table)).mappings().all()


def duplicates_skipped(consumer):
    return REGISTRY.get_sample_value("guanxi_duplicate_deliveries_skipped_total",
                                     {"service": SERVICE, "consumer": consumer}) or 0.0


def test_commit_stores_change_and_event_atomically(engine, make_uow):
    committed = []
    uow = make_uow(on_commit=committed.append)
    result = add_note(uow, "你好 world")

    [note] = rows(engine, notes)
    [row] = rows(engine, outbox_events)
    assert note["text"] == "你好 world"
    assert row["event_id"] == result["event_id"] and row["published_at"] is None
    assert row["event_type"] == "note.added" and row["aggregate_id"] == str(note["id"])
    envelope = committed[0][0]
    assert row["payload"] == dumps(envelope)  # stored exactly as it will be published
    assert envelope["source"] == SERVICE and envelope["schema_version"] == 1
    assert envelope["aggregate"] == {"type": "note", "id": str(note["id"]),
                                     "number": None, "version": 1}
    assert envelope["actor"] == {"user_id": "u1", "request_id": "r1"}
    assert ISO_MS_Z.match(envelope["occurred_at"])


def test_exception_rolls_back_change_and_event(engine, make_uow):
    committed = []
    uow = make_uow(on_commit=committed.append)
    with pytest.raises(RuntimeError):
        add_note(uow, "doomed", fail=True)
    assert rows(engine, notes) == [] and rows(engine, outbox_events) == []
    assert committed == []  # no wake-up for a rolled-back transaction
    # the unit of work can be entered again after a failure
    add_note(uow, "second try")
    assert [r["text"] for r in rows(engine, notes)] == ["second try"]
    assert len(committed) == 1


def test_nested_entry_is_a_savepoint(engine, make_uow):
    uow = make_uow()
    with uow:
        uow.session.execute(notes.insert().values(text="outer"))
        with pytest.raises(ValueError):
            with uow:
                uow.session.execute(notes.insert().values(text="inner"))
                uow.emit("note.added", "note", "x", {})
                raise ValueError("inner fails")
    assert [r["text"] for r in rows(engine, notes)] == ["outer"]
    assert rows(engine, outbox_events) == []


def test_emit_and_first_delivery_need_an_open_unit(make_uow):
    uow = make_uow()
    with pytest.raises(RuntimeError):
        uow.emit("note.added", "note", "1", {})
    with pytest.raises(RuntimeError):
        uow.first_delivery("e", "c", "t")


def test_first_delivery_is_idempotent_and_keeps_the_transaction(engine, make_uow):
    before = duplicates_skipped("svc.handler")
    uow = make_uow()
    with uow:
        assert uow.first_delivery("ev-1", "svc.handler", "note.added") is True
    with uow:
        assert uow.first_delivery("ev-1", "svc.handler", "note.added") is False
        # the duplicate did not poison the transaction
        uow.session.execute(notes.insert().values(text="after duplicate"))
    with uow:
        assert uow.first_delivery("ev-1", "other.handler", "note.added") is True
    assert [r["text"] for r in rows(engine, notes)] == ["after duplicate"]
    assert len(rows(engine, inbox_events)) == 2
    assert duplicates_skipped("svc.handler") == before + 1


@pytest.mark.parametrize("first_commits", [True, False])
def test_concurrent_duplicate_delivery_applies_once(engine, make_uow, first_commits):
    results = {}
    inserted = eventlet.event.Event()

    def first():
        uow = make_uow()
        try:
            with uow:
                results["first"] = uow.first_delivery("ev-c", "svc.c", "note.added")
                uow.session.execute(notes.insert().values(text="first"))
                inserted.send()
                eventlet.sleep(0.3)  # the duplicate arrives while this is uncommitted
                if not first_commits:
                    raise RuntimeError("handler failed")
        except RuntimeError:
            pass

    def second():
        inserted.wait()
        uow = make_uow()
        with uow:
            results["second"] = uow.first_delivery("ev-c", "svc.c", "note.added")
            if results["second"]:
                uow.session.execute(notes.insert().values(text="second"))

    threads = [eventlet.spawn(first), eventlet.spawn(second)]
    for thread in threads:
        thread.wait()
    if first_commits:
        assert results == {"first": True, "second": False}
        assert [r["text"] for r in rows(engine, notes)] == ["first"]
    else:  # the first attempt rolled back, so the duplicate is the one that applies
        assert results == {"first": True, "second": True}
        assert [r["text"] for r in rows(engine, notes)] == ["second"]
    assert len(rows(engine, inbox_events)) == 1


def test_check_and_session_scope(db_url, engine, make_uow):
    assert make_uow().check() is True
    with session_scope(db_url, service_name=SERVICE) as uow:
        uow.session.execute(notes.insert().values(text="script"))
        uow.emit("note.added", "note", "1", {"by": "script"})
    [row] = rows(engine, outbox_events)
    assert '"by":"script"' in row["payload"]
    assert [r["text"] for r in rows(engine, notes)] == ["script"]


def test_sqlite_engine_settings(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/sub/dir/x.db")  # creates the folder
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000
    other = make_engine(f"sqlite:///{tmp_path}/sub/../sub/dir/x.db")
    assert write_lock(engine) is write_lock(other)  # one lock per database file
    engine.dispose()
    other.dispose()


def test_provider_gives_worker_actor_and_rolls_back_leftovers(container_factory, rabbit_config,
                                                             engine, db_url):
    config = service_config(SERVICE, AMQP_URI=rabbit_config["AMQP_URI"],
                            DB_URIS={SERVICE: db_url}, OUTBOX_RELAY_ENABLED=False)
    container = container_factory(LocalOutboxApp, config)
    container.start()
    context = Actor(user_id="alice", roles=frozenset({"sales"}), request_id="req-9")
    with entrypoint_hook(container, "leave_open", context.to_context_data()) as leave_open:
        actor = leave_open("never committed")
    assert actor["user_id"] == "alice" and actor["request_id"] == "req-9"
    assert actor["roles"] == ["sales"]
    assert rows(engine, notes) == []  # written outside `with uow:` → rolled back at teardown
    with entrypoint_hook(container, "add_note", context.to_context_data()) as add:
        add("kept")  # and the pool/lock is free again for the next worker
    assert [r["text"] for r in rows(engine, notes)] == ["kept"]
    [row] = rows(engine, outbox_events)
    assert '"user_id":"alice"' in row["payload"]


def test_migration_helpers_create_the_messaging_tables(tmp_path, db_url):
    from guanxi_common.migrations import upgrade
    versions = tmp_path / "mig" / "versions"
    versions.mkdir(parents=True)
    (tmp_path / "alembic.ini").write_text("[alembic]\nscript_location = mig\n")
    (tmp_path / "mig" / "env.py").write_text(textwrap.dedent("""
        from sqlalchemy import MetaData
        from guanxi_common.migrations import run_migrations
        run_migrations(MetaData())
    """))
    (tmp_path / "mig" / "script.py.mako").write_text("")
    (versions / "0001_initial.py").write_text(textwrap.dedent("""
        import sqlalchemy as sa
        from alembic import op
        from guanxi_common.migrations import create_messaging_tables, drop_messaging_tables
        revision, down_revision, branch_labels, depends_on = "0001", None, None, None

        def upgrade():
            op.create_table("things", sa.Column("id", sa.Integer, primary_key=True))
            create_messaging_tables(op)

        def downgrade():
            drop_messaging_tables(op)
            op.drop_table("things")
    """))
    upgrade("svc", tmp_path / "alembic.ini", db_url)
    upgrade("svc", tmp_path / "alembic.ini", db_url)  # already at head: a no-op
    engine = make_engine(db_url)
    try:
        inspector = inspect(engine)
        assert {"things", "outbox_events", "inbox_events", "alembic_version"} <= set(
            inspector.get_table_names())
        assert "ix_outbox_unpublished" in {i["name"] for i in inspector.get_indexes("outbox_events")}
        # the migrated tables work with the unit of work
        uow = UnitOfWork(make_session_factory(engine), "svc")
        with uow:
            uow.emit("thing.made", "thing", "1", {})
            assert uow.first_delivery("e", "c", "t") is True
        uow.close()
        with engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0001"
    finally:
        engine.dispose()


def test_sqlite_unit_of_work_takes_the_write_lock_up_front(tmp_path):
    """Another process (a seed, a migration) committing between a unit of work's first read
    and its first write must not fail the unit with "database is locked": the unit begins
    IMMEDIATE, so the other writer waits for it instead."""
    import sqlite3

    path = tmp_path / "shared.db"
    engine = app_engine(f"sqlite:///{path}")
    uow = UnitOfWork(make_session_factory(engine), SERVICE, Actor.system())
    other = sqlite3.connect(path, timeout=0.2, isolation_level=None)  # no in-process lock
    try:
        with uow:
            uow.session.execute(select(notes.c.id)).all()  # a read first
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("INSERT INTO notes (text) VALUES ('theirs')")
            add_note(uow, "mine")  # nested: the upgrade to a writer cannot fail now
        other.execute("INSERT INTO notes (text) VALUES ('theirs')")  # now it may
        with uow:
            texts = sorted(r.text for r in uow.session.execute(select(notes.c.text)))
        assert texts == ["mine", "theirs"]
    finally:
        other.close()
        uow.close()
        engine.dispose()
