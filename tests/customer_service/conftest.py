"""Fixtures of the customer tests: a migrated database and a unit of work on it."""
import pytest

from guanxi_common.db import UnitOfWork, make_engine, make_session_factory
from guanxi_common.migrations import upgrade

from customer_testkit import ADMIN, ALEMBIC_INI


@pytest.fixture
def customer_db(db_url):
    """A customer database at head (SQLite, and PostgreSQL where it answers)."""
    upgrade("customer", str(ALEMBIC_INI), db_url)
    return db_url


@pytest.fixture
def session_factory(customer_db):
    engine = make_engine(customer_db)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def uow_for(session_factory):
    """``uow_for(actor)`` → a UnitOfWork acting as ``actor`` (closed at teardown)."""
    made = []

    def make(actor=ADMIN):
        uow = UnitOfWork(session_factory, "customer", actor)
        made.append(uow)
        return uow

    yield make
    for uow in made:
        uow.close()
