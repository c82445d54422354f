"""Pytest plugin for Guanxi tests. Register it in ``tests/conftest.py``::

    pytest_plugins = ["guanxi_common.testing"]

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
"""
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

DEFAULT_TEST_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"

_postgres_answers = None


def postgres_admin_url():
    return os.environ.get("TEST_POSTGRES_URL") or DEFAULT_TEST_POSTGRES_URL


def postgres_available():
    """Whether PostgreSQL answers at ``TEST_POSTGRES_URL`` (probed once per session)."""
    global _postgres_answers
    if _postgres_answers is None:
        try:
            import psycopg2
            conn = psycopg2.connect(_libpq_url(postgres_admin_url()), connect_timeout=2)
            conn.close()
            _postgres_answers = True
        except Exception:
            _postgres_answers = False
    return _postgres_answers


def _libpq_url(url):
    # SQLAlchemy spells drivers into the scheme (postgresql+psycopg2://); libpq does not.
    parts = urlsplit(url)
    return urlunsplit(parts._replace(scheme="postgresql"))


def find_free_port(host="127.0.0.1"):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def pytest_generate_tests(metafunc):
    if "db_url" in metafunc.fixturenames:
        params = ["sqlite"] + (["postgres"] if postgres_available() else [])
        metafunc.parametrize("db_url", params, indirect=True)


@pytest.fixture
def amqp_uri(rabbit_config):
    return rabbit_config["AMQP_URI"]


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture
def postgres_url():
    # db_url only asks for this where PostgreSQL answered at collection time; a test that
    # asks for it directly on a machine without one is told so, not silently skipped.
    if not postgres_available():
        raise RuntimeError(f"no PostgreSQL answers at {postgres_admin_url()} "
                           "(set TEST_POSTGRES_URL, or use the db_url fixture)")
    import psycopg2
    admin_url = postgres_admin_url()
    name = f"guanxi_test_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(_libpq_url(admin_url), connect_timeout=5)
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        parts = urlsplit(admin_url)
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        try:
            with admin.cursor() as cur:
                # FORCE: a leaked pool connection must not keep the database alive.
                cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            admin.close()


@pytest.fixture
def db_url(request):
    return request.getfixturevalue(f"{request.param}_url")


@pytest.fixture
def service_config_factory(amqp_uri, tmp_path):
    from guanxi_common.config import service_config

    def make(service, **overrides):
        overrides.setdefault("AMQP_URI", amqp_uri)
        overrides.setdefault("WEB_SERVER_ADDRESS", f"127.0.0.1:{find_free_port()}")
        overrides.setdefault("DB_URIS", {service: f"sqlite:///{tmp_path / (service + '.db')}"})
        return service_config(service, **overrides)

    return make


@pytest.fixture
def migrated_service_config(service_config_factory, tmp_path):
    """``migrated_service_config(service, **overrides)``: the service's config on the test
    vhost with its own SQLite file in the test's tmp dir, migrated to head."""
    from guanxi_common.config import PROJECT_ROOT
    from guanxi_common.migrations import upgrade

    def make(service, **overrides):
        url = f"sqlite:///{tmp_path / (service + '.db')}"
        upgrade(service, str(PROJECT_ROOT / "services" / service / "alembic.ini"), url)
        return service_config_factory(service, DB_URIS={service: url}, **overrides)

    return make


@pytest.fixture
def rpc_client(amqp_uri):
    from guanxi_common.rpc import cluster_rpc

    opened = []

    def make(actor=None, timeout=None):
        client = cluster_rpc(amqp_uri, actor=actor, timeout=timeout)
        proxy = client.__enter__()
        opened.append(client)
        return proxy

    yield make
    for client in reversed(opened):
        client.__exit__(None, None, None)


def http_port(config):
    return int(config["WEB_SERVER_ADDRESS"].rsplit(":", 1)[1])


class ServiceProcess:
    """A service run by ``nameko run`` in its own process, output in ``log_path``."""

    def __init__(self, target, config, workdir, env=None, cwd=None, pythonpath=()):
        import yaml
        self.target = target
        self.config = config
        self.port = http_port(config)
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config_path = self.workdir / f"config-{uuid.uuid4().hex[:8]}.yml"
        self.config_path.write_text(yaml.safe_dump(config))
        self.log_path = self.config_path.with_suffix(".log")
        self.env = dict(os.environ)
        self.env.update(env or {})
        self.env["PYTHONUNBUFFERED"] = "1"
        paths = [str(p) for p in pythonpath] + ([self.env["PYTHONPATH"]] if self.env.get("PYTHONPATH") else [])
        if paths:
            self.env["PYTHONPATH"] = os.pathsep.join(paths)
        self.cwd = cwd
        self.proc = None
        self._log_file = None

    @property
    def pid(self):
        return self.proc.pid

    @property
    def returncode(self):
        return self.proc.poll()

    def url(self, path=""):
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self):
        nameko = Path(sys.executable).with_name("nameko")
        command = [str(nameko)] if nameko.exists() else [sys.executable, "-m", "nameko"]
        self._log_file = open(self.log_path, "ab")
        self.proc = subprocess.Popen(command + ["run", "--config", str(self.config_path), self.target],
                                     stdout=self._log_file, stderr=subprocess.STDOUT,
                                     env=self.env, cwd=self.cwd)
        return self

    def wait_ready(self, timeout=30):
        import requests
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.target} exited with {self.proc.returncode} before "
                                   f"it was ready:\n{self.output()[-4000:]}")
            try:
                response = requests.get(self.url("/readyz"), timeout=2)
                if response.status_code == 200:
                    return response.json()
                last = f"{response.status_code} {response.text[:200]}"
            except requests.RequestException as exc:
                last = repr(exc)
            time.sleep(0.1)
        raise TimeoutError(f"{self.target} not ready after {timeout} s ({last}):\n"
                           f"{self.output()[-4000:]}")

    def output(self):
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def send_signal(self, signum):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signum)

    def kill(self):
        """SIGKILL, as a crash would."""
        self.send_signal(signal.SIGKILL)
        return self.wait(10)

    def stop(self, timeout=15):
        """SIGTERM (Nameko's graceful stop); returns the exit code, SIGKILL after ``timeout``."""
        self.send_signal(signal.SIGTERM)
        try:
            return self.wait(timeout)
        except subprocess.TimeoutExpired:
            return self.kill()

    def wait(self, timeout=None):
        code = self.proc.wait(timeout)
        if self._log_file and not self._log_file.closed:
            self._log_file.close()
        return code


@pytest.fixture
def service_process(tmp_path):
    started = []

    def start(target, config, env=None, ready_timeout=30, cwd=None, pythonpath=()):
        process = ServiceProcess(target, config, tmp_path / "processes", env=env, cwd=cwd,
                                 pythonpath=pythonpath)
        started.append(process)
        process.start()
        process.wait_ready(ready_timeout)
        return process

    yield start
    for process in started:
        if process.proc is not None and process.proc.poll() is None:
            process.kill()
        elif process.proc is not None:
            process.wait()
