"""What gunicorn answers before the app sees a request (a request line or header fields
over its limits, a request that is not HTTP) is problem+json like every other error:
real gunicorn with the gateway's gunicorn.conf.py, raw HTTP over a socket."""
import json
import os
import signal
import socket
import subprocess
import sys

import pytest

from guanxi_common.config import PROJECT_ROOT
from guanxi_common.testing import find_free_port

from test_gateway_gunicorn import wait_for

pytestmark = pytest.mark.slow  # real gunicorn processes


@pytest.fixture(scope="module")
def gunicorn_base(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("gunicorn-limits")
    port = find_free_port()
    env = {**os.environ, "GATEWAY_PORT": str(port), "GATEWAY_METRICS_PORT": "0",
           "AMQP_URI": "amqp://guest:guest@127.0.0.1:1/",
           "GATEWAY_DATABASE_URL": f"sqlite:///{tmp_path / 'gateway.db'}",
           "GUANXI_VAR_DIR": str(tmp_path / "var"), "GATEWAY_JWT_SECRET": "j" * 48,
           "GATEWAY_WORKERS": "1", "GATEWAY_THREADS": "2", "PYTHONUNBUFFERED": "1"}
    for name in ("ADMIN_USERNAME", "ADMIN_PASSWORD", "PROMETHEUS_MULTIPROC_DIR"):
        env.pop(name, None)
    subprocess.run([sys.executable, "-m", "gateway.bootstrap"], env=env, cwd=PROJECT_ROOT,
                   capture_output=True, text=True, timeout=60, check=True)
    log_path = tmp_path / "gunicorn.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "services/gateway/gunicorn.conf.py",
             "gateway.app:create_app()"],
            env=env, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz", proc, log_path)
        yield port
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _raw(port, request):
    """Send ``request`` (bytes), read the answer to the end: (status, headers, body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (h.split(":", 1) for h in header_lines)}
    return int(status_line.split()[1]), headers, body


def _problem(headers, body, status):
    assert headers["content-type"] == "application/problem+json"
    problem = json.loads(body)
    assert problem["status"] == status
    assert problem["type"].startswith("https://") and problem["title"] and problem["detail"]
    return problem


def test_request_line_too_long_is_414_problem_json(gunicorn_base):
    status, headers, body = _raw(gunicorn_base, b"GET /api/v1/customers?q=" + b"x" * 9000
                                 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 414
    assert _problem(headers, body, 414)["code"] == "uri_too_long"


def test_header_field_too_large_is_431_problem_json(gunicorn_base):
    status, headers, body = _raw(gunicorn_base, b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
                                 b"X-Big: " + b"y" * 9000 + b"\r\n\r\n")
    assert status == 431
    assert _problem(headers, body, 431)["code"] == "request_header_fields_too_large"


def test_too_many_header_fields_is_431_problem_json(gunicorn_base):
    fields = b"".join(b"X-F%d: v\r\n" % i for i in range(150))
    status, headers, body = _raw(gunicorn_base,
                                 b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + fields + b"\r\n")
    assert status == 431
    _problem(headers, body, 431)


def test_malformed_request_is_400_problem_json_without_echoing_it(gunicorn_base):
    status, headers, body = _raw(gunicorn_base, b"GET /<script> HTTP/9.9\r\n\r\n")
    assert status == 400
    problem = _problem(headers, body, 400)
    assert "<script>" not in body.decode()
    assert problem["code"] == "bad_request"
