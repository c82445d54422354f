"""Helpers and fixtures for the ops tests: stand-in services under tests/ops/services/,
run as real processes by scripts/supervise.py and guanxi_common.runner against a
throwaway vhost. Imported by name (a tests/ops/conftest.py would replace the module that
other test directories reach with `from conftest import ...`)."""
import os
import socket
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OPS_SERVICES = Path(__file__).resolve().parent / "services"
SUPERVISE = ROOT / "scripts" / "supervise.py"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def process_gone(pid):
    """True when ``pid`` no longer runs (a zombie waiting for its reaper counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


class Lines:
    """Collects a child's output lines in a thread; ``wait_for`` polls them."""

    def __init__(self, stream):
        self.lines = []
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream):
        for raw in iter(stream.readline, b""):
            self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))

    def wait_for(self, text, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in line for line in self.lines):
                return
            time.sleep(0.05)
        raise AssertionError(f"{text!r} not in output after {timeout} s:\n" + self.text())

    def join(self, timeout=5):
        self._thread.join(timeout)

    def text(self):
        return "\n".join(self.lines)


@pytest.fixture
def ops_env(rabbit_config, tmp_path):
    """Environment for stand-in service processes: own vhost, own var/, free ports."""
    env = dict(os.environ)
    env.update({
        "AMQP_URI": rabbit_config["AMQP_URI"],
        "GUANXI_VAR_DIR": str(tmp_path / "var"),
        "OPSDUMMY_HTTP_PORT": str(free_port()),
        "OPSCRASH_HTTP_PORT": str(free_port()),
        "SHUTDOWN_TIMEOUT": "3",
        "LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
    })
    env.pop("FORCE_COLOR", None)
    return env


@pytest.fixture
def python():
    return sys.executable
