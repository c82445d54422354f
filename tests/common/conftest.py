"""Fixtures of the libs/common tests."""
import pytest

from outbox_app.service import app_engine


@pytest.fixture
def engine(db_url):
    """The test app's database (``outbox_app``: its notes and the messaging tables)."""
    engine = app_engine(db_url)
    yield engine
    engine.dispose()
