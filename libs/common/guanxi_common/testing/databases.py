"""Test databases: a fresh SQLite file, a throwaway PostgreSQL database, both in turn
(``db_url``), a service's schema migrated to head, units of work on them."""
import os
import uuid
from urllib.parse import urlsplit, urlunsplit

import pytest

from guanxi_common.config import PROJECT_ROOT

DEFAULT_TEST_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"

_postgres_answers = None


def postgres_admin_url():
    return os.environ.get("TEST_POSTGRES_URL") or DEFAULT_TEST_POSTGRES_URL


def postgres_available():
    """Whether PostgreSQL answers at ``TEST_POSTGRES_URL`` (probed once per session)."""
    global _postgres_answers
    if _postgres_answers is None:
        try:
            import psycopg2
            conn = psycopg2.connect(_libpq_url(postgres_admin_url()), connect_timeout=2)
            conn.close()
            _postgres_answers = True
        except Exception:
            _postgres_answers = False
    return _postgres_answers


def _libpq_url(url):
    # SQLAlchemy spells drivers into the scheme (postgresql+psycopg2://); libpq does not.
    parts = urlsplit(url)
    return urlunsplit(parts._replace(scheme="postgresql"))


def pytest_generate_tests(metafunc):
    if "db_url" in metafunc.fixturenames:
        params = ["sqlite"] + (["postgres"] if postgres_available() else [])
        metafunc.parametrize("db_url", params, indirect=True)


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture
def postgres_url():
    # db_url only asks for this where PostgreSQL answered at collection time; a test that
    # asks for it directly on a machine without one is told so, not silently skipped.
    if not postgres_available():
        raise RuntimeError(f"no PostgreSQL answers at {postgres_admin_url()} "
                           "(set TEST_POSTGRES_URL, or use the db_url fixture)")
    import psycopg2
    admin_url = postgres_admin_url()
    name = f"guanxi_test_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(_libpq_url(admin_url), connect_timeout=5)
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        parts = urlsplit(admin_url)
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        try:
            with admin.cursor() as cur:
                # FORCE: a leaked pool connection must not keep the database alive.
                cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            admin.close()


@pytest.fixture
def db_url(request):
    return request.getfixturevalue(f"{request.param}_url")


def alembic_ini(service):
    return PROJECT_ROOT / "services" / service / "alembic.ini"


def migrate_service_db(service, url):
    """Apply ``service``'s migrations (``services/<service>/alembic.ini``) to ``url``; returns it."""
    from guanxi_common.migrations import upgrade

    upgrade(service, str(alembic_ini(service)), url)
    return url


@pytest.fixture
def uow_factory():
    """``uow_factory(url, service_name, actor=None, session_class=Session)`` → a real
    :class:`~guanxi_common.unit_of_work.UnitOfWork` on ``url`` (one engine per URL).
    Units of work are closed and engines disposed at teardown."""
    from sqlalchemy.orm import Session

    from guanxi_common.engine import make_engine
    from guanxi_common.unit_of_work import UnitOfWork, make_session_factory

    factories, engines, made = {}, {}, []

    def make(url, service_name, actor=None, session_class=Session):
        if url not in engines:
            engines[url] = make_engine(url)
        if (url, session_class) not in factories:
            factories[url, session_class] = make_session_factory(engines[url], session_class)
        uow = UnitOfWork(factories[url, session_class], service_name, actor)
        made.append(uow)
        return uow

    yield make
    for uow in made:
        uow.close()
    for engine in engines.values():
        engine.dispose()
