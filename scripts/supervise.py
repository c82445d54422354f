#!/usr/bin/env python3
"""Run every implemented Guanxi service: in the foreground (`make run`) or detached
(`make up` / `make down`). Standard library only; run it with the venv's python.

    supervise.py                 foreground: prefixed logs, Ctrl-C stops everything
    supervise.py --detach        background: logs in var/log/, pids in var/run/,
                                 returns once every service answers /readyz
    supervise.py --stop          stop what --detach started
    supervise.py --status        what is running and ready

A service is implemented when services/<name>/<name>/service.py exists; it is run as
``python -m guanxi_common.runner <name>``. Processes that are not Nameko services (the
gateway under gunicorn) are listed in EXTRA_COMMANDS below.

Each child runs in its own process group. In the foreground, SIGINT/SIGTERM/SIGHUP are
forwarded to every child; whatever is still alive after STOP_TIMEOUT seconds is killed.
If a child ends on its own, the others are stopped and the exit status is 1.
"""
import argparse
import ctypes
import importlib.util
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if importlib.util.find_spec("guanxi_common") is None:
    sys.path.insert(0, str(ROOT / "libs" / "common"))
from guanxi_common.config import VAR_DIR, env, http_host, http_port  # noqa: E402  (stdlib only)

#: Seconds between the stop signal and SIGKILL (keeps Ctrl-C under 10 s in total).
STOP_TIMEOUT = env("SUPERVISE_STOP_TIMEOUT", 9.5, float)
#: Seconds `--detach` waits for every /readyz.
UP_TIMEOUT = env("UP_TIMEOUT", 90.0, float)
LOG_DIR = VAR_DIR / "log"
RUN_DIR = VAR_DIR / "run"
SUPERVISOR_TAG = "supervise"
COLOURS = ["36", "33", "35", "32", "34", "96", "93", "95", "92", "94"]


@dataclass
class ExtraCommand:
    """A process that is not a Nameko service run by guanxi_common.runner."""
    name: str
    #: Started only once this file (relative to the repository root) exists.
    marker: str
    #: argv(python) -> the command line; the process reads its address from the settings.
    argv: object
    #: Text in /proc/<pid>/cmdline that identifies the process for --stop.
    signature: str
    #: Directories (relative to the root) to put on PYTHONPATH.
    pythonpath: list = field(default_factory=list)


#: Hook for extra commands. The gateway is a WSGI app under gunicorn (gthread workers:
#: gunicorn 27 has no eventlet worker), not a Nameko service; its settings are in
#: services/gateway/gunicorn.conf.py, which binds GATEWAY_HOST:GATEWAY_PORT.
EXTRA_COMMANDS = [
    ExtraCommand(
        name="gateway",
        marker="gateway/gunicorn.conf.py",  # relative to the services directory
        argv=lambda python: [
            python, "-m", "gunicorn", "-c", str(ROOT / "services/gateway/gunicorn.conf.py")],
        signature="gunicorn",
        pythonpath=["services/gateway"],
    ),
]


@dataclass
class Proc:
    name: str
    argv: list
    signature: str
    pythonpath: list
    port: int = field(init=False)
    #: Where readiness is checked: the bound address, loopback for a wildcard.
    probe_host: str = field(init=False)

    def __post_init__(self):
        self.port = http_port(self.name)
        host = http_host(self.name)
        self.probe_host = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host

    @property
    def ready_url(self):
        host = f"[{self.probe_host}]" if ":" in self.probe_host else self.probe_host
        return f"http://{host}:{self.port}/readyz"

    def env(self):
        env = dict(os.environ)
        paths = [str(p) for p in self.pythonpath] + [str(ROOT / "libs" / "common")]
        if env.get("PYTHONPATH"):
            paths.append(env["PYTHONPATH"])
        env["PYTHONPATH"] = os.pathsep.join(paths)
        env["PYTHONUNBUFFERED"] = "1"
        return env


def discover(services_dir, only=None):
    """The processes to run: implemented services, then the applicable extra commands."""
    extra_names = {extra.name for extra in EXTRA_COMMANDS}
    procs = []
    for folder in sorted(Path(services_dir).iterdir()):
        name = folder.name
        if name in extra_names or not (folder / name / "service.py").is_file():
            continue
        procs.append(Proc(name, [sys.executable, "-m", "guanxi_common.runner", name],
                          "guanxi_common.runner", [folder.resolve()]))
    for extra in EXTRA_COMMANDS:
        if (Path(services_dir) / extra.marker).is_file():
            procs.append(Proc(extra.name, extra.argv(sys.executable), extra.signature,
                              [ROOT / p for p in extra.pythonpath]))
    if only:
        unknown = set(only) - {p.name for p in procs}
        if unknown:
            raise SystemExit(f"supervise: not implemented here: {', '.join(sorted(unknown))}")
        procs = [p for p in procs if p.name in only]
    return procs


# -- output ---------------------------------------------------------------------------

class Output:
    """Writes whole lines to stdout with a coloured, padded [name] tag."""

    def __init__(self, names):
        self.width = max(len(n) for n in list(names) + [SUPERVISOR_TAG]) + 2
        self.lock = threading.Lock()
        force = env("FORCE_COLOR", "0") != "0"
        self.colour = (force or sys.stdout.isatty()) and env("NO_COLOR") is None
        self.colours = {name: COLOURS[i % len(COLOURS)] for i, name in enumerate(names)}
        self.colours[SUPERVISOR_TAG] = "1"

    def tag(self, name):
        text = f"[{name}]".ljust(self.width)
        if self.colour:
            return f"\033[{self.colours.get(name, '0')}m{text}\033[0m "
        return text + " "

    def line(self, name, data):
        if isinstance(data, str):
            data = data.encode("utf-8", "replace")
        if not data.endswith(b"\n"):
            data += b"\n"
        with self.lock:
            sys.stdout.buffer.write(self.tag(name).encode() + data)
            sys.stdout.buffer.flush()

    def say(self, text):
        self.line(SUPERVISOR_TAG, text)


def pump(stream, name, output):
    for raw in iter(stream.readline, b""):
        output.line(name, raw)
    stream.close()


# -- processes ------------------------------------------------------------------------

def _die_with_parent():
    """In the child: get SIGTERM if the supervisor itself dies (Linux)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def signal_group(pid, sig):
    """Send ``sig`` to the process group led by ``pid``; False if it is gone."""
    try:
        os.killpg(pid, sig)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        try:
            os.kill(pid, sig)
            return True
        except ProcessLookupError:
            return False


def ready(proc, timeout=1.0):
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(proc.ready_url, timeout=timeout) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def check_python():
    if importlib.util.find_spec("nameko") is None:
        raise SystemExit(
            f"supervise: nameko is not importable with {sys.executable}; "
            "run this with the project's virtualenv (.venv/bin/python, made by `make venv`)")


# -- foreground -----------------------------------------------------------------------

def run_foreground(procs):
    output = Output([p.name for p in procs])
    requested = []

    def on_signal(signum, frame):
        requested.append(signum)

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)

    children = {}
    for proc in procs:
        children[proc.name] = subprocess.Popen(
            proc.argv, cwd=ROOT, env=proc.env(), stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            start_new_session=True, preexec_fn=_die_with_parent)
    readers = []
    for proc in procs:
        child = children[proc.name]
        output.say(f"started {proc.name} (pid {child.pid}): {' '.join(proc.argv[1:])}")
        reader = threading.Thread(target=pump, args=(child.stdout, proc.name, output),
                                  daemon=True)
        reader.start()
        readers.append(reader)

    stopping = threading.Event()

    def announce_ready():
        waiting = {p.name: p for p in procs}
        while waiting and not stopping.is_set():
            for name, proc in list(waiting.items()):
                if children[name].poll() is None and ready(proc, timeout=0.5):
                    output.say(f"{name} ready: {proc.ready_url}  /metrics")
                    del waiting[name]
            stopping.wait(0.5)
        if not waiting:
            output.say("all services ready; Ctrl-C stops them")

    threading.Thread(target=announce_ready, daemon=True).start()

    failed = None
    deadline = None
    killed = False
    handled = 0
    exited = set()
    while True:
        if len(requested) > handled:
            sig = requested[handled]
            handled += 1
            if deadline is None:
                deadline = time.monotonic() + STOP_TIMEOUT
                stopping.set()
                output.say(f"{signal.Signals(sig).name}: stopping "
                           f"{', '.join(n for n in children if n not in exited)} "
                           f"(at most {STOP_TIMEOUT:g} s)")
            for name, child in children.items():
                if child.poll() is None:
                    signal_group(child.pid, sig)
        for name, child in children.items():
            code = child.poll()
            if code is None or name in exited:
                continue
            exited.add(name)
            if deadline is None:
                failed = name
                deadline = time.monotonic() + STOP_TIMEOUT
                stopping.set()
                others = [n for n in children if n not in exited]
                output.say(f"{name} exited unexpectedly (code {code})"
                           + (f"; stopping {', '.join(others)}" if others else ""))
                for other in others:
                    signal_group(children[other].pid, signal.SIGTERM)
            else:
                output.say(f"{name} stopped (code {code})")
        if len(exited) == len(children):
            break
        if deadline is not None and not killed and time.monotonic() > deadline:
            killed = True
            for name, child in children.items():
                if child.poll() is None:
                    output.say(f"{name} did not stop within {STOP_TIMEOUT:g} s: SIGKILL")
                    signal_group(child.pid, signal.SIGKILL)
        time.sleep(0.05)

    for reader in readers:
        reader.join(timeout=1.0)
    if failed:
        output.say(f"stopped because {failed} died")
        return 1
    return 0


# -- detached -------------------------------------------------------------------------

def pidfile(name):
    return RUN_DIR / f"{name}.pid"


def read_pid(name):
    try:
        return int(pidfile(name).read_text().strip())
    except (OSError, ValueError):
        return None


def alive(pid, signature=None):
    """Whether ``pid`` runs (not a zombie) and, where /proc tells, is ours."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    proc = Path(f"/proc/{pid}")
    if not proc.exists():
        return True
    try:
        stat = (proc / "stat").read_text()
        if stat.rsplit(")", 1)[1].split()[0] in ("Z", "X"):
            return False
        if signature:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            return signature in cmdline
    except (OSError, IndexError):
        return False
    return True


def tail(path, lines=40):
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(f.tell() - 64 * 1024, 0))
            data = f.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(data[-lines:])


def up(procs, timeout):
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    started = {}
    for proc in procs:
        pid = read_pid(proc.name)
        if pid and alive(pid, proc.signature):
            print(f"{proc.name}: already running (pid {pid})")
            continue
        log_path = LOG_DIR / f"{proc.name}.log"
        with open(log_path, "ab") as log_file:
            log_file.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} starting {proc.name}\n".encode())
            log_file.flush()
            child = subprocess.Popen(
                proc.argv, cwd=ROOT, env=proc.env(), stdin=subprocess.DEVNULL,
                stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)
        pidfile(proc.name).write_text(f"{child.pid}\n")
        started[proc.name] = child
        print(f"{proc.name}: started (pid {child.pid}), log {log_path}")

    def fail(proc, why):
        log_path = LOG_DIR / f"{proc.name}.log"
        print(f"{proc.name}: {why}\n--- last lines of {log_path}:\n{tail(log_path)}\n---",
              file=sys.stderr)
        stop([p for p in procs if p.name in started])
        return 1

    pending = {p.name: p for p in procs}
    deadline = time.monotonic() + timeout
    while pending:
        for name, proc in list(pending.items()):
            child = started.get(name)
            if child is not None and child.poll() is not None:
                return fail(proc, f"exited with code {child.returncode} before it was ready")
            if child is None and not alive(read_pid(name) or 0, proc.signature):
                return fail(proc, "is no longer running")
            if ready(proc):
                print(f"{name}: ready on {proc.ready_url}")
                del pending[name]
        if pending and time.monotonic() > deadline:
            proc = next(iter(pending.values()))
            return fail(proc, f"not ready after {timeout:g} s "
                              f"({proc.ready_url})")
        if pending:
            time.sleep(0.25)
    print(f"all up: {', '.join(p.name for p in procs)}; `make down` stops them")
    return 0


def stop(procs=None, timeout=None):
    """SIGTERM every recorded process (or those of ``procs``), SIGKILL after the timeout."""
    timeout = STOP_TIMEOUT if timeout is None else timeout
    signatures = {p.name: p.signature for p in procs or []}
    if procs is None:
        names = sorted(f.stem for f in RUN_DIR.glob("*.pid")) if RUN_DIR.is_dir() else []
    else:
        names = [p.name for p in procs]
    running = {}
    for name in names:
        pid = read_pid(name)
        signature = signatures.get(name) or (
            "gunicorn" if name in {e.name for e in EXTRA_COMMANDS} else "guanxi_common.runner")
        if pid and alive(pid, signature):
            signal_group(pid, signal.SIGTERM)
            running[name] = (pid, signature)
            print(f"{name}: stopping (pid {pid})")
        else:
            print(f"{name}: not running")
    deadline = time.monotonic() + timeout
    while running and time.monotonic() < deadline:
        for name, (pid, signature) in list(running.items()):
            if not alive(pid, signature):
                print(f"{name}: stopped")
                del running[name]
        time.sleep(0.1)
    for name, (pid, signature) in running.items():
        print(f"{name}: did not stop within {timeout:g} s: SIGKILL")
        signal_group(pid, signal.SIGKILL)
    for name in names:
        try:
            pidfile(name).unlink()
        except FileNotFoundError:
            pass
    return 0


def status(procs):
    for proc in procs:
        pid = read_pid(proc.name)
        running = bool(pid) and alive(pid, proc.signature)
        state = ("ready" if ready(proc) else "not ready") if running else "stopped"
        print(f"{proc.name:<14} {state:<10} pid {pid if running else '-':<8} port {proc.port}")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--detach", action="store_true",
                      help="start in the background and wait until every /readyz answers 200")
    mode.add_argument("--stop", action="store_true", help="stop what --detach started")
    mode.add_argument("--status", action="store_true", help="show what is running")
    parser.add_argument("--only", action="append", default=[], metavar="NAME[,NAME]",
                        help="run only these services")
    parser.add_argument("--services-dir", default=str(ROOT / "services"),
                        help="where services/<name>/<name>/service.py are found")
    parser.add_argument("--timeout", type=float, default=UP_TIMEOUT,
                        help="seconds --detach waits for readiness (default %(default)s)")
    args = parser.parse_args(argv)
    only = {n.strip() for item in args.only for n in item.split(",") if n.strip()}

    if args.stop:
        procs = discover(args.services_dir, only) if only else None
        return stop(procs)
    procs = discover(args.services_dir, only)
    if args.status:
        return status(procs)
    if not procs:
        print(f"supervise: no implemented service under {args.services_dir}", file=sys.stderr)
        return 2
    check_python()
    if args.detach:
        return up(procs, args.timeout)
    return run_foreground(procs)


if __name__ == "__main__":
    sys.exit(main())
