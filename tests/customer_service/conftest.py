"""Fixtures of the customer tests: a migrated database and a unit of work on it."""
import pytest

from customer.adapters.records import CustomerSession
from guanxi_common.testing.databases import migrate_service_db

from customer_testkit import ADMIN


@pytest.fixture
def customer_db(db_url):
    """A customer database at head (SQLite, and PostgreSQL where it answers)."""
    return migrate_service_db("customer", db_url)


@pytest.fixture
def uow_for(customer_db, uow_factory):
    """``uow_for(actor)`` → a UnitOfWork acting as ``actor`` (closed at teardown)."""
    def make(actor=ADMIN):
        return uow_factory(customer_db, "customer", actor, session_class=CustomerSession)

    return make
