"""The gateway as it runs: ``python -m gateway.bootstrap`` then real gunicorn (gthread,
not eventlet-patched) on a free port, logged into over real HTTP, ready with the test
vhost's broker, stopped by SIGTERM within its graceful timeout."""
import os
import re
import signal
import subprocess
import sys
import time

import requests

from guanxi_common.config import PROJECT_ROOT
from guanxi_common.testing import find_free_port

GRACEFUL_TIMEOUT = 5


def wait_for(url, proc, log_path, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"gunicorn exited {proc.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} not up after {timeout} s:\n{log_path.read_text()[-3000:]}")


def test_gateway_under_gunicorn(amqp_uri, tmp_path):
    port, metrics_port = find_free_port(), find_free_port()
    env = {**os.environ, "GATEWAY_PORT": str(port), "AMQP_URI": amqp_uri,
           "GATEWAY_METRICS_PORT": str(metrics_port),
           "GATEWAY_DATABASE_URL": f"sqlite:///{tmp_path / 'gateway.db'}",
           "GUANXI_VAR_DIR": str(tmp_path / "var"), "GATEWAY_JWT_SECRET": "j" * 48,
           "GATEWAY_WORKERS": "2", "GATEWAY_THREADS": "4",
           "GATEWAY_GRACEFUL_TIMEOUT": str(GRACEFUL_TIMEOUT), "PYTHONUNBUFFERED": "1"}
    for name in ("ADMIN_USERNAME", "ADMIN_PASSWORD", "PROMETHEUS_MULTIPROC_DIR"):
        env.pop(name, None)

    first = subprocess.run([sys.executable, "-m", "gateway.bootstrap"], env=env, cwd=PROJECT_ROOT,
                           capture_output=True, text=True, timeout=60)
    assert first.returncode == 0, first.stderr
    password = re.search(r"password '([^']+)'", first.stdout).group(1)
    assert f"http://127.0.0.1:{port}/api/v1" in first.stdout
    again = subprocess.run([sys.executable, "-m", "gateway.bootstrap"], env=env, cwd=PROJECT_ROOT,
                           capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and "password" not in again.stdout

    log_path = tmp_path / "gunicorn.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "services/gateway/gunicorn.conf.py",
             "gateway.app:create_app()"],
            env=env, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(base + "/healthz", proc, log_path)
        tokens = requests.post(base + "/api/v1/auth/token", timeout=10,
                               json={"username": "admin", "password": password})
        assert tokens.status_code == 200, tokens.text
        me = requests.get(base + "/api/v1/auth/me", timeout=10, headers={
            "Authorization": f"Bearer {tokens.json()['access_token']}", "X-Request-ID": "e2e-1"})
        assert me.status_code == 200 and me.json()["username"] == "admin"
        assert me.headers["X-Request-ID"] == "e2e-1"
        ready = requests.get(base + "/readyz", timeout=10)
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"] == {"database": "ok", "broker": "ok"}
        refused = requests.get(base + "/api/v1/auth/me", timeout=10,
                               headers={"Authorization": "Bearer nope"})
        assert refused.status_code == 401
        assert refused.headers["Content-Type"] == "application/problem+json"
        # metrics only on the internal port, added up over both workers by the master
        assert requests.get(base + "/metrics", timeout=10).status_code == 404
        metrics = requests.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).text
        assert 'route="/api/v1/auth/token",status="200"' in metrics
        log_text = log_path.read_text()
        assert '"request_id": "e2e-1"' in log_text and "eventlet" not in log_text.lower()
    finally:
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(GRACEFUL_TIMEOUT + 5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise
    assert code == 0, log_path.read_text()[-3000:]
    assert time.monotonic() - started < GRACEFUL_TIMEOUT + 2
