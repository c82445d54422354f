"""Fixtures of the gateway's endpoint tests: the real Flask app with a
:class:`gateway.testing.FakeRpcPool` in place of the AMQP pool (no broker, no service).
The gateway's database holds the callers of ``gateway_fake_kit.CALLERS`` (migrated once
per run and copied per test), since an access token counts only for an existing, active
user's live login."""
import shutil

import pytest

from gateway.app import create_app
from gateway.testing import FakeRpcPool

from gateway_fake_kit import FakeGateway, make_callers_database


@pytest.fixture
def fake_pool():
    pool = FakeRpcPool()
    yield pool
    assert not pool.unexpected, f"calls without a configured answer: {pool.unexpected}"


@pytest.fixture(scope="session")
def callers_database(tmp_path_factory):
    return make_callers_database(tmp_path_factory.mktemp("gateway-callers") / "gateway.db")


@pytest.fixture
def make_gateway(tmp_path, fake_pool, callers_database):
    def make(**overrides):
        database = tmp_path / "gateway.db"
        if not database.exists():
            shutil.copyfile(callers_database, database)
        config = {"GATEWAY_DATABASE_URL": f"sqlite:///{database}",
                  "GATEWAY_JWT_SECRET": "s" * 48, "LOG_JSON": False,
                  "GATEWAY_ACCESS_LOG": False, "GATEWAY_RATE_LIMIT": "off",
                  "AMQP_URI": "amqp://guest:guest@127.0.0.1:1/", "RPC_POOL": fake_pool}
        config.update(overrides)
        return FakeGateway(create_app(config), fake_pool)
    return make


@pytest.fixture
def gateway(make_gateway):
    return make_gateway()
