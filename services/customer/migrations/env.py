"""Alembic environment of the customer service: its own tables plus the outbox/inbox."""
from customer.adapters.models import Base
from guanxi_common.migrations import run_migrations

run_migrations(Base.metadata, service="customer")
