"""python -m guanxi_common.runner: start, graceful stop bounded by SHUTDOWN_TIMEOUT, and
clear failures. Runs the stand-in service tests/ops/services/opsdummy on the real broker."""
import os
import signal
import subprocess
import time

import pytest
from opshelpers import OPS_SERVICES, ROOT, Lines, ops_env, python  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def start_runner(python, env, service="opsdummy"):
    env = dict(env)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(OPS_SERVICES / service)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    proc = subprocess.Popen([python, "-m", "guanxi_common.runner", service], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return proc, Lines(proc.stdout)


def stop_timed(proc, sig=signal.SIGTERM, timeout=15):
    started = time.monotonic()
    proc.send_signal(sig)
    code = proc.wait(timeout=timeout)
    return code, time.monotonic() - started


@pytest.fixture
def cleanup():
    procs = []
    yield procs.append
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def bad_alembic_ini(tmp_path):
    ini = tmp_path / "alembic.ini"
    ini.write_text(f"[alembic]\nscript_location = {tmp_path / 'missing'}\n")
    return str(ini)


def test_sigterm_stops_an_idle_service_gracefully(python, ops_env, tmp_path, cleanup):
    # MIGRATE_ON_START=false: even a broken alembic.ini is not touched
    ops_env.update(MIGRATE_ON_START="false", OPSDUMMY_ALEMBIC_INI=bad_alembic_ini(tmp_path))
    proc, out = start_runner(python, ops_env)
    cleanup(proc)
    out.wait_for("opsdummy running")
    code, elapsed = stop_timed(proc)
    out.join()
    assert code == 0, out.text()
    assert elapsed < 3, out.text()
    assert "MIGRATE_ON_START is off" in out.text()
    assert "opsdummy stopped" in out.text()


def test_graceful_stop_is_forced_after_shutdown_timeout(python, ops_env, cleanup):
    ops_env["SHUTDOWN_TIMEOUT"] = "2"
    proc, out = start_runner(python, ops_env)
    cleanup(proc)
    out.wait_for("opsdummy running")
    slow = subprocess.Popen(
        [python, "-c", "import urllib.request; urllib.request.urlopen("
                       f"'http://127.0.0.1:{ops_env['OPSDUMMY_HTTP_PORT']}/slow', timeout=30)"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cleanup(slow)
    out.wait_for("slow worker started")
    code, elapsed = stop_timed(proc)
    out.join()
    assert code == 5, out.text()  # forced stop
    shutdown_timeout = 2
    assert shutdown_timeout - 0.2 < elapsed < shutdown_timeout + 1.5, out.text()  # not before
    assert "graceful stop did not finish within 2 s" in out.text()


def test_second_signal_kills_at_once(python, ops_env, cleanup):
    ops_env["SHUTDOWN_TIMEOUT"] = "8"
    proc, out = start_runner(python, ops_env)
    cleanup(proc)
    out.wait_for("opsdummy running")
    slow = subprocess.Popen(
        [python, "-c", "import urllib.request; urllib.request.urlopen("
                       f"'http://127.0.0.1:{ops_env['OPSDUMMY_HTTP_PORT']}/slow', timeout=30)"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cleanup(slow)
    out.wait_for("slow worker started")
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out.wait_for("SIGINT received")
    proc.send_signal(signal.SIGINT)
    code = proc.wait(timeout=10)
    out.join()
    assert code == 5, out.text()
    assert time.monotonic() - started < 3, out.text()


@pytest.mark.parametrize("variable, value, message", [
    ("SHUTDOWN_TIMEOUT", "soon", "SHUTDOWN_TIMEOUT must be a number of seconds"),
    ("LOG_LEVEL", "LOUD", "LOG_LEVEL='LOUD' is not a logging level"),
    ("OPSDUMMY_HTTP_PORT", "eighty", "invalid configuration for opsdummy"),
])
def test_configuration_errors_exit_2_with_a_message(python, ops_env, variable, value, message):
    ops_env[variable] = value
    proc, out = start_runner(python, ops_env)
    code = proc.wait(timeout=20)
    out.join()
    assert code == 2, out.text()
    assert f"guanxi runner: opsdummy: {message}" in out.text()


def test_migration_failure_exits_4(python, ops_env, tmp_path):
    ops_env["OPSDUMMY_ALEMBIC_INI"] = bad_alembic_ini(tmp_path)
    proc, out = start_runner(python, ops_env)
    code = proc.wait(timeout=20)
    out.join()
    assert code == 4, out.text()
    assert "guanxi runner: opsdummy:" in out.text()
    assert "migrations" in out.text().splitlines()[-1]


def test_unknown_service_exits_3(python, ops_env):
    proc, out = start_runner(python, ops_env, service="nosuchservice")
    code = proc.wait(timeout=20)
    out.join()
    assert code == 3, out.text()
    assert "cannot import 'nosuchservice.service'" in out.text()
