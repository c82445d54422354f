"""Alembic environment of the gateway: users, API tokens and refresh tokens.

No outbox/inbox tables: the gateway publishes no events and consumes none; what other
services react to goes to them by RPC.
"""
from gateway.models import Base
from guanxi_common.migrations import run_migrations

run_migrations(Base.metadata, include_messaging=False, service="gateway")
