"""`make bench`: RPC round trips and search latency, printed and written to bench/results.json.

One run measures:

a. ``rpc_echo_pika``: a raw pika request/reply echo (server in its own process, one
   client doing sequential calls with reply_to + correlation_id) — the baseline;
b. ``customer_get_nameko``: the customer service's ``get`` over Nameko RPC from one
   sequential ``cluster_rpc`` client, the same number of calls (goal: >= 0.5 x a), plus
   ``customer_ping_nameko`` (the chassis' no-op ``ping``: the framework's own cost) and
   both a and b with ``BENCH_CONCURRENCY`` (default 4) concurrent clients;
c. ``customer.search`` latency (p50, p95 in ms) at 10,000 and 1,000,000 customers for a
   fixed mix of queries (goal: p95 at 1M <= 3 x p95 at 10k), overall and per query;
d. ``order_place_nameko``: orders per second placed with ``sales.place_order`` over Nameko
   RPC (each priced, credit-checked against the payer's exposure and stored with its
   outbox events), sequential and with ``BENCH_CONCURRENCY`` clients, against the raw
   echo of a;
e. ``event_propagation_customer_to_sales`` (p50, p95 in ms): from ``customer.update``
   returning to the sales replica having applied the ``customer.updated`` event, beside
   ``broker_publish_consume`` (p50, p95 in ms): a raw pika publish-to-consume on the same
   broker in the same run (how both are measured: bench/sales_bench.py);
f. the gateway (issue #4) under gunicorn beside the same services:
   ``GET /api/v1/customers/{number}`` against direct RPC ``get`` and ``POST /api/v1/orders``
   against direct ``place_order``, at the same client concurrency (``BENCH_GATEWAY_CONCURRENCY``,
   default 4 and 8; goal: the gateway's GET >= 0.7 x direct; bench/gateway_bench.py);
g. the Customer 360 view through the gateway with every service up, then with the customer
   service stopped once its circuit breakers are open (goal: p95 <= 50 ms), and ``/healthz``
   while 20 views wait for the stopped service (``gateway_bench.run_360``).

The customer service runs as a real subprocess (``python -m guanxi_common.runner customer``)
on a benchmark database under var/bench/ (built once by bench/dataset.py and cached) and a
dedicated vhost ``guanxi-bench`` (created through the management API; the default vhost
when the API does not answer), so a `make run` on the same broker is not disturbed. For d
and e the sales service runs beside it (``python -m guanxi_common.runner sales``), on a copy
of a cached sales database whose replica holds the 10k benchmark customers and whose
catalogue is the demo's (bench/sales_bench.py), and the customer service on a copy of the
10k database (the updates of e would otherwise change the cache).

``BENCH_QUICK=1``: a smoke run (10k and 100k customers, fewer calls and samples).
``BENCH_ONLY=search``: only c (its figures go to var/bench/results-search.json).
``BENCH_ONLY=gateway_360``: only g, on the 10k databases (var/bench/results-gateway-360.json).
Results: a list of ``{"name", "value", "unit", "baseline", "ratio"}``; ``baseline`` names
the metric the value is compared with and ``ratio`` = value / baseline value.
"""
import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from pathlib import Path  # noqa: E402
from urllib.parse import quote, urlsplit, urlunsplit  # noqa: E402

import requests  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import dataset  # noqa: E402
import echo  # noqa: E402
import gateway_bench  # noqa: E402
import sales_bench  # noqa: E402
from concurrency import run_concurrent  # noqa: E402
from customer.tools import demo  # noqa: E402
from guanxi_common.config import DEFAULT_AMQP_URI, env  # noqa: E402
from guanxi_common.context import Actor  # noqa: E402
from guanxi_common.rpc import cluster_rpc  # noqa: E402

QUICK = env("BENCH_QUICK", False, bool)
SIZES = (10_000, 100_000) if QUICK else (10_000, 1_000_000)
CALLS = env("BENCH_CALLS", 300 if QUICK else 2000, int)
CONCURRENCY = env("BENCH_CONCURRENCY", 4, int)
SEARCH_ROUNDS = env("BENCH_SEARCH_ROUNDS", 20 if QUICK else 40, int)
SEARCH_WARMUP_ROUNDS = 3
ONLY = env("BENCH_ONLY", "")
ORDER_CALLS = env("BENCH_ORDER_CALLS", 200 if QUICK else 1000, int)
PROPAGATION_SAMPLES = env("BENCH_PROPAGATION_SAMPLES", 50 if QUICK else 300, int)
BROKER_SAMPLES = env("BENCH_BROKER_SAMPLES", 300 if QUICK else 1000, int)
VHOST = "guanxi-bench"
RESULTS = HERE / "results.json"
LOG_DIR = dataset.BENCH_DIR

_children = []


def say(text=""):
    print(text, flush=True)


def label(count):
    return f"{count // 1_000_000}m" if count % 1_000_000 == 0 else f"{count // 1000}k"


# ---- broker ------------------------------------------------------------------------------------

def bench_amqp_uri():
    """AMQP URI on the dedicated vhost, created via the management API (or the default one)."""
    base = env("AMQP_URI", DEFAULT_AMQP_URI)
    api = env("RABBIT_API_URI", "http://guest:guest@127.0.0.1:15672").rstrip("/")
    parts = urlsplit(api)
    auth = (parts.username or "guest", parts.password or "guest")
    api_base = urlunsplit(parts._replace(netloc=parts.hostname + (f":{parts.port}" if parts.port else "")))
    user = urlsplit(base).username or "guest"
    try:
        r = requests.put(f"{api_base}/api/vhosts/{quote(VHOST, safe='')}", auth=auth, timeout=5)
        r.raise_for_status()
        r = requests.put(f"{api_base}/api/permissions/{quote(VHOST, safe='')}/{quote(user, safe='')}",
                         json={"configure": ".*", "write": ".*", "read": ".*"}, auth=auth, timeout=5)
        r.raise_for_status()
    except requests.RequestException as exc:
        say(f"  management API unavailable ({exc}); using the default vhost")
        return base
    return urlunsplit(urlsplit(base)._replace(path="/" + quote(VHOST, safe="")))


def broker_version():
    api = env("RABBIT_API_URI", "http://guest:guest@127.0.0.1:15672").rstrip("/")
    parts = urlsplit(api)
    try:
        r = requests.get(urlunsplit(parts._replace(netloc=f"{parts.hostname}:{parts.port or 15672}"))
                         + "/api/overview", auth=(parts.username, parts.password), timeout=5)
        return r.json().get("rabbitmq_version")
    except (requests.RequestException, ValueError):
        return None


# ---- processes ---------------------------------------------------------------------------------

def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_process(argv, log_name, extra_env=None):
    env_vars = dict(os.environ, PYTHONUNBUFFERED="1", **(extra_env or {}))
    log = open(LOG_DIR / log_name, "wb")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env_vars, cwd=ROOT,
                            start_new_session=True)
    proc.log = log
    _children.append(proc)
    return proc


def stop_process(proc, timeout=15):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    proc.log.close()
    if proc in _children:
        _children.remove(proc)


def kill_children():
    for proc in list(_children):
        if proc.poll() is None:
            try:  # the whole group: gunicorn's workers too
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                proc.kill()
            proc.wait(5)


class Service:
    """``python -m guanxi_common.runner <name>`` on a benchmark database."""

    name = None
    extra_env = {}

    def __init__(self, db_path, amqp_uri):
        self.port = free_port()
        upper = self.name.upper()
        self.proc = start_process(
            [sys.executable, "-m", "guanxi_common.runner", self.name],
            f"{self.name}-service-{db_path.stem}.log",
            {f"{upper}_DATABASE_URL": f"sqlite:///{db_path}", f"{upper}_HTTP_PORT": str(self.port),
             "AMQP_URI": amqp_uri, "HTTP_HOST": "127.0.0.1", **self.extra_env})
        self.wait_ready()

    def wait_ready(self, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} service exited with {self.proc.returncode}; "
                                   f"see {self.proc.log.name}")
            try:
                if requests.get(f"http://127.0.0.1:{self.port}/readyz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"{self.name} service not ready after {timeout} s; see {self.proc.log.name}")

    def stop(self):
        stop_process(self.proc)


class CustomerService(Service):
    name = "customer"
    extra_env = {"POOL_SWEEP_INTERVAL": "86400"}


class SalesService(Service):
    # the benchmark database is caught up already; no export fetch in the middle of a run
    name = "sales"
    extra_env = {"REPLICA_CATCH_UP_INTERVAL": "86400"}


# ---- measuring ---------------------------------------------------------------------------------

def percentile(values, q):
    """Nearest-rank percentile."""
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, int(round(q / 100 * len(ordered) + 0.5)) - 1))
    return ordered[k]


def rate(calls, seconds):
    return calls / seconds if seconds > 0 else 0.0


def concurrent_rate(make_worker, clients, calls):
    """Calls/s of ``clients`` threads each doing ``calls // clients`` sequential calls."""
    return run_concurrent([make_worker() for _ in range(clients)], max(1, calls // clients))


def bench_echo(amqp_uri, refs):
    queue = f"bench-echo-{uuid.uuid4().hex[:8]}"
    server = start_process([sys.executable, str(HERE / "echo.py"), amqp_uri, queue], "echo-server.log")
    try:
        deadline = time.monotonic() + 20
        while (HERE.exists() and server.poll() is None and time.monotonic() < deadline
               and b"ready" not in Path(server.log.name).read_bytes()):
            time.sleep(0.05)
        payload = lambda i: {"args": [refs[i % len(refs)]], "kwargs": {}}  # noqa: E731
        client = echo.EchoClient(amqp_uri, queue)
        echo.call_loop(client, min(200, CALLS), payload)  # warm-up
        sequential = rate(CALLS, echo.call_loop(client, CALLS, payload))
        client.close()
        clients = []

        def make_worker():
            c = echo.EchoClient(amqp_uri, queue)
            clients.append(c)
            return lambda n: echo.call_loop(c, n, payload)

        concurrent = concurrent_rate(make_worker, CONCURRENCY, CALLS)
        for c in clients:
            c.close()
        return sequential, concurrent
    finally:
        stop_process(server)


def nameko_loop(proxy, calls, refs, method):
    started = time.perf_counter()
    if method == "ping":
        for _ in range(calls):
            proxy.customer.ping()
    else:
        for i in range(calls):
            proxy.customer.get(refs[i % len(refs)])
    return time.perf_counter() - started


def bench_nameko(amqp_uri, refs):
    with cluster_rpc(amqp_uri, actor=Actor.system(request_id="bench"), timeout=30) as proxy:
        nameko_loop(proxy, min(200, CALLS), refs, "get")  # warm-up
        get_rate = rate(CALLS, nameko_loop(proxy, CALLS, refs, "get"))
        nameko_loop(proxy, min(100, CALLS), refs, "ping")
        ping_rate = rate(CALLS, nameko_loop(proxy, CALLS, refs, "ping"))
    opened = []

    def make_worker():
        client = cluster_rpc(amqp_uri, actor=Actor.system(request_id="bench"), timeout=30)
        proxy = client.__enter__()
        opened.append(client)
        return lambda n: nameko_loop(proxy, n, refs, "get")

    try:
        concurrent = concurrent_rate(make_worker, CONCURRENCY, CALLS)
    finally:
        for client in opened:
            client.__exit__(None, None, None)
    return get_rate, ping_rate, concurrent


def known_person(count, near):
    """The first demo person at or after index ``near`` (its mobile is known)."""
    for index in range(near, count):
        if demo.spec(index).party_type == "person":
            return index
    raise ValueError("no person found")


def search_mix(count):
    """The fixed query mix; per-round values rotate over customers spread across the data."""
    probes = [known_person(count, count * k // 10) for k in range(10)]
    forms = [demo.written_forms(demo.mobile_for(i))[(n % 4) + 1] for n, i in enumerate(probes)]
    numbers = [f"C{count * k // 10 + 7:08d}" for k in range(10)]
    return {
        "name_2char": lambda r: {"name": "张伟"},
        "company_fragment": lambda r: {"name": "鼎盛"},
        "pinyin_full": lambda r: {"name": "zhang wei"},
        "pinyin_initials": lambda r: {"name": "zw"},
        "pinyin_surname": lambda r: {"name": "wang"},
        "phone_written_form": lambda r: {"phone": forms[r % len(forms)]},
        "number": lambda r: {"number": numbers[r % len(numbers)]},
        "name_and_province": lambda r: {"name": "王芳", "province": "广东"},
        "role_and_tier": lambda r: {"role": "dealer", "tier": "A"},
        "status_page_1": lambda r: {"status": "active", "page": 1},
    }


def bench_search(amqp_uri, count):
    mix = search_mix(count)
    times = {name: [] for name in mix}
    totals = {}
    with cluster_rpc(amqp_uri, actor=Actor.system(request_id="bench"), timeout=60) as proxy:
        for r in range(SEARCH_WARMUP_ROUNDS):  # caches and compiled statements
            for name, criteria in mix.items():
                totals[name] = proxy.customer.search(criteria(r))["total"]
        for r in range(SEARCH_ROUNDS):
            for name, criteria in mix.items():
                started = time.perf_counter()
                proxy.customer.search(criteria(r))
                times[name].append((time.perf_counter() - started) * 1000)
    return times, totals


def bench_orders(amqp_uri, buyers):
    """(sequential orders/s, concurrent orders/s, credit outcomes of the sequential run)."""
    outcomes = {}
    with cluster_rpc(amqp_uri, actor=Actor.system(request_id="bench"), timeout=30) as proxy:
        sales_bench.order_loop(proxy, buyers, min(50, ORDER_CALLS))  # warm-up
        sequential = rate(ORDER_CALLS, sales_bench.order_loop(proxy, buyers, ORDER_CALLS, first=50,
                                                              outcomes=outcomes))
    opened, offsets = [], iter(range(1, CONCURRENCY + 1))

    def make_worker():
        client = cluster_rpc(amqp_uri, actor=Actor.system(request_id="bench"), timeout=30)
        proxy = client.__enter__()
        opened.append(client)
        first = 50 + ORDER_CALLS + next(offsets) * ORDER_CALLS  # other buyers than its neighbours
        return lambda n: sales_bench.order_loop(proxy, buyers, n, first=first)

    try:
        concurrent = concurrent_rate(make_worker, CONCURRENCY, ORDER_CALLS)
    finally:
        for client in opened:
            client.__exit__(None, None, None)
    return sequential, concurrent, outcomes


def bench_propagation(amqp_uri, sales_db, facts):
    probes = sales_bench.probe_customers(facts)
    with cluster_rpc(amqp_uri, actor=Actor.system(request_id="bench"), timeout=30) as proxy:
        return sales_bench.propagation_samples(proxy, sales_db, probes, PROPAGATION_SAMPLES)


# ---- the run -----------------------------------------------------------------------------------

class Results:
    def __init__(self):
        self.items = []

    def add(self, name, value, unit, baseline=None):
        base = next((i for i in self.items if i["name"] == baseline), None) if baseline else None
        ratio = round(value / base["value"], 3) if base and base["value"] else None
        self.items.append({"name": name, "value": round(value, 3), "unit": unit,
                           "baseline": baseline, "ratio": ratio})
        extra = f"   ({ratio:.2f} x {baseline})" if ratio is not None else ""
        say(f"  {name:45s} {value:12.2f} {unit}{extra}")

    def write(self):
        tmp = RESULTS.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(self.items, indent=2, ensure_ascii=False) + "\n")
        os.replace(tmp, RESULTS)


def describe_machine():
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem = next((int(line.split()[1]) // 1024 for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal")), 0)
    import sqlite3
    return (f"{os.cpu_count()} CPUs ({cpu}), {mem / 1024:.1f} GiB RAM, Python {platform.python_version()}, "
            f"SQLite {sqlite3.sqlite_version}, RabbitMQ {broker_version() or '?'}")


def add_search_figures(results, search):
    small, big = SIZES[0], SIZES[-1]
    for count in SIZES:
        samples = [t for ts in search[count][0].values() for t in ts]
        base = None if count == small else f"search_p50_{label(small)}"
        results.add(f"search_p50_{label(count)}", percentile(samples, 50), "ms", base)
        base = None if count == small else f"search_p95_{label(small)}"
        results.add(f"search_p95_{label(count)}", percentile(samples, 95), "ms", base)
    say("\n  per query (p95 ms; hits):")
    for name in search[small][0]:
        for count in SIZES:
            times, totals = search[count]
            base = None if count == small else f"search_{name}_p95_{label(small)}"
            results.add(f"search_{name}_p95_{label(count)}", percentile(times[name], 95), "ms", base)
        say("      hits: " + ", ".join(f"{label(c)}: {search[c][1][name]}" for c in SIZES))
    return next(i["ratio"] for i in results.items if i["name"] == f"search_p95_{label(big)}")


def search_only():
    """``BENCH_ONLY=search``: the search figures alone, one service per database size."""
    started = time.monotonic()
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    say(f"guanxi bench, search only{' (BENCH_QUICK)' if QUICK else ''}: {describe_machine()}")
    amqp_uri = bench_amqp_uri()
    paths = {count: dataset.ensure_database(count, log=say) for count in SIZES}
    search = {}
    say(f"\n[c] customer.search, {SEARCH_ROUNDS} rounds of {len(search_mix(SIZES[0]))} queries")
    for count in SIZES:
        service = CustomerService(paths[count], amqp_uri)
        try:
            say(f"  searching {count:,} customers")
            search[count] = bench_search(amqp_uri, count)
        finally:
            service.stop()
    results = Results()
    p95_ratio = add_search_figures(results, search)
    out = LOG_DIR / "results-search.json"
    out.write_text(json.dumps(results.items, indent=2, ensure_ascii=False) + "\n")
    say(f"\n  search p95 {label(SIZES[-1])} / {label(SIZES[0])} = {p95_ratio:.2f} (goal <= 3): "
        f"{'met' if p95_ratio <= 3 else 'MISSED'}")
    say(f"wrote {out.relative_to(ROOT)} in {time.monotonic() - started:.0f} s")


def bench_360(amqp_uri, refs, customer_service):
    """g's figures; it stops ``customer_service``."""
    say("\n[g] Customer 360 through the gateway, every service up, then the customer service "
        "stopped")
    return gateway_bench.run_360(
        amqp_uri, refs, stop_customer=customer_service.stop, start_process=start_process,
        stop_process=stop_process, free_port=free_port, say=say)


def view_goal(results):
    p95 = next(i["value"] for i in results.items if i["name"] == "gateway_360_customer_down_p95")
    return f"  360 view with the customer service down, p95 = {p95:.1f} ms (goal <= 50): " + (
        "met" if p95 <= 50 else "MISSED")


def gateway_360_only():
    """``BENCH_ONLY=gateway_360``: g alone, with both services on copies of the 10k data."""
    started = time.monotonic()
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    say(f"guanxi bench, Customer 360 only: {describe_machine()}")
    amqp_uri = bench_amqp_uri()
    small = SIZES[0]
    customer_cached = dataset.ensure_database(small, log=say)
    sales_cached = sales_bench.ensure_sales_database(customer_cached, log=say)
    refs = [f"C{small * k // 100 + 1:08d}" for k in range(100)]
    results = Results()
    customer_service = CustomerService(sales_bench.working_copy(customer_cached, "customer-run.db"),
                                       amqp_uri)
    try:
        sales_service = SalesService(sales_bench.working_copy(sales_cached, "sales-run.db"), amqp_uri)
        try:
            for name, value, unit, baseline in bench_360(amqp_uri, refs, customer_service):
                results.add(name, value, unit, baseline)
        finally:
            sales_service.stop()
    finally:
        customer_service.stop()
    out = LOG_DIR / "results-gateway-360.json"
    out.write_text(json.dumps(results.items, indent=2, ensure_ascii=False) + "\n")
    say("\n" + view_goal(results))
    say(f"wrote {out.relative_to(ROOT)} in {time.monotonic() - started:.0f} s")


def main():
    if ONLY == "search":
        return search_only()
    if ONLY == "gateway_360":
        return gateway_360_only()
    started = time.monotonic()
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    say(f"guanxi bench{' (BENCH_QUICK)' if QUICK else ''}: {describe_machine()}")
    amqp_uri = bench_amqp_uri()
    say(f"broker: vhost {urlsplit(amqp_uri).path or '/'}")
    say(f"databases: {', '.join(f'{c:,}' for c in SIZES)} customers")
    paths = {count: dataset.ensure_database(count, log=say) for count in SIZES}
    sales_cached = sales_bench.ensure_sales_database(paths[SIZES[0]], log=say)
    results = Results()
    small = SIZES[0]
    refs = [f"C{small * k // 100 + 1:08d}" for k in range(100)]

    say(f"\n[a] raw pika RPC echo, {CALLS} calls")
    echo_seq, echo_conc = bench_echo(amqp_uri, refs)
    results.add("rpc_echo_pika_sequential", echo_seq, "calls/s")

    say(f"\n[b] customer service over Nameko RPC ({label(small)} customers), {CALLS} calls")
    service = CustomerService(paths[small], amqp_uri)
    try:
        get_seq, ping_seq, get_conc = bench_nameko(amqp_uri, refs)
        results.add("customer_get_nameko_sequential", get_seq, "calls/s", "rpc_echo_pika_sequential")
        results.add("customer_ping_nameko_sequential", ping_seq, "calls/s", "rpc_echo_pika_sequential")
        results.add(f"rpc_echo_pika_concurrent_{CONCURRENCY}", echo_conc, "calls/s")
        results.add(f"customer_get_nameko_concurrent_{CONCURRENCY}", get_conc, "calls/s",
                    f"rpc_echo_pika_concurrent_{CONCURRENCY}")

        search = {}
        say(f"\n[c] customer.search, {SEARCH_ROUNDS} rounds of {len(search_mix(small))} queries")
        for count in SIZES:
            if count != small:
                service.stop()
                say(f"  restarting the service on {label(count)} customers")
                service = CustomerService(paths[count], amqp_uri)
            say(f"  searching {count:,} customers")
            search[count] = bench_search(amqp_uri, count)
    finally:
        service.stop()

    big = SIZES[-1]
    add_search_figures(results, search)

    say(f"\n[d] sales.place_order over Nameko RPC ({label(small)} customers in the sales replica), "
        f"{ORDER_CALLS} orders")
    sales_db = sales_bench.working_copy(sales_cached, "sales-run.db")
    customer_db = sales_bench.working_copy(paths[small], "customer-run.db")
    buyers, facts = sales_bench.bench_buyers(sales_db)
    customer_service = CustomerService(customer_db, amqp_uri)
    try:
        sales_service = SalesService(sales_db, amqp_uri)
        try:
            order_seq, order_conc, outcomes = bench_orders(amqp_uri, buyers)
            say(f"  {len(buyers)} buyers; credit outcomes of the sequential run: "
                + ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())))
            results.add("order_place_nameko_sequential", order_seq, "orders/s", "rpc_echo_pika_sequential")
            results.add(f"order_place_nameko_concurrent_{CONCURRENCY}", order_conc, "orders/s",
                        f"rpc_echo_pika_concurrent_{CONCURRENCY}")

            say(f"\n[e] raw broker publish -> consume, {BROKER_SAMPLES} messages; "
                f"customer.update -> sales replica, {PROPAGATION_SAMPLES} updates")
            broker = sales_bench.publish_consume_samples(amqp_uri, BROKER_SAMPLES)
            propagation = bench_propagation(amqp_uri, sales_db, facts)
            time.sleep(1.5)  # the relay's last pass
            stored, published = sales_bench.outbox_counts(sales_db)
            say(f"  sales outbox: {stored:,} order events stored, {published:,} published")

            say(f"\n[f] the gateway under gunicorn vs direct RPC, {CALLS} gets and {ORDER_CALLS} orders "
                f"per measurement, concurrency {', '.join(map(str, gateway_bench.CONCURRENCIES))}")
            gateway_results, _ = gateway_bench.run(
                amqp_uri, refs, buyers, calls=CALLS, order_calls=ORDER_CALLS,
                pids={"customer": customer_service.proc.pid, "sales": sales_service.proc.pid},
                start_process=start_process, stop_process=stop_process, free_port=free_port, say=say)
            view_results = bench_360(amqp_uri, refs, customer_service)
        finally:
            sales_service.stop()
    finally:
        customer_service.stop()
    results.add("broker_publish_consume_p50", percentile(broker, 50), "ms")
    results.add("broker_publish_consume_p95", percentile(broker, 95), "ms")
    results.add("event_propagation_customer_to_sales_p50", percentile(propagation, 50), "ms",
                "broker_publish_consume_p50")
    results.add("event_propagation_customer_to_sales_p95", percentile(propagation, 95), "ms",
                "broker_publish_consume_p95")
    for name, value, unit, baseline in gateway_results + view_results:
        results.add(name, value, unit, baseline)
    results.write()

    say("\ngoals:")
    get_ratio = next(i["ratio"] for i in results.items if i["name"] == "customer_get_nameko_sequential")
    p95_ratio = next(i["ratio"] for i in results.items if i["name"] == f"search_p95_{label(big)}")
    say(f"  customer get / raw echo = {get_ratio:.2f} (goal >= 0.5): {'met' if get_ratio >= 0.5 else 'MISSED'}")
    say(f"  search p95 {label(big)} / {label(small)} = {p95_ratio:.2f} (goal <= 3): "
        f"{'met' if p95_ratio <= 3 else 'MISSED'}")
    for n in gateway_bench.CONCURRENCIES:
        gw = next(i["ratio"] for i in results.items if i["name"] == f"gateway_get_customer_concurrent_{n}")
        say(f"  gateway GET customer / direct RPC get, {n} clients = {gw:.2f} (goal >= 0.7): "
            f"{'met' if gw >= 0.7 else 'MISSED'}")
    say(view_goal(results))
    say(f"\nwrote {RESULTS.relative_to(ROOT)} in {time.monotonic() - started:.0f} s")


def _on_signal(signum, frame):
    kill_children()
    sys.exit(128 + signum)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _on_signal)
    try:
        main()
    finally:
        kill_children()
