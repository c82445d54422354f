# Nameko needs eventlet's monkey patch before anything else is imported.
import guanxi_common  # noqa: F401  (silences eventlet's deprecation notice first)
import eventlet

eventlet.monkey_patch()  # noqa: E402

# Fixtures: amqp_uri, sqlite_url, postgres_url, db_url, service_config_factory, rpc_client,
# service_process (see guanxi_common/testing/).
pytest_plugins = ["guanxi_common.testing"]


def pytest_collection_modifyitems(items):
    """Mark by what a test really uses, so `make test-unit` can leave the broker out."""
    import pytest

    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if "rabbit_config" in fixtures:
            item.add_marker(pytest.mark.integration)
        if "service_process" in fixtures:
            item.add_marker(pytest.mark.slow)
        callspec = getattr(item, "callspec", None)
        if "postgres_url" in fixtures or (callspec and callspec.params.get("db_url") == "postgres"):
            item.add_marker(pytest.mark.postgres)
