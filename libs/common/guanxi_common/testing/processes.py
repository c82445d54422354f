"""Real processes in tests: a service under ``nameko run``, a child's output read line by
line, whether a pid still runs, a free port to give it."""
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest


def find_free_port(host="127.0.0.1"):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def process_gone(pid):
    """True when ``pid`` no longer runs (a zombie waiting for its reaper counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


class OutputLines:
    """Collects a child's output lines (``stream``: its stdout pipe) in a thread;
    ``wait_for(text)`` polls them."""

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
