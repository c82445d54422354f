"""A minimal service using the unit of work and the outbox.

``OutboxApp`` (with the chassis' /readyz) is what ``nameko run outbox_app.service:OutboxApp``
starts in the kill -9 test;
``LocalOutboxApp`` has no AMQP entrypoint (tests call it with ``entrypoint_hook``), so
only its outbox relay talks to the broker — which lets a test cut the relay's broker.
"""
from nameko.testing.services import dummy
from sqlalchemy import Column, Integer, MetaData, String, Table, insert

from guanxi_common.chassis import ServiceBase
from guanxi_common.engine import make_engine
from guanxi_common.messaging_models import messaging_metadata
from guanxi_common.rpc import rpc
from guanxi_common.unit_of_work import UnitOfWorkProvider

SERVICE = "outboxapp"

metadata = MetaData()
notes = Table("notes", metadata,
              Column("id", Integer, primary_key=True, autoincrement=True),
              Column("text", String(200), nullable=False))


def app_engine(url):
    """An engine on ``url`` holding the app's table and the messaging tables."""
    engine = make_engine(url)
    metadata.create_all(engine)
    messaging_metadata.create_all(engine)
    return engine


def add_note(uow, text, fail=False):
    with uow:
        note_id = uow.session.execute(insert(notes).values(text=text)).inserted_primary_key[0]
        event = uow.emit("note.added", "note", str(note_id), {"text": text}, version=1)
        if fail:
            raise RuntimeError("failed after emitting")
    return {"id": note_id, "event_id": event["event_id"]}


class OutboxApp(ServiceBase):
    name = SERVICE
    uow = UnitOfWorkProvider(SERVICE)

    @rpc
    def add_note(self, text):
        return add_note(self.uow, text)


class LocalOutboxApp:
    name = SERVICE
    uow = UnitOfWorkProvider(SERVICE)

    @dummy
    def add_note(self, text, fail=False):
        return add_note(self.uow, text, fail)

    @dummy
    def add_notes(self, texts):
        return [add_note(self.uow, text) for text in texts]

    @dummy
    def leave_open(self, text):
        # writes without `with uow:` — the worker teardown must roll this back
        self.uow.session.execute(insert(notes).values(text=text))
        return self.uow.actor.to_dict()
