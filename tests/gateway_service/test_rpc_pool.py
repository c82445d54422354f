"""gateway.rpc_pool against the real broker: in this (eventlet-patched) process, and in a
plain-thread process like a gunicorn gthread worker, where eventlet timers never fire."""
import json
import uuid
from collections import Counter
import socket
import subprocess
import sys
import threading
import time
from urllib.parse import urlsplit

import eventlet
import pytest
from nameko.extensions import DependencyProvider

from gateway.rpc_pool import RpcPool, Unavailable
from guanxi_common.circuits import CircuitOpen, NoAnswer
from guanxi_common.context import Actor
from guanxi_common.errors import NotFound, ServiceUnavailable
from guanxi_common.rpc import rpc
from guanxi_common.testing.broker import proxy_to_broker


_ARRIVED = Counter()


class ContextData(DependencyProvider):
    def get_dependency(self, worker_ctx):
        return {"data": dict(worker_ctx.data), "call_id_stack": worker_ctx.call_id_stack}


class PoolEcho:
    name = "pool_echo"
    context = ContextData()

    @rpc
    def whoami(self):
        return self.context

    @rpc
    def rendezvous(self, group, parties, timeout):
        """True once ``parties`` calls of ``group`` have arrived, False if not within
        ``timeout``: only callers running in parallel can all meet."""
        _ARRIVED[group] += 1
        deadline = time.monotonic() + timeout
        while _ARRIVED[group] < parties and time.monotonic() < deadline:
            eventlet.sleep(0.01)
        return _ARRIVED[group] >= parties

    @rpc
    def nap(self, seconds):
        eventlet.sleep(seconds)
        return seconds

    @rpc(expected_exceptions=NotFound)
    def missing(self, number):
        raise NotFound(f"customer {number} not found", {"number": number})


def actor(i):
    return Actor(f"user-{i}", frozenset({f"role-{i}"}), region=f"region-{i}", request_id=f"req-{i}")


def expected_data(i):
    return {"user_id": f"user-{i}", "roles": f"role-{i}", "region": f"region-{i}",
            "request_id": f"req-{i}"}


@pytest.fixture
def echo(container_factory, service_config_factory):
    container = container_factory(PoolEcho, service_config_factory("pool_echo"))
    container.start()
    return container


@pytest.fixture
def make_pool(amqp_uri):
    pools = []

    def make(uri=None, **options):
        pool = RpcPool(uri or amqp_uri, **options)
        pools.append(pool)
        return pool

    yield make
    for pool in pools:
        pool.close()


# --------------------------------------------------------------------------- in this process

def test_each_checkout_carries_its_own_actor_on_shared_clients(echo, make_pool):
    pool = make_pool(size=2, timeout=5)
    wrong = []

    def caller(i):
        for _ in range(5):
            with pool.client(actor(i)) as rpc:
                data = rpc.pool_echo.whoami()["data"]
            if data != expected_data(i):
                wrong.append((i, data))

    threads = [threading.Thread(target=caller, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert wrong == []
    stats = pool.stats()
    assert stats["created"] <= 2 and stats["discarded"] == 0 and stats["in_use"] == 0


def test_each_checkout_gets_a_fresh_call_id_and_a_lease_dies_with_its_block(echo, make_pool):
    pool = make_pool(size=1)
    with pool.client(actor(1)) as first:
        one = first.pool_echo.whoami()
    with pool.client(actor(2)) as second:
        two = second.pool_echo.whoami()

    assert pool.stats()["created"] == 1  # the same client served both
    assert one["data"]["user_id"] == "user-1" and two["data"]["user_id"] == "user-2"
    assert one["call_id_stack"][0].startswith("gateway.call.")
    assert one["call_id_stack"][0] != two["call_id_stack"][0]
    with pytest.raises(RuntimeError, match="given back"):
        first.pool_echo.whoami()


def test_service_errors_pass_through_and_keep_the_client(echo, make_pool):
    pool = make_pool(size=1)
    with pool.client(actor(1)) as rpc:
        with pytest.raises(NotFound) as raised:
            rpc.pool_echo.missing("C00000009")
        assert raised.value.details == {"number": "C00000009"}

        started = time.monotonic()
        with pytest.raises(ServiceUnavailable, match="not running"):
            rpc.nobody_home.ping()  # no queue bound: confirmed as unroutable at once
        assert time.monotonic() - started < 1

        assert rpc.pool_echo.whoami()["data"]["user_id"] == "user-1"
    assert pool.stats() == {"size": 1, "idle": 1, "in_use": 0, "created": 1, "discarded": 0}


def test_a_slow_call_times_out_and_its_client_is_replaced(echo, make_pool):
    pool = make_pool(size=1, timeout=1)
    started = time.monotonic()
    with pool.client(actor(1)) as rpc:
        with pytest.raises(ServiceUnavailable, match="did not answer within 1 s"):
            rpc.pool_echo.nap(3)
    assert 0.9 < time.monotonic() - started < 2

    with pool.client(actor(1)) as rpc:
        assert rpc.pool_echo.whoami()["data"]["user_id"] == "user-1"
    stats = pool.stats()
    assert stats["created"] == 2 and stats["discarded"] == 1


def test_checkout_waits_at_most_the_timeout_for_a_free_client(echo, make_pool):
    pool = make_pool(size=1, timeout=0.5)
    with pool.client(actor(1)):
        started = time.monotonic()
        with pytest.raises(ServiceUnavailable, match="no RPC client free"):
            with pool.client(actor(2)):
                pass
        assert 0.4 < time.monotonic() - started < 1.5


def test_gather_answers_within_its_timeout_and_marks_what_is_missing(echo, make_pool):
    pool = make_pool(size=6, timeout=5)
    group = str(uuid.uuid4())
    results = pool.gather({
        # a and b meet only if they run at the same time (sequentially a would give up)
        "a": lambda rpc: rpc.pool_echo.rendezvous(group, 2, 1.0),
        "b": lambda rpc: rpc.pool_echo.rendezvous(group, 2, 1.0),
        "c": lambda rpc: rpc.pool_echo.whoami()["data"]["user_id"],
        "missing": lambda rpc: rpc.pool_echo.missing("C00000001"),
        "down": lambda rpc: rpc.nobody_home.ping(),
        "slow": lambda rpc: rpc.pool_echo.nap(10),
    }, 1.5, actor=actor(7))

    assert results["a"] is True and results["b"] is True and results["c"] == "user-7"
    assert isinstance(results["missing"], Unavailable)
    assert isinstance(results["missing"].error, NotFound)
    assert results["missing"].status == 404
    assert isinstance(results["down"].error, ServiceUnavailable)
    assert isinstance(results["slow"].error, ServiceUnavailable) and results["slow"].status == 503
    # cut by the gather's 1.5 s budget, not by the pool's 5 s call timeout
    assert 0 < results["slow"].error.details["timeout"] <= 1.5, results["slow"].error
    # The slow section's call was capped by the gather's deadline, not the 5 s call timeout.
    deadline = time.monotonic() + 1
    while pool.stats()["in_use"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pool.stats()["in_use"] == 0


def test_an_unreachable_broker_fails_fast_and_is_not_hammered(make_pool):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens here once the socket is closed
    pool = make_pool(f"amqp://guest:guest@127.0.0.1:{port}/", timeout=2, connect_timeout=1,
                     reconnect_interval=5)
    for _ in range(2):
        started = time.monotonic()
        with pytest.raises(ServiceUnavailable, match="broker unreachable"):
            with pool.client(actor(1)):
                pass
        assert time.monotonic() - started < 1.5
    assert pool.stats()["created"] == 0


def test_a_broker_that_refuses_the_login_is_an_outage_too(amqp_uri, make_pool):
    parts = urlsplit(amqp_uri)
    host = parts.netloc.rsplit("@", 1)[1]
    wrong = parts._replace(netloc=f"{parts.username}:wrong-password@{host}")
    pool = make_pool(wrong.geturl(), timeout=2)
    with pytest.raises(ServiceUnavailable, match="broker unreachable"):
        with pool.client(actor(1)):
            pass


def test_a_broker_that_accepts_but_never_answers_fails_within_the_connect_timeout(make_pool):
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # the kernel completes the handshake; nobody ever speaks AMQP
        pool = make_pool(f"amqp://guest:guest@127.0.0.1:{silent.getsockname()[1]}/", timeout=5,
                         connect_timeout=0.5)
        started = time.monotonic()
        with pytest.raises(ServiceUnavailable, match="broker unreachable"):
            with pool.client(actor(1)):
                pass
        assert time.monotonic() - started < 1.5


def test_a_closed_pool_refuses_checkouts(echo, make_pool):
    pool = make_pool(size=2)
    with pool.client(actor(1)) as rpc:
        rpc.pool_echo.whoami()
    pool.close()
    assert pool.stats()["idle"] == 0
    with pytest.raises(ServiceUnavailable, match="closed"):
        with pool.client(actor(1)):
            pass


def test_a_stopped_service_opens_its_circuit_and_a_trial_closes_it(echo, make_pool,
                                                                   container_factory,
                                                                   service_config_factory):
    pool = make_pool(size=2, timeout=0.5, breaker_failures=2, breaker_cooldown=1.0)
    with pool.client(actor(1)) as rpc:
        assert rpc.pool_echo.nap(0) == 0
    echo.stop()  # its durable queue stays bound: requests wait for nobody

    for _ in range(2):
        started = time.monotonic()
        with pytest.raises(NoAnswer, match="did not answer within 0.5 s"):
            with pool.client(actor(1)) as rpc:
                rpc.pool_echo.nap(0)
        assert time.monotonic() - started >= 0.45
    assert pool.circuits()["pool_echo"]["state"] == "open"
    started = time.monotonic()
    sections = pool.gather({"echo": lambda rpc: rpc.pool_echo.nap(0),
                            "other": lambda rpc: rpc.nobody_home.ping()}, actor=actor(1))
    assert time.monotonic() - started < 0.1  # neither waited for anybody
    assert isinstance(sections["echo"].error, CircuitOpen)
    assert sections["echo"].error.details["service"] == "pool_echo"
    assert isinstance(sections["other"].error, NoAnswer)  # not running: refused by the broker

    container_factory(PoolEcho, service_config_factory("pool_echo")).start()  # back
    time.sleep(1.0)
    # after the cool-down a call starts a probe in the background and is refused at once:
    # no user call is the one that waits for a service maybe still down
    started = time.monotonic()
    with pytest.raises(CircuitOpen):
        with pool.client(actor(1)) as rpc:
            rpc.pool_echo.nap(0)
    assert time.monotonic() - started < 0.1
    # the probe's answer (PoolEcho has no chassis ``ping``: MethodNotFound is an answer too)
    deadline = time.monotonic() + 3
    while pool.circuits()["pool_echo"]["state"] != "closed" and time.monotonic() < deadline:
        time.sleep(0.02)
    assert pool.circuits()["pool_echo"] == {"state": "closed", "failures": 0, "retry_after": 0.0}
    with pool.client(actor(1)) as rpc:
        assert rpc.pool_echo.nap(0) == 0
        assert rpc.pool_echo.whoami()["data"]["user_id"] == "user-1"


def test_a_broker_outage_does_not_open_the_services_circuits(echo, broker_proxy, make_pool):
    proxy, proxied_uri = broker_proxy
    pool = make_pool(proxied_uri, size=1, timeout=1, breaker_failures=1,
                     reconnect_interval=0.1)
    with pool.client(actor(1)) as rpc:
        rpc.pool_echo.whoami()
        proxy.cut()
        with pytest.raises(ServiceUnavailable) as lost:
            rpc.pool_echo.nap(0.5)
    assert not isinstance(lost.value, (NoAnswer, CircuitOpen))
    proxy.restore()
    time.sleep(0.2)
    with pool.client(actor(1)) as rpc:
        assert rpc.pool_echo.whoami()["data"]["user_id"] == "user-1"
    assert pool.circuits()["pool_echo"]["state"] == "closed"


# --------------------------------------------------------------------------- plain threads

PROBE = r'''
import json, sys, threading, time
from eventlet import patcher
from gateway.rpc_pool import RpcPool, Unavailable
from guanxi_common.context import Actor
from guanxi_common.errors import ServiceUnavailable

pool = RpcPool(sys.argv[1], size=int(sys.argv[2]), timeout=float(sys.argv[3]),
               connect_timeout=1.0, reconnect_interval=0.2)

def actor(i):
    return Actor(f"user-{i}", frozenset({f"role-{i}"}), region=f"region-{i}", request_id=f"req-{i}")

def in_threads(n, fn):
    results = [None] * n
    def run(i):
        results[i] = fn(i)
    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results

def kind_of(exc):
    # NoAnswer, NotDelivered, CircuitOpen: all a ServiceUnavailable to the callers
    return "ServiceUnavailable" if isinstance(exc, ServiceUnavailable) else type(exc).__name__

def outcome(fn):
    started = time.monotonic()
    try:
        value, kind = fn(), "ok"
    except Exception as exc:
        value, kind = str(exc), kind_of(exc)
    return {"kind": kind, "value": value, "elapsed": time.monotonic() - started}

def cmd_actors(threads, calls):
    def run(i):
        seen = []
        for _ in range(calls):
            with pool.client(actor(i)) as rpc:
                seen.append(rpc.pool_echo.whoami()["data"])
        return seen
    return {"seen": in_threads(threads, run)}

def cmd_burst(threads, seconds=0):
    def call(i):
        with pool.client(actor(i)) as rpc:
            if seconds:
                return rpc.pool_echo.nap(seconds)
            return rpc.pool_echo.whoami()["data"]["user_id"]
    return {"results": in_threads(threads, lambda i: outcome(lambda: call(i)))}

def cmd_gather(naps, timeout):
    started = time.monotonic()
    results = pool.gather({f"s{i}": (lambda s: lambda rpc: rpc.pool_echo.nap(s))(s)
                           for i, s in enumerate(naps)}, timeout, actor=actor(0))
    return {"elapsed": time.monotonic() - started,
            "sections": {name: (["unavailable", kind_of(r.error)]
                                if isinstance(r, Unavailable) else ["ok", r])
                         for name, r in results.items()}}

def cmd_stats():
    return pool.stats()

green = patcher.is_monkey_patched("socket") or patcher.is_monkey_patched("thread")
print(json.dumps({"green": green}), flush=True)
for line in sys.stdin:
    command = json.loads(line)
    print(json.dumps(globals()["cmd_" + command.pop("op")](**command)), flush=True)
pool.close()
'''


class Probe:
    """The pool in a process without monkey patching, driven one JSON line at a time."""

    def __init__(self, uri, size, timeout, log_path):
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen([sys.executable, "-W", "ignore", "-c", PROBE, uri, str(size),
                                      str(timeout)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.log, text=True)
        self.hello = self._read()

    def _read(self):
        with eventlet.Timeout(30):
            line = self.proc.stdout.readline()
        assert line, f"the probe died: {open(self.log.name).read()[-3000:]}"
        return json.loads(line)

    def send(self, op, **args):
        self.proc.stdin.write(json.dumps({"op": op, **args}) + "\n")
        self.proc.stdin.flush()

    def ask(self, op, **args):
        self.send(op, **args)
        return self._read()

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


@pytest.fixture
def probe(tmp_path):
    probes = []

    def start(uri, size=3, timeout=2.0):
        started = Probe(uri, size, timeout, tmp_path / f"probe-{len(probes)}.log")
        probes.append(started)
        return started

    yield start
    for started in probes:
        started.close()


@pytest.fixture
def broker_proxy(amqp_uri):
    proxy, proxied_uri = proxy_to_broker(amqp_uri)
    yield proxy, proxied_uri
    proxy.cut()


def test_plain_threads_keep_actors_apart_on_shared_clients(echo, amqp_uri, probe):
    pool = probe(amqp_uri, size=3)
    assert pool.hello == {"green": False}

    seen = pool.ask("actors", threads=8, calls=10)["seen"]
    for i, calls in enumerate(seen):
        assert calls == [expected_data(i)] * 10
    stats = pool.ask("stats")
    assert stats["created"] <= 3 and stats["discarded"] == 0

    gathered = pool.ask("gather", naps=[0.5, 0.5, 0.5, 5], timeout=1.5)
    assert gathered["elapsed"] < 2.5
    assert gathered["sections"] == {"s0": ["ok", 0.5], "s1": ["ok", 0.5], "s2": ["ok", 0.5],
                                    "s3": ["unavailable", "ServiceUnavailable"]}

    slow = pool.ask("burst", threads=2, seconds=4)["results"]
    assert [r["kind"] for r in slow] == ["ServiceUnavailable"] * 2
    assert all(r["elapsed"] < 3 for r in slow)  # timeout 2 s, in threads without a hub


def test_plain_threads_broker_outage_answers_fast_and_recovers(echo, broker_proxy, probe):
    proxy, proxied_uri = broker_proxy
    timeout = 2.0
    pool = probe(proxied_uri, size=3, timeout=timeout)
    assert [r["kind"] for r in pool.ask("burst", threads=3)["results"]] == ["ok"] * 3

    # The broker goes away while calls are waiting for their replies.
    pool.send("burst", threads=3, seconds=1.5)
    time.sleep(0.5)
    proxy.cut()
    cut_mid_call = pool._read()["results"]
    assert [r["kind"] for r in cut_mid_call] == ["ServiceUnavailable"] * 3
    assert all(r["elapsed"] <= timeout + 1 for r in cut_mid_call)

    # While it is away, every call and gather answers 503-fast.
    during = pool.ask("burst", threads=5)["results"]
    assert [r["kind"] for r in during] == ["ServiceUnavailable"] * 5
    assert all(r["elapsed"] <= timeout + 1 for r in during)
    gathered = pool.ask("gather", naps=[0.1, 0.1], timeout=timeout)
    assert gathered["elapsed"] <= timeout + 1
    assert gathered["sections"] == {"s0": ["unavailable", "ServiceUnavailable"],
                                    "s1": ["unavailable", "ServiceUnavailable"]}

    # Back again: the same pool answers without being recreated.
    proxy.restore()
    deadline = time.monotonic() + 10
    while True:
        after = pool.ask("burst", threads=3)["results"]
        if [r["kind"] for r in after] == ["ok"] * 3 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert [r["value"] for r in after] == ["user-0", "user-1", "user-2"]
    stats = pool.ask("stats")
    assert stats["in_use"] == 0 and stats["discarded"] >= 3 and stats["created"] >= 4

    # A broker restart while the clients sit idle costs no request a 503: a checkout sees
    # the closed connection and makes a new client.
    proxy.cut()
    proxy.restore()
    time.sleep(0.3)  # past the probe's reconnect_interval
    after_restart = pool.ask("burst", threads=3)["results"]
    assert [r["kind"] for r in after_restart] == ["ok"] * 3
    assert pool.ask("stats")["discarded"] >= stats["discarded"] + 3
