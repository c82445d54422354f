"""Helpers for tests/gateway_service/test_gateway_e2e.py: the gateway under REAL gunicorn
(a subprocess: gthread, 1 worker x 4 threads, a free port, its own SQLite database, demo
users made by ``python -m gateway.bootstrap --demo-users``), a cuttable TCP proxy in front
of the broker for the gateway only, and a small ``requests`` client with a login per user.
"""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from guanxi_common.config import PROJECT_ROOT
from guanxi_common.unit_of_work import session_scope
from guanxi_common.testing import find_free_port

JWT_SECRET = "e2e-" + "k" * 44
ADMIN_PASSWORD = "e2e-admin-password"
PROBLEM = "application/problem+json"
#: Users made beside the demo users: ``{username: (password, roles, region)}``.
EXTRA_USERS = {
    "e2e_rep2": ("e2e-rep2-password", ["sales_rep"], "广东"),
    "e2e_north_manager": ("e2e-north-password", ["sales_manager"], "北京"),
}
GRACEFUL_TIMEOUT = 3


def demo_password(role):
    return f"demo-{role}-pw"


def password_of(username):
    if username == "admin":
        return ADMIN_PASSWORD
    if username in EXTRA_USERS:
        return EXTRA_USERS[username][0]
    return demo_password(username[len("demo_"):])


class GunicornGateway:
    """``python -m gateway.bootstrap --demo-users`` then gunicorn, both with ``env``."""

    def __init__(self, workdir, amqp_uri, **env):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = find_free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.db_url = f"sqlite:///{self.workdir / 'gateway.db'}"
        self.log_path = self.workdir / "gunicorn.log"
        self.env = {**os.environ, "GATEWAY_PORT": str(self.port), "GATEWAY_HOST": "127.0.0.1",
                    "AMQP_URI": amqp_uri, "GATEWAY_DATABASE_URL": self.db_url,
                    "GUANXI_VAR_DIR": str(self.workdir / "var"),
                    "GATEWAY_JWT_SECRET": JWT_SECRET, "ADMIN_USERNAME": "admin",
                    "ADMIN_PASSWORD": ADMIN_PASSWORD, "GATEWAY_WORKERS": "1",
                    "GATEWAY_THREADS": "4", "GATEWAY_GRACEFUL_TIMEOUT": str(GRACEFUL_TIMEOUT),
                    "GATEWAY_RATE_LIMIT": "off", "RPC_TIMEOUT": "4",
                    "GATEWAY_RPC_CONNECT_TIMEOUT": "1", "READY_CHECK_TIMEOUT": "1",
                    "GATEWAY_ACCESS_LOG": "false", "PYTHONUNBUFFERED": "1"}
        self.env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        self.env.update({key: str(value) for key, value in env.items()})
        self.proc = None
        self.user_ids = {}

    def start(self, timeout=30):
        made = subprocess.run([sys.executable, "-m", "gateway.bootstrap", "--demo-users"],
                              env=self.env, cwd=PROJECT_ROOT, capture_output=True, text=True,
                              timeout=60)
        assert made.returncode == 0, made.stderr
        assert "demo_sales_rep" in made.stdout, made.stdout
        from gateway import users
        from gateway.models import User
        with session_scope(self.db_url, service_name="gateway") as uow:
            for name, (password, roles, region) in EXTRA_USERS.items():
                users.create_user(uow.session, name, password, roles, region=region)
            self.user_ids = {user.username: user.id for user in uow.session.query(User)}
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", "services/gateway/gunicorn.conf.py",
                 "gateway.app:create_app()"],
                env=self.env, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"gunicorn exited {self.proc.returncode}:\n{self.log()}")
            try:
                if requests.get(self.base + "/healthz", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise AssertionError(f"gunicorn not up after {timeout} s:\n{self.log()}")

    def log(self):
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except FileNotFoundError:
            return ""

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(GRACEFUL_TIMEOUT + 5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def client(self):
        return Client(self.base)


class Client:
    """``requests`` against the gateway, a login per username made on first use."""

    def __init__(self, base):
        self.base = base
        self.session = requests.Session()
        self.tokens = {}

    def login(self, username, password=None):
        answer = self.session.post(self.base + "/api/v1/auth/token", timeout=10, json={
            "username": username, "password": password or password_of(username)})
        assert answer.status_code == 200, answer.text
        return answer.json()

    def token(self, username):
        if username not in self.tokens:
            self.tokens[username] = self.login(username)["access_token"]
        return self.tokens[username]

    def call(self, method, username, path, headers=None, timeout=15, **kwargs):
        auth = {"Authorization": f"Bearer {self.token(username)}"} if username else {}
        return self.session.request(method, self.base + "/api/v1" + path, timeout=timeout,
                                    headers={**auth, **(headers or {})}, **kwargs)

    def ok(self, method, username, path, status=200, **kwargs):
        response = self.call(method, username, path, **kwargs)
        assert response.status_code == status, (method, path, username, response.text)
        if status == 204:
            return None
        assert response.headers["Content-Type"].startswith("application/json"), response.headers
        return response.json()


def assert_problem(response, status, code=None):
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["Content-Type"] == PROBLEM, response.headers
    body = response.json()
    assert body["status"] == status
    if code is not None:
        assert body["code"] == code, body
    return body


def company(name, province="广东", **extra):
    return {"party_type": "company", "name": name, "province": province, **extra}
