"""The gateway part of `make bench` (issue #4): the HTTP API under real gunicorn beside
direct Nameko RPC, at the same concurrency.

Called by bench/run.py while the customer and sales services run as subprocesses on the
bench vhost (the customer service on ``customer-run.db``, the sales service on
``sales-run.db``; see bench/sales_bench.py):

1. A fresh gateway database ``var/bench/gateway-bench.db``: ``python -m gateway.bootstrap``
   (the gateway's migrations and its first admin) with ``GATEWAY_DATABASE_URL`` on it and
   ``ADMIN_USERNAME`` / ``ADMIN_PASSWORD`` = ``bench-admin`` / a random password. The JWT
   secret is a random ``GATEWAY_JWT_SECRET`` of the run, so ``var/gateway-jwt-secret`` of a
   ``make run`` is neither read nor created.
2. The gateway under gunicorn, as ``make run`` starts it:
   ``python -m gunicorn -c services/gateway/gunicorn.conf.py --bind 127.0.0.1:<free port>``
   (``gthread`` workers) with ``GATEWAY_WORKERS`` / ``GATEWAY_THREADS`` from
   ``BENCH_GATEWAY_WORKERS`` / ``BENCH_GATEWAY_THREADS`` (default 2 and 8: the gateway's
   own defaults, one worker process per core), ``GATEWAY_RATE_LIMIT=off`` (the benchmark
   is one principal far above any sane per-user rate), ``AMQP_URI`` on the bench vhost,
   everything else at its default (RPC pool of 16 clients per worker, the JSON access log
   line per request on). Log: ``var/bench/gateway-bench.log``.
   The run waits for ``/readyz`` and logs in once (``POST /api/v1/auth/token``); every
   request then carries that access token, so each one verifies a JWT as a frontend's would.
3. For each client concurrency ``N`` of ``BENCH_GATEWAY_CONCURRENCY`` (default ``4,8``),
   one after the other under the same conditions:

   * ``customer_get_direct_concurrent_N``: ``customer.get(number)`` over Nameko RPC, ``N``
     threads each with its own ``cluster_rpc`` client, rotating over the same 100
     customers as ``customer_get_nameko_*`` (calls/s);
   * ``gateway_get_customer_concurrent_N``: ``GET /api/v1/customers/{number}`` through
     the gateway, ``N`` threads each with its own ``requests.Session`` (keep-alive), the
     same customers; every answer checked for 200. Baseline: the direct figure, goal
     ratio >= 0.7;
   * ``order_place_direct_concurrent_N``: ``sales.place_order`` over RPC as in
     ``order_place_nameko_*`` (orders/s);
   * ``gateway_post_order_concurrent_N``: ``POST /api/v1/orders`` with the same order
     bodies (``sales_bench.order_input``: a buyer of the bench set, its partners, 2-3
     catalogue lines) and an ``Idempotency-Key`` per request; every answer checked for
     201. Baseline: the direct figure.

   * ``gateway_healthz_concurrent_N`` (highest ``N`` only): ``GET /healthz``, no
     authentication, no RPC: what gunicorn and Flask alone cost per request.

   Before them a warm-up at the highest concurrency, so every gunicorn thread and every
   pooled RPC client of both workers is connected before anything is timed.

4. :func:`run_360`, on a gateway of its own: ``GET /api/v1/customers/{number}/360`` (7
   RPC calls fanned out to both services) from ``BENCH_360_CONCURRENCY`` (1) clients,
   ``BENCH_360_SAMPLES`` (200) views per figure: ``gateway_360_all_up_p50/p95`` (ms), then
   the customer service is stopped (its request queue stays, so calls wait for the RPC
   timeout until the circuit opens): ``gateway_360_first_wave_max`` (20 views at once
   meeting closed circuits) and ``gateway_healthz_while_360_waits_max`` (``/healthz``
   polled meanwhile), then, once the circuits are open, ``gateway_360_customer_down_p50/p95``
   (goal: p95 <= 50 ms) with the customer's sections unavailable and the sales ones served.

Each measurement also notes the CPU time (user + system, from ``/proc/<pid>/stat``) the
client process, the gateway's worker processes, the customer or sales service and the
broker spent, per call; ``--cpu`` lines in the run's output say where the time went.
"""
import os
import secrets
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import requests

import dataset
import sales_bench
from concurrency import run_concurrent
from guanxi_common.config import PROJECT_ROOT, env
from guanxi_common.context import Actor
from guanxi_common.rpc import cluster_rpc

GATEWAY_CONF = PROJECT_ROOT / "services" / "gateway" / "gunicorn.conf.py"
GATEWAY_DB = dataset.BENCH_DIR / "gateway-bench.db"
ADMIN_USERNAME = "bench-admin"
WORKERS = env("BENCH_GATEWAY_WORKERS", 2, int)
THREADS = env("BENCH_GATEWAY_THREADS", 8, int)
CONCURRENCIES = tuple(int(n) for n in str(env("BENCH_GATEWAY_CONCURRENCY", "4,8")).split(",")
                      if n.strip())
_TICK = os.sysconf("SC_CLK_TCK")


# ---- CPU accounting ---------------------------------------------------------------------

def _cpu_seconds(pid):
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime


def _children_of(pid):
    try:
        out = []
        for task in Path(f"/proc/{pid}/task").iterdir():
            out += [int(c) for c in (task / "children").read_text().split()]
        return out
    except FileNotFoundError:
        return []


def broker_pid():
    """The local RabbitMQ node's pid (read from /proc; None when the broker is elsewhere)."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "beam.smp":
                    return int(entry.name)
            except OSError:
                continue
    return None


class CpuMeter:
    """CPU seconds spent by named groups of processes between ``start`` and ``stop``."""

    def __init__(self, groups):
        self.groups = groups  # {name: callable returning pids}

    def snapshot(self):
        return {name: sum(_cpu_seconds(p) for p in pids()) for name, pids in self.groups.items()}

    def per_call_ms(self, before, after, calls):
        return {name: (after[name] - before[name]) * 1000 / calls for name in self.groups}


# ---- the gateway process ----------------------------------------------------------------

class Gateway:
    """The gateway under gunicorn on a fresh bench database, logged in as the bench admin."""

    def __init__(self, amqp_uri, start_process, stop_process, port):
        self.port, self._stop_process = port, stop_process
        self.base = f"http://127.0.0.1:{port}"
        password = secrets.token_urlsafe(18)
        dataset._remove(GATEWAY_DB)
        self.env = {
            "GATEWAY_DATABASE_URL": dataset.database_url(GATEWAY_DB),
            "GATEWAY_JWT_SECRET": secrets.token_urlsafe(48),
            "AMQP_URI": amqp_uri,
            "GATEWAY_PORT": str(port),
            "GATEWAY_WORKERS": str(WORKERS),
            "GATEWAY_THREADS": str(THREADS),
            "GATEWAY_RATE_LIMIT": "off",
            "ADMIN_USERNAME": ADMIN_USERNAME,
            "ADMIN_PASSWORD": password,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT / "services" / "gateway"),
                                                         os.environ.get("PYTHONPATH")])),
        }
        subprocess.run([sys.executable, "-m", "gateway.bootstrap"], env=dict(os.environ, **self.env),
                       cwd=PROJECT_ROOT, check=True, stdout=subprocess.DEVNULL)
        self.proc = start_process(
            [sys.executable, "-m", "gunicorn", "-c", str(GATEWAY_CONF), "--bind", f"127.0.0.1:{port}"],
            "gateway-bench.log", {k: v for k, v in self.env.items() if not k.startswith("ADMIN_")})
        self._wait_ready()
        answer = requests.post(f"{self.base}/api/v1/auth/token", timeout=10,
                               json={"username": ADMIN_USERNAME, "password": password})
        answer.raise_for_status()
        self.token = answer.json()["access_token"]

    def _wait_ready(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}; see {self.proc.log.name}")
            try:
                if requests.get(f"{self.base}/readyz", timeout=3).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"the gateway was not ready after {timeout} s; see {self.proc.log.name}")

    def worker_pids(self):
        return _children_of(self.proc.pid)

    def session(self):
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {self.token}"
        return session

    def stop(self):
        self._stop_process(self.proc)


# ---- loops ------------------------------------------------------------------------------

def http_get_loop(session, base, refs, calls, first=0):
    started = time.perf_counter()
    for i in range(first, first + calls):
        answer = session.get(f"{base}/api/v1/customers/{refs[i % len(refs)]}", timeout=30)
        if answer.status_code != 200:
            raise RuntimeError(f"GET customer answered {answer.status_code}: {answer.text[:300]}")
    return time.perf_counter() - started


def http_plain_loop(session, url, calls):
    started = time.perf_counter()
    for _ in range(calls):
        if session.get(url, timeout=30).status_code != 200:
            raise RuntimeError(f"{url} did not answer 200")
    return time.perf_counter() - started


def http_order_loop(session, base, buyers, calls, first=0, outcomes=None):
    started = time.perf_counter()
    for i in range(first, first + calls):
        answer = session.post(f"{base}/api/v1/orders", json=sales_bench.order_input(buyers, i),
                              headers={"Idempotency-Key": uuid.uuid4().hex}, timeout=30)
        if answer.status_code != 201:
            raise RuntimeError(f"POST /orders answered {answer.status_code}: {answer.text[:300]}")
        if outcomes is not None:
            outcome = answer.json()["credit"]["outcome"]
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return time.perf_counter() - started


def rpc_get_loop(proxy, refs, calls, first=0):
    started = time.perf_counter()
    for i in range(first, first + calls):
        proxy.customer.get(refs[i % len(refs)])
    return time.perf_counter() - started


class _RpcClients:
    """``n`` open ``cluster_rpc`` proxies, closed on exit."""

    def __init__(self, amqp_uri, n):
        self.amqp_uri, self.n, self.opened = amqp_uri, n, []

    def __enter__(self):
        for _ in range(self.n):
            client = cluster_rpc(self.amqp_uri, actor=Actor.system(request_id="bench"), timeout=30)
            self.opened.append((client, client.__enter__()))
        return [proxy for _, proxy in self.opened]

    def __exit__(self, *exc):
        for client, _ in self.opened:
            client.__exit__(None, None, None)


# ---- the phase --------------------------------------------------------------------------

def run(amqp_uri, refs, buyers, *, calls, order_calls, pids, start_process, stop_process,
        free_port, say):
    """``[(name, value, unit, baseline)]`` of the gateway phase, plus CPU notes printed.
    ``pids``: {"customer": pid, "sales": pid} of the running services."""
    gateway = Gateway(amqp_uri, start_process, stop_process, free_port())
    broker = broker_pid()
    say(f"  gateway: gunicorn gthread, {WORKERS} workers x {THREADS} threads, port {gateway.port}, "
        f"rate limit off; logged in as {ADMIN_USERNAME}")
    results = []
    try:
        def meter(service):
            groups = {"client": lambda: [os.getpid()], "gateway": gateway.worker_pids,
                      service: lambda: [pids[service]]}
            if broker:
                groups["broker"] = lambda: [broker]
            return CpuMeter(groups)

        top = max(CONCURRENCIES)
        sessions = [gateway.session() for _ in range(top)]
        # warm-up: every gunicorn thread and pooled RPC client of both workers connected
        run_concurrent([lambda n, s=s: http_get_loop(s, gateway.base, refs, n) for s in sessions], 60)
        run_concurrent([lambda n, s=s, k=k: http_order_loop(s, gateway.base, buyers, n, first=k * 7)
                        for k, s in enumerate(sessions)], 5)

        def measured(label, loops, per, service):
            m = meter(service)
            before = m.snapshot()
            value = run_concurrent(loops, per)
            cpu = m.per_call_ms(before, m.snapshot(), per * len(loops))
            say(f"    cpu ms/call {label}: " + ", ".join(f"{k} {v:.2f}" for k, v in cpu.items()))
            return value, cpu

        cpu_notes = {}
        with _RpcClients(amqp_uri, top) as proxies:
            for proxy in proxies:
                rpc_get_loop(proxy, refs, 20)
            for n in CONCURRENCIES:
                per = max(1, calls // n)
                direct, cpu_notes[f"get_direct_{n}"] = measured(
                    f"direct get x{n}", [lambda k, p=p: rpc_get_loop(p, refs, k) for p in proxies[:n]],
                    per, "customer")
                via, cpu_notes[f"get_gateway_{n}"] = measured(
                    f"gateway GET x{n}",
                    [lambda k, s=s, j=j: http_get_loop(s, gateway.base, refs, k, first=j * 13)
                     for j, s in enumerate(sessions[:n])], per, "customer")
                results.append((f"customer_get_direct_concurrent_{n}", direct, "calls/s", None))
                results.append((f"gateway_get_customer_concurrent_{n}", via, "calls/s",
                                f"customer_get_direct_concurrent_{n}"))
            n = top
            per = max(1, calls // n)
            floor, cpu_notes["healthz"] = measured(
                f"gateway /healthz x{n}",
                [lambda k, s=s: http_plain_loop(s, gateway.base + "/healthz", k) for s in sessions[:n]],
                per, "customer")
            results.append((f"gateway_healthz_concurrent_{n}", floor, "calls/s", None))
            outcomes = {}
            first = 100_000  # other order indexes than run.py's
            for n in CONCURRENCIES:
                per = max(1, order_calls // n)
                direct, cpu_notes[f"order_direct_{n}"] = measured(
                    f"direct place_order x{n}",
                    [lambda k, p=p, f=first + j * per: sales_bench.order_loop(p, buyers, k, first=f)
                     for j, p in enumerate(proxies[:n])], per, "sales")
                first += n * per
                via, cpu_notes[f"order_gateway_{n}"] = measured(
                    f"gateway POST /orders x{n}",
                    [lambda k, s=s, f=first + j * per: http_order_loop(s, gateway.base, buyers, k, first=f,
                                                                    outcomes=outcomes)
                     for j, s in enumerate(sessions[:n])], per, "sales")
                first += n * per
                results.append((f"order_place_direct_concurrent_{n}", direct, "orders/s", None))
                results.append((f"gateway_post_order_concurrent_{n}", via, "orders/s",
                                f"order_place_direct_concurrent_{n}"))
            say("    credit outcomes of the gateway orders: "
                + ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())))
        for s in sessions:
            s.close()
    finally:
        gateway.stop()
    return results, cpu_notes


# ---- Customer 360 with a service down ---------------------------------------------------

VIEW_SAMPLES = env("BENCH_360_SAMPLES", 200, int)
VIEW_CONCURRENCY = env("BENCH_360_CONCURRENCY", 1, int)
IN_FLIGHT = 20


def _percentile(values, q):
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, int(round(q / 100 * len(ordered) + 0.5)) - 1))]


def _view_samples(gateway, refs, samples, concurrency, check):
    """Latencies (ms) of ``samples`` ``GET /customers/{n}/360`` from ``concurrency``
    threads; ``check(body)`` must hold for every answer."""
    sessions = [gateway.session() for _ in range(concurrency)]
    times, per = [], max(1, samples // concurrency)

    def loop(session, offset):
        def run(n):
            for i in range(offset, offset + n):
                started = time.perf_counter()
                answer = session.get(f"{gateway.base}/api/v1/customers/{refs[i % len(refs)]}/360",
                                     timeout=30)
                times.append((time.perf_counter() - started) * 1000)
                if answer.status_code != 200 or not check(answer.json()):
                    raise RuntimeError(f"360 answered {answer.status_code}: {answer.text[:300]}")
        return run

    run_concurrent([loop(s, k * 17) for k, s in enumerate(sessions)], per)
    for s in sessions:
        s.close()
    return times


def _whole(body):
    return body["complete"] is True


def _without_customer(body):
    return (body["profile"]["available"] is False and body["open_orders"]["available"]
            and body["receivables"]["available"] and body["recent_activities"]["available"])


def run_360(amqp_uri, refs, *, stop_customer, start_process, stop_process, free_port, say):
    """``[(name, value, unit, baseline)]``: the 360 view with every service up, then with
    the customer service stopped (``stop_customer()``), and ``/healthz`` while 20 views
    wait for the stopped service. The gateway as in :func:`run`, its circuit breakers and
    RPC timeout at their defaults."""
    gateway = Gateway(amqp_uri, start_process, stop_process, free_port())
    say(f"  gateway: {WORKERS} workers x {THREADS} threads; {VIEW_SAMPLES} views per figure, "
        f"{VIEW_CONCURRENCY} clients")
    results = []
    try:
        _view_samples(gateway, refs, 4 * VIEW_CONCURRENCY, VIEW_CONCURRENCY, _whole)  # warm-up
        up = _view_samples(gateway, refs, VIEW_SAMPLES, VIEW_CONCURRENCY, _whole)
        results += [("gateway_360_all_up_p50", _percentile(up, 50), "ms", None),
                    ("gateway_360_all_up_p95", _percentile(up, 95), "ms", None)]

        stop_customer()
        say("  customer service stopped; 20 views at once while its circuits are closed")
        auth = gateway.session().headers
        wave, probes = [], []

        def view(i):
            started = time.perf_counter()
            requests.get(f"{gateway.base}/api/v1/customers/{refs[i]}/360", headers=auth,
                         timeout=60)
            wave.append(time.perf_counter() - started)

        threads = [threading.Thread(target=view, args=(i,)) for i in range(IN_FLIGHT)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        time.sleep(0.5)
        while any(thread.is_alive() for thread in threads):
            probe_started = time.perf_counter()
            requests.get(f"{gateway.base}/healthz", timeout=30)
            probes.append((time.perf_counter() - probe_started) * 1000)
            time.sleep(0.1)
        for thread in threads:
            thread.join()
        say(f"    the 20 views took {min(wave):.2f}-{max(wave):.2f} s "
            f"({time.perf_counter() - started:.2f} s in all); /healthz meanwhile: "
            f"max {max(probes or [0]):.1f} ms over {len(probes)} probes")
        results += [("gateway_360_first_wave_max", max(wave) * 1000, "ms", None),
                    ("gateway_healthz_while_360_waits_max", max(probes or [0]), "ms", None)]

        # every worker's circuit open: views answer at once, a run of them in a row
        deadline, fast = time.monotonic() + 60, 0
        session = gateway.session()
        while fast < 20 and time.monotonic() < deadline:
            view_started = time.perf_counter()
            body = session.get(f"{gateway.base}/api/v1/customers/{refs[0]}/360", timeout=60).json()
            quick = time.perf_counter() - view_started < 0.1 and _without_customer(body)
            fast = fast + 1 if quick else 0
        session.close()
        down = _view_samples(gateway, refs, VIEW_SAMPLES, VIEW_CONCURRENCY, _without_customer)
        results += [("gateway_360_customer_down_p50", _percentile(down, 50), "ms",
                     "gateway_360_all_up_p50"),
                     ("gateway_360_customer_down_p95", _percentile(down, 95), "ms",
                      "gateway_360_all_up_p95")]
    finally:
        gateway.stop()
    return results
