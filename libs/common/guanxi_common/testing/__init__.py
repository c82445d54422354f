"""What every Guanxi test suite shares: a pytest plugin and the helpers behind it.

Register the plugin in ``tests/conftest.py``::

    pytest_plugins = ["guanxi_common.testing"]

Modules: ``databases`` (test databases, migrations, real units of work), ``fakes``
(:class:`~guanxi_common.testing.fakes.FakeUnitOfWork`), ``broker`` (the test vhost, RPC
clients, queue helpers, :class:`~guanxi_common.testing.broker.TcpProxy`), ``processes``
(services as real processes, :class:`~guanxi_common.testing.processes.OutputLines`,
``process_gone``, ``find_free_port``), ``waiting`` (``wait_for``).

It builds on Nameko's plugin (``rabbit_config`` gives each test its own throwaway RabbitMQ
vhost through the management API, so parallel runs never see each other's queues;
``container_factory`` / ``runner_factory`` run services in-process).

Fixtures
--------
``amqp_uri``
    AMQP URI of the test's own vhost (from ``rabbit_config``).
``sqlite_url``
    ``sqlite:///`` URL of a fresh file in the test's tmp dir.
``postgres_url``
    A throwaway database created on the server at ``TEST_POSTGRES_URL`` (default
    ``postgresql://postgres@127.0.0.1:5432/postgres``) and dropped after the test; an error
    when no PostgreSQL answers there (``db_url`` leaves the case out instead).
``db_url``
    Parametrised over ``sqlite`` and ``postgres``. The ``postgres`` case is generated only
    when PostgreSQL answers at collection time, so a machine without it runs the SQLite
    case and reports nothing skipped.
``service_config_factory(service, **overrides)``
    ``guanxi_common.config.service_config`` on the test vhost, with a free
    ``WEB_SERVER_ADDRESS`` port on 127.0.0.1 and the service's database on a tmp SQLite file
    (override ``DB_URIS`` to change it).
``uow_factory(url, service_name, actor=None)``
    A real :class:`~guanxi_common.unit_of_work.UnitOfWork` on ``url`` (e.g. a ``db_url``
    migrated with :func:`~guanxi_common.testing.databases.migrate_service_db`); closed at
    teardown.
``migrated_service_config(service, **overrides)``
    Like ``service_config_factory`` with the service's own tmp SQLite database migrated to
    head (its ``services/<service>/alembic.ini``).
``rpc_client(actor=None, timeout=None)``
    Factory returning a started :func:`guanxi_common.rpc.cluster_rpc` client on the test
    vhost, context data from ``actor``; every client is closed at teardown.
``service_process(target, config, env=None, ready_timeout=30, cwd=None, pythonpath=())``
    Factory that starts ``nameko run --config <yaml> <target>`` as a real subprocess (the
    config dict is written to YAML; ``env`` adds environment variables), waits until its
    ``/readyz`` answers 200 and returns a :class:`ServiceProcess`. Processes still running
    at teardown are killed. For kill -9 and graceful-shutdown tests.
``fake_uow_factory(metadata, service_name="test", actor=None)``
    A :class:`~guanxi_common.testing.fakes.FakeUnitOfWork` on an in-memory SQLite database
    holding the tables of ``metadata`` (one ``MetaData`` or several; no migrations), events
    and inbox in memory; closed at teardown. For application-layer tests where the database
    is not the point.
``calls``
    A :class:`~guanxi_common.testing.spies.Calls` recorder: ``calls.watch(module, "name")``
    records each call of ``module.name`` (which still runs), ``calls.names()`` lists them.
"""
from guanxi_common.testing.broker import (  # noqa: F401  (the plugin's fixtures)
    amqp_uri, migrated_service_config, rpc_client, service_config_factory,
)
from guanxi_common.testing.databases import (  # noqa: F401
    db_url, postgres_available, postgres_url, pytest_generate_tests, sqlite_url, uow_factory,
)
from guanxi_common.testing.fakes import FakeUnitOfWork, fake_uow_factory  # noqa: F401
from guanxi_common.testing.processes import ServiceProcess, find_free_port, service_process  # noqa: F401
from guanxi_common.testing.spies import calls  # noqa: F401
