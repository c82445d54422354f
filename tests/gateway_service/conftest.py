"""Fixtures of the gateway's endpoint tests: the real Flask app with a
:class:`gateway.testing.FakeRpcPool` in place of the AMQP pool (no broker, no service, no
user table: callers carry tokens from the app's own token service)."""
import pytest

from gateway.app import create_app
from gateway.testing import FakeRpcPool

from gateway_fake_kit import FakeGateway


@pytest.fixture
def fake_pool():
    pool = FakeRpcPool()
    yield pool
    assert not pool.unexpected, f"calls without a configured answer: {pool.unexpected}"


@pytest.fixture
def make_gateway(tmp_path, fake_pool):
    def make(**overrides):
        config = {"GATEWAY_DATABASE_URL": f"sqlite:///{tmp_path / 'gateway.db'}",
                  "GATEWAY_JWT_SECRET": "s" * 48, "LOG_JSON": False,
                  "GATEWAY_ACCESS_LOG": False, "GATEWAY_RATE_LIMIT": "off",
                  "AMQP_URI": "amqp://guest:guest@127.0.0.1:1/", "RPC_POOL": fake_pool}
        config.update(overrides)
        return FakeGateway(create_app(config), fake_pool)
    return make


@pytest.fixture
def gateway(make_gateway):
    return make_gateway()
