"""Tables every service's database carries for reliable messaging.

They live on their own metadata so that each service's alembic migrations create
them next to the service's own tables (see ``guanxi_common.migrations``).
"""
from sqlalchemy import (BigInteger, Column, DateTime, Index, Integer, MetaData, String, Table,
                        Text, text)

messaging_metadata = MetaData()

# Events waiting to be published (transactional outbox). ``id`` orders them:
# the relay publishes in id order, which keeps per-aggregate order.
outbox_events = Table(
    "outbox_events", messaging_metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("event_type", String(100), nullable=False),
    Column("aggregate_type", String(50), nullable=False),
    Column("aggregate_id", String(36), nullable=False),
    Column("payload", Text, nullable=False),  # the JSON envelope, exactly as published
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("published_at", DateTime(timezone=True), nullable=True),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("last_error", Text, nullable=True),
)
Index("ix_outbox_unpublished", outbox_events.c.published_at, outbox_events.c.id)

# Events already applied by a consumer (idempotent inbox): the row is written in
# the same transaction as the handler's effect.
inbox_events = Table(
    "inbox_events", messaging_metadata,
    Column("event_id", String(36), primary_key=True),
    Column("consumer", String(200), primary_key=True),
    Column("event_type", String(100), nullable=False),
    Column("processed_at", DateTime(timezone=True), nullable=False),
)
