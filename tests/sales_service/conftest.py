"""Fixtures of the sales tests: a migrated database and a unit of work on it."""
import pytest

from guanxi_common.db import UnitOfWork, make_engine, make_session_factory
from guanxi_common.migrations import upgrade

from sales_testkit import ADMIN, ALEMBIC_INI


@pytest.fixture
def sales_db(db_url):
    """A sales database at head (SQLite, and PostgreSQL where it answers)."""
    upgrade("sales", str(ALEMBIC_INI), db_url)
    return db_url


@pytest.fixture
def sales_session_factory(sales_db):
    engine = make_engine(sales_db)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def sales_uow(sales_session_factory):
    """``sales_uow(actor)`` → a UnitOfWork acting as ``actor`` (closed at teardown)."""
    made = []

    def make(actor=ADMIN):
        uow = UnitOfWork(sales_session_factory, "sales", actor)
        made.append(uow)
        return uow

    yield make
    for uow in made:
        uow.close()
