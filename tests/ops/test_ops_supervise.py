"""scripts/supervise.py with stand-in Nameko services on the real broker."""
import re
import signal
import socket
import subprocess
import time
import urllib.request

import pytest
from opshelpers import (  # noqa: F401 (fixtures)
    OPS_SERVICES, ROOT, SUPERVISE, Lines, free_port, ops_env, process_gone, python)

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def start_supervise(python, env, *args):
    proc = subprocess.Popen(
        [python, str(SUPERVISE), "--services-dir", str(OPS_SERVICES), *args],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return proc, Lines(proc.stdout)


def child_pids(lines):
    return {m.group(1): int(m.group(2)) for m in
            (re.search(r"started (\w+) \(pid (\d+)\)", line) for line in lines.lines) if m}


def wait_gone(pids, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not all(process_gone(p) for p in pids):
        time.sleep(0.05)
    return [p for p in pids if not process_gone(p)]


def get(port, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as response:
        return response.status


def test_foreground_prefixes_output_and_sigint_stops_everything(python, ops_env):
    proc, out = start_supervise(python, ops_env, "--only", "opsdummy")
    try:
        out.wait_for("opsdummy ready")
        assert get(ops_env["OPSDUMMY_HTTP_PORT"], "/readyz") == 200
        # the service's own log lines carry the padded tag
        out.wait_for("opsdummy running")
        assert any(re.match(r"^\[opsdummy\] +\S", line) and "opsdummy running" in line
                   for line in out.lines), out.text()
        pids = list(child_pids(out).values())
        assert len(pids) == 1

        started = time.monotonic()
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=12)
        elapsed = time.monotonic() - started
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    out.join()
    assert code == 0, out.text()
    assert elapsed < 10, out.text()
    assert wait_gone(pids, 1) == []
    assert "SIGINT: stopping opsdummy" in out.text()
    assert any(line.startswith("[opsdummy]") and "SIGINT received" in line
               for line in out.lines), out.text()


def test_sigint_forces_a_hung_worker_within_the_limit(python, ops_env):
    proc, out = start_supervise(python, ops_env, "--only", "opsdummy")
    try:
        out.wait_for("opsdummy ready")
        port = ops_env["OPSDUMMY_HTTP_PORT"]
        slow = subprocess.Popen(
            [python, "-c", f"import urllib.request; urllib.request.urlopen("
                           f"'http://127.0.0.1:{port}/slow', timeout=30)"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        out.wait_for("slow worker started")
        started = time.monotonic()
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=12)
        elapsed = time.monotonic() - started
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        slow.kill()
        slow.wait()
    out.join()
    assert code == 0, out.text()
    # SHUTDOWN_TIMEOUT=3: the runner kills the worker after 3 s, well under 10 s
    assert 2.5 < elapsed < 10, out.text()
    assert "graceful stop did not finish within 3 s" in out.text()
    assert wait_gone(list(child_pids(out).values()), 1) == []


def test_a_crashing_child_stops_the_others_with_non_zero_exit(python, ops_env):
    ops_env["OPSCRASH_AFTER"] = "2"
    proc, out = start_supervise(python, ops_env)
    try:
        code = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    out.join()
    text = out.text()
    assert code == 1, text
    assert "opscrash exited unexpectedly (code 3); stopping opsdummy" in text
    assert "[opscrash]" in text and "crashing on purpose" in text
    assert "opsdummy stopped" in text
    pids = child_pids(out)
    assert set(pids) == {"opscrash", "opsdummy"}
    assert wait_gone(pids.values(), 1) == []


def test_detach_waits_for_readyz_and_stop_cleans_up(python, ops_env, tmp_path):
    var = tmp_path / "var"
    up = subprocess.run(
        [python, str(SUPERVISE), "--services-dir", str(OPS_SERVICES), "--only", "opsdummy",
         "--detach", "--timeout", "30"],
        cwd=ROOT, env=ops_env, capture_output=True, text=True, timeout=40)
    pidfile = var / "run" / "opsdummy.pid"
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        assert "opsdummy: ready" in up.stdout
        # returned only once /readyz answered
        assert get(ops_env["OPSDUMMY_HTTP_PORT"], "/readyz") == 200
        pid = int(pidfile.read_text())
        assert not process_gone(pid)
        assert "opsdummy running" in (var / "log" / "opsdummy.log").read_text()

        again = subprocess.run(
            [python, str(SUPERVISE), "--services-dir", str(OPS_SERVICES), "--only",
             "opsdummy", "--detach"],
            cwd=ROOT, env=ops_env, capture_output=True, text=True, timeout=40)
        assert again.returncode == 0, again.stdout + again.stderr
        assert "already running" in again.stdout
    finally:
        down = subprocess.run([python, str(SUPERVISE), "--stop"], cwd=ROOT, env=ops_env,
                              capture_output=True, text=True, timeout=20)
    assert down.returncode == 0, down.stdout + down.stderr
    assert "opsdummy: stopped" in down.stdout
    assert not pidfile.exists()
    assert wait_gone([pid], 1) == []


def test_detach_fails_with_the_log_tail_when_a_service_dies(python, ops_env, tmp_path):
    ops_env["OPSCRASH_AFTER"] = "0.5"
    up = subprocess.run(
        [python, str(SUPERVISE), "--services-dir", str(OPS_SERVICES), "--only", "opscrash",
         "--detach", "--timeout", "30"],
        cwd=ROOT, env=ops_env, capture_output=True, text=True, timeout=40)
    assert up.returncode == 1, up.stdout + up.stderr
    assert "opscrash: exited with code 3 before it was ready" in up.stderr
    assert "crashing on purpose" in up.stderr  # the tail of var/log/opscrash.log
    assert not (tmp_path / "var" / "run" / "opscrash.pid").exists()


def refused(host, port):
    try:
        socket.create_connection((host, port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


def test_detach_binds_and_checks_the_gateway_on_gateway_host_and_port(python, ops_env):
    """GATEWAY_PORT and GATEWAY_HOST are the gateway's only address settings: the
    supervisor waits on that port and gunicorn binds that address, nothing else."""
    port = free_port()
    ops_env.update({"GATEWAY_PORT": str(port), "GATEWAY_HOST": "127.0.0.1",
                    "GATEWAY_WORKERS": "1", "GATEWAY_HTTP_PORT": str(free_port())})
    up = subprocess.run(
        [python, str(SUPERVISE), "--only", "gateway", "--detach", "--timeout", "40"],
        cwd=ROOT, env=ops_env, capture_output=True, text=True, timeout=50)
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        assert f"gateway: ready on http://127.0.0.1:{port}/readyz" in up.stdout
        assert get(port, "/readyz") == 200
        # bound to 127.0.0.1 only: another loopback address is refused
        assert refused("127.0.0.2", port)
        assert refused("127.0.0.1", int(ops_env["GATEWAY_HTTP_PORT"]))
    finally:
        down = subprocess.run([python, str(SUPERVISE), "--stop"], cwd=ROOT, env=ops_env,
                              capture_output=True, text=True, timeout=20)
    assert down.returncode == 0, down.stdout + down.stderr
