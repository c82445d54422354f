"""Alembic environment of the customer service: its own tables plus the outbox/inbox."""
from alembic import context
from sqlalchemy import engine_from_config, pool

from customer.models import Base
from guanxi_common.config import database_url, normalize_db_url
from guanxi_common.messaging_models import messaging_metadata

config = context.config
target_metadata = [Base.metadata, messaging_metadata]
url = normalize_db_url(config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
                       or database_url("customer"))


def run_migrations_offline():
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True,
                      render_as_batch=url.startswith("sqlite"))
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = engine_from_config({"sqlalchemy.url": url}, prefix="sqlalchemy.", poolclass=pool.NullPool)
    with engine.connect() as connection:
        _run(connection)


def _run(connection):
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
