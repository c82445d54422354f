"""guanxi_common.consumers.idempotent on a unit of work, without a broker."""
import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, func, select

from guanxi_common.consumers import idempotent
from guanxi_common.events import make_event

effects = Table("effects", MetaData(),
                Column("id", Integer, primary_key=True, autoincrement=True),
                Column("key", String(50), nullable=False))


class Handlers:
    name = "crm"

    def __init__(self, uow):
        self.uow = uow
        self.runs = 0

    @idempotent
    def on_thing(self, event):
        self.runs += 1
        assert self.uow.active  # the body runs inside the unit of work
        self.uow.session.execute(effects.insert().values(key=event["data"]["key"]))
        if event["data"].get("fail"):
            raise RuntimeError("handler failed")
        return "applied"

    @idempotent(consumer="crm.things", uow_attr="store")
    def on_other(self, event):
        return "other"

    @property
    def store(self):
        return self.uow


def thing(**data):
    return make_event("thing.happened", "upstream", "thing", "t1", data)


def applied(uow):
    return uow.session.scalar(select(func.count()).select_from(effects))


@pytest.fixture
def handlers(fake_uow_factory):
    return Handlers(fake_uow_factory(effects.metadata, "crm"))


def test_first_delivery_runs_duplicates_are_skipped(handlers):
    event = thing(key="a")
    assert handlers.on_thing(event) == "applied"
    assert handlers.on_thing(event) is None
    assert handlers.runs == 1
    assert applied(handlers.uow) == 1
    assert handlers.uow.inbox == {(event["event_id"], "crm.on_thing")}
    assert handlers.uow.commits == 2  # the skipped duplicate commits nothing but its check


def test_a_failed_handler_leaves_no_trace_so_the_retry_runs(handlers):
    event = thing(key="b", fail=True)
    with pytest.raises(RuntimeError):
        handlers.on_thing(event)
    assert applied(handlers.uow) == 0 and handlers.uow.inbox == set()
    event["data"]["fail"] = False
    assert handlers.on_thing(event) == "applied"
    assert handlers.runs == 2 and applied(handlers.uow) == 1


def test_consumer_name_and_uow_attribute_can_be_given(handlers):
    event = thing(key="c")
    assert handlers.on_other(event) == "other"
    assert handlers.on_other(event) is None
    # another consumer of the same event applies it on its own
    assert handlers.on_thing(event) == "applied"
    assert handlers.uow.inbox == {(event["event_id"], "crm.things"),
                                  (event["event_id"], "crm.on_thing")}
