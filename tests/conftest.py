# Nameko needs eventlet's monkey patch before anything else is imported.
import eventlet

eventlet.monkey_patch()  # noqa: E402

# Fixtures: amqp_uri, sqlite_url, postgres_url, db_url, service_config_factory, rpc_client,
# service_process (see guanxi_common/testing.py).
pytest_plugins = ["guanxi_common.testing"]
