"""FakeUnitOfWork: the unit of work of application-layer tests (no migrations, no outbox)."""
import time

import pytest
from sqlalchemy import ForeignKey, MetaData, String, event, insert, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from guanxi_common.clock import utcnow
from guanxi_common.context import Actor
from guanxi_common.engine import make_engine
from guanxi_common.messaging_models import messaging_metadata, outbox_events
from guanxi_common.testing.fakes import FakeUnitOfWork
from guanxi_common.unit_of_work import UnitOfWork


class Base(DeclarativeBase):
    metadata = MetaData()


class Account(Base):
    __tablename__ = "accounts"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(50))


class Note(Base):
    __tablename__ = "notes"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))


def names(uow):
    return uow.session.scalars(select(Account.name).order_by(Account.id)).all()


def test_commits_keep_data_and_events(fake_uow_factory):
    uow = fake_uow_factory(Base.metadata, "crm")
    with uow:
        uow.session.add(Account(id="a1", name="张伟"))
        envelope = uow.emit("account.created", "account", "a1", {"name": "张伟"}, number="A1", version=1)
    assert isinstance(uow, UnitOfWork)
    assert uow.commits == 1
    assert uow.events == [envelope]
    assert uow.event_types() == ["account.created"]
    assert envelope["source"] == "crm" and envelope["aggregate"] == {
        "type": "account", "id": "a1", "number": "A1", "version": 1}
    assert envelope["actor"] == {"user_id": "system", "request_id": None}
    assert names(uow) == ["张伟"]


def test_rollback_drops_data_and_events(fake_uow_factory):
    uow = fake_uow_factory(Base.metadata)
    with pytest.raises(RuntimeError):
        with uow:
            uow.session.add(Account(id="a1", name="x"))
            uow.emit("account.created", "account", "a1", {})
            raise RuntimeError("refused")
    assert uow.commits == 0 and uow.events == []
    assert names(uow) == []


def test_nested_block_is_a_savepoint(fake_uow_factory):
    uow = fake_uow_factory(Base.metadata)
    with uow:
        uow.session.add(Account(id="a1", name="kept"))
        uow.emit("account.created", "account", "a1", {})
        assert uow.first_delivery("e1", "c", "t")
        with pytest.raises(ValueError):
            with uow:
                uow.session.add(Account(id="a2", name="dropped"))
                uow.emit("account.created", "account", "a2", {})
                assert uow.first_delivery("e2", "c", "t")
                raise ValueError
        with uow:
            uow.emit("account.renamed", "account", "a1", {})
    assert uow.commits == 1
    assert uow.event_types() == ["account.created", "account.renamed"]
    assert [e["aggregate"]["id"] for e in uow.events] == ["a1", "a1"]
    assert uow.inbox == {("e1", "c")}
    assert names(uow) == ["kept"]


def test_inbox_in_memory_and_transactional(fake_uow_factory):
    uow = fake_uow_factory(Base.metadata)
    with pytest.raises(RuntimeError):
        with uow:
            assert uow.first_delivery("e1", "consumer", "t") is True
            raise RuntimeError
    with uow:  # the rolled-back delivery was forgotten
        assert uow.first_delivery("e1", "consumer", "t") is True
        assert uow.first_delivery("e1", "consumer", "t") is False
        assert uow.first_delivery("e1", "other", "t") is True
    with uow:
        assert uow.first_delivery("e1", "consumer", "t") is False
    assert uow.inbox == {("e1", "consumer"), ("e1", "other")}


def test_emit_and_first_delivery_need_an_open_block(fake_uow_factory):
    uow = fake_uow_factory(Base.metadata)
    with pytest.raises(RuntimeError, match="inside `with uow:`"):
        uow.emit("t", "a", "1", {})
    with pytest.raises(RuntimeError, match="inside `with uow:`"):
        uow.first_delivery("e", "c", "t")


def test_foreign_keys_are_enforced(fake_uow_factory):
    uow = fake_uow_factory(Base.metadata)
    with pytest.raises(IntegrityError):
        with uow:
            uow.session.add(Note(id="n1", account_id="missing"))


def test_actor_is_carried_into_envelopes(fake_uow_factory):
    actor = Actor(user_id="u7", roles=frozenset({"sales_rep"}), request_id="r1")
    uow = fake_uow_factory(Base.metadata, "crm", actor)
    with uow:
        uow.emit("account.created", "account", "a1", {})
    assert uow.actor is actor
    assert uow.events[0]["actor"] == {"user_id": "u7", "request_id": "r1"}


def test_fakes_do_not_share_data(fake_uow_factory):
    first, second = fake_uow_factory(Base.metadata), fake_uow_factory(Base.metadata)
    with first:
        first.session.add(Account(id="a1", name="only here"))
    assert names(first) == ["only here"]
    assert names(second) == []


def test_several_metadata_make_one_schema(fake_uow_factory):
    uow = fake_uow_factory((Base.metadata, messaging_metadata), "crm")
    with uow:
        uow.session.add(Account(id="a1", name="with the outbox"))
        uow.session.execute(insert(outbox_events).values(
            event_id="e1", event_type="account.opened", aggregate_type="account",
            aggregate_id="a1", payload="{}", created_at=utcnow()))
    assert names(uow) == ["with the outbox"]
    assert uow.session.scalars(select(outbox_events.c.event_id)).all() == ["e1"]
    alone = fake_uow_factory(Base.metadata)  # one metadata: a schema of its own tables only
    assert "outbox_events" not in inspect(alone.engine).get_table_names()


def test_building_a_fake_is_fast():
    FakeUnitOfWork(Base.metadata).close()  # schema built once per metadata
    started = time.perf_counter()
    for _ in range(20):
        FakeUnitOfWork(Base.metadata).close()
    assert (time.perf_counter() - started) / 20 < 0.05


class StampingSession(Session):
    """A service's own session class: its flush hook must not reach other sessions."""


@event.listens_for(StampingSession, "before_flush")
def _stamp(session, flush_context, instances):
    for obj in session.new:
        if isinstance(obj, Account):
            obj.name = obj.name.upper()


@pytest.mark.parametrize("kind", ["fake", "real"])
def test_session_hooks_stay_with_the_services_session_class(kind, fake_uow_factory,
                                                            uow_factory, sqlite_url):
    if kind == "fake":
        def make(session_class):
            return fake_uow_factory(Base.metadata, "crm", session_class=session_class)
    else:
        engine = make_engine(sqlite_url)
        Base.metadata.create_all(engine)
        engine.dispose()

        def make(session_class):
            return uow_factory(sqlite_url, "crm", session_class=session_class)
    own, plain = make(StampingSession), make(Session)
    with own:
        own.session.add(Account(id="a1", name="zhang"))
    with plain:
        plain.session.add(Account(id="a2", name="li"))
    assert isinstance(own.session, StampingSession)
    assert names(own) == ["ZHANG"] if kind == "fake" else ["ZHANG", "li"]
    assert names(plain)[-1] == "li"
