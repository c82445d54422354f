"""Fixtures of the sales tests: a migrated database and a unit of work on it."""
import pytest

from guanxi_common.testing.databases import migrate_service_db

from sales_testkit import ADMIN


@pytest.fixture
def sales_db(db_url):
    """A sales database at head (SQLite, and PostgreSQL where it answers)."""
    return migrate_service_db("sales", db_url)


@pytest.fixture
def sales_uow(sales_db, uow_factory):
    """``sales_uow(actor)`` → a UnitOfWork acting as ``actor`` (closed at teardown)."""
    def make(actor=ADMIN):
        return uow_factory(sales_db, "sales", actor)

    return make
