"""Alembic helpers shared by every service.

Convention (one choice for all services):

* the messaging tables are created by the service's **first migration** with
  ``create_messaging_tables(op)`` (and dropped in its downgrade with
  ``drop_messaging_tables(op)``), so they are versioned like the service's own tables;
* the service's ``migrations/env.py`` calls :func:`run_migrations` with its models'
  metadata; it adds ``messaging_metadata`` to the target metadata so autogenerate sees
  the messaging tables as known and never proposes to drop them. A complete env.py::

      from guanxi_common.migrations import run_migrations
      from customer.adapters.models import Base
      run_migrations(Base.metadata)

:func:`upgrade` applies a service's migrations programmatically (service start,
``make migrate`` via ``python -m guanxi_common.migrate``).
"""
import logging
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.pool import NullPool

from guanxi_common.engine import advisory_key
from guanxi_common.messaging_models import messaging_metadata

log = logging.getLogger(__name__)


def create_messaging_tables(op):
    """Create ``outbox_events`` and ``inbox_events`` (with their indexes) in a migration."""
    for table in messaging_metadata.sorted_tables:
        op.create_table(table.name, *[column._copy() for column in table.columns])
        for index in sorted(table.indexes, key=lambda i: i.name):
            op.create_index(index.name, table.name, [c.name for c in index.columns],
                            unique=bool(index.unique))


def drop_messaging_tables(op):
    for table in reversed(messaging_metadata.sorted_tables):
        for index in table.indexes:
            op.drop_index(index.name, table_name=table.name)
        op.drop_table(table.name)


def run_migrations(target_metadata, include_messaging=True, service=None):
    """The body of a service's alembic ``env.py`` (online and offline mode).

    The database URL comes from ``config.attributes['url']`` (set by :func:`upgrade`),
    else from ``sqlalchemy.url`` in alembic.ini, else from the service's configuration
    (``<SERVICE>_DATABASE_URL`` or SQLite under var/, as for the ``alembic`` command).
    SQLite uses batch mode so ALTERs work.
    """
    from alembic import context

    from guanxi_common.config import database_url, normalize_db_url
    from guanxi_common.engine import make_engine

    config = context.config
    url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
    url = normalize_db_url(url) if url else database_url(service)
    metadata = [target_metadata] if target_metadata is not None else []
    if include_messaging:
        metadata.append(messaging_metadata)
    is_sqlite = str(url).startswith("sqlite")
    options = {"target_metadata": metadata, "render_as_batch": is_sqlite,
               "compare_type": True}
    if context.is_offline_mode():
        context.configure(url=url, literal_binds=True,
                          dialect_opts={"paramstyle": "named"}, **options)
        with context.begin_transaction():
            context.run_migrations()
        return
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, **options)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            context.configure(connection=connection, **options)
            with context.begin_transaction():
                context.run_migrations()
            # SQLite has no transactional DDL for alembic, so its work sits in the
            # autobegun transaction: commit it explicitly.
            if connection.in_transaction():
                connection.commit()
    finally:
        engine.dispose()


def alembic_config(alembic_ini_path, url):
    from alembic.config import Config

    ini = Path(alembic_ini_path).resolve()
    cfg = Config(str(ini))
    location = cfg.get_main_option("script_location") or "migrations"
    if "%(here)s" in location:
        location = location.replace("%(here)s", str(ini.parent))
    if not Path(location).is_absolute():
        # alembic would resolve it against the current directory; the ini's folder is meant
        location = str(ini.parent / location)
    cfg.set_main_option("script_location", location)
    cfg.set_main_option("sqlalchemy.url", str(url).replace("%", "%%"))
    cfg.attributes["url"] = str(url)
    # env.py files that call logging.config.fileConfig should skip it when this is False,
    # so migrating on service start does not replace the service's JSON logging.
    cfg.attributes["configure_logger"] = False
    return cfg


def upgrade(service_name, alembic_ini_path, url=None, revision="head"):
    """Apply ``service_name``'s migrations up to ``revision`` on ``url`` (default: the
    service's configured database). On PostgreSQL a session advisory lock makes replicas
    starting together migrate one after the other."""
    from alembic import command

    from guanxi_common.config import database_url
    from guanxi_common.engine import make_engine

    url = url or database_url(service_name)
    cfg = alembic_config(alembic_ini_path, url)
    cfg.attributes["service_name"] = service_name
    engine = make_engine(url, poolclass=NullPool)
    try:
        if engine.dialect.name == "postgresql":
            key = advisory_key(f"guanxi-migrate:{service_name}")
            with engine.connect() as lock_conn:
                lock_conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
                lock_conn.commit()
                try:
                    command.upgrade(cfg, revision)
                finally:
                    lock_conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                    lock_conn.commit()
        else:
            command.upgrade(cfg, revision)
    finally:
        engine.dispose()
    log.info("migrated %s to %s", service_name, revision)
