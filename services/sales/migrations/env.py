"""Alembic environment of the sales service: its own tables plus the outbox/inbox."""
from sales.adapters.models import Base
from guanxi_common.migrations import run_migrations

run_migrations(Base.metadata, service="sales")
