"""``ServiceBase``: what every Guanxi service class inherits.

    class CustomerService(ServiceBase):
        name = "customer"
        uow = UnitOfWorkProvider("customer")   # optional: makes /readyz check the database

Gives, on the container's ``WEB_SERVER_ADDRESS``:

- ``GET /healthz`` — the process answers: 200 ``{"service", "status": "ok"}``.
- ``GET /readyz`` — the broker accepts a connection and, when the service has a ``uow``
  dependency, ``uow.check()`` passes: 200, else 503 naming the failed check. Each check is
  bounded by ``READY_CHECK_TIMEOUT`` seconds (default 2).
- ``GET /metrics`` — Prometheus text of the default registry; refreshes
  ``guanxi_dlq_depth{service}`` from a passive declare of ``<service>.dlq`` (0 when absent).

and RPC ``ping()`` / ``health()``. Its dependencies record calls, errors and latency per
entrypoint (:class:`EntrypointMetrics`) and bind the request id / call id to the worker's
log lines (:class:`WorkerLogContext`, which also installs JSON logging once per process
unless the config says ``LOG_JSON: false``).
"""
import json
import logging
import time
from datetime import datetime, timezone

import eventlet
from kombu import Connection
from nameko.constants import AMQP_SSL_CONFIG_KEY, AMQP_URI_CONFIG_KEY, LOGIN_METHOD_CONFIG_KEY
from nameko.dependency_providers import Config
from nameko.extensions import DependencyProvider
from nameko.web.handlers import http
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from werkzeug.wrappers import Response

from . import logs, metrics
from .context import Actor
from .rpc import rpc

_log = logging.getLogger(__name__)

DEFAULT_CHECK_TIMEOUT = 2.0


def _now():
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _bounded(fn, timeout):
    """Run ``fn`` and return ``(ok, detail)``; never longer than ``timeout`` for green I/O."""
    started = time.monotonic()
    timer = eventlet.Timeout(timeout)
    try:
        detail = fn()
        ok, error = True, None
    except eventlet.Timeout as exc:
        if exc is not timer:
            raise
        ok, error, detail = False, f"timed out after {timeout:g} s", None
    except Exception as exc:
        ok, error, detail = False, f"{type(exc).__name__}: {exc}", None
    finally:
        timer.cancel()
    result = {"ok": ok, "ms": round((time.monotonic() - started) * 1000, 1)}
    if error:
        result["error"] = error
    if detail is not None:
        result["detail"] = detail
    return result


def _connection(config, timeout):
    return Connection(config[AMQP_URI_CONFIG_KEY], ssl=config.get(AMQP_SSL_CONFIG_KEY),
                      login_method=config.get(LOGIN_METHOD_CONFIG_KEY),
                      connect_timeout=timeout, heartbeat=0)


def check_broker(config, timeout=DEFAULT_CHECK_TIMEOUT):
    """Open (and close) a fresh AMQP connection; no retry pause, so a dead broker fails fast."""
    def connect():
        with _connection(config, timeout) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0,
                                   interval_max=0)
    return _bounded(connect, timeout)


def dlq_depth(config, service, timeout=DEFAULT_CHECK_TIMEOUT):
    """Messages ready on ``<service>.dlq``; 0 when the queue does not exist yet."""
    def declare():
        with _connection(config, timeout) as conn:
            channel = conn.channel()
            try:
                return channel.queue_declare(queue=f"{service}.dlq", passive=True).message_count
            except conn.channel_errors as exc:
                if getattr(exc, "code", None) == 404:
                    return 0
                raise
    result = _bounded(declare, timeout)
    return result.get("detail") if result["ok"] else None


class EntrypointMetrics(DependencyProvider):
    """Calls, errors (by exception class) and latency for every worker of the service."""

    def setup(self):
        self._started = {}

    def worker_setup(self, worker_ctx):
        self._started[worker_ctx] = time.perf_counter()

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        if exc_info is None:
            return
        try:
            metrics.ENTRYPOINT_ERRORS.labels(worker_ctx.service_name,
                                             worker_ctx.entrypoint.method_name,
                                             type(exc_info[1]).__name__).inc()
        except Exception:  # a metrics hiccup must never fail the worker
            _log.debug("could not record entrypoint error", exc_info=True)

    def worker_teardown(self, worker_ctx):
        started = self._started.pop(worker_ctx, None)
        try:
            labels = (worker_ctx.service_name, worker_ctx.entrypoint.method_name)
            metrics.ENTRYPOINT_CALLS.labels(*labels).inc()
            if started is not None:
                metrics.ENTRYPOINT_LATENCY.labels(*labels).observe(time.perf_counter() - started)
        except Exception:
            _log.debug("could not record entrypoint call", exc_info=True)


class WorkerLogContext(DependencyProvider):
    """Binds service, request id and Nameko call id to the worker's greenthread for logs."""

    def setup(self):
        config = self.container.config
        if config.get("LOG_JSON", True) and not logs.is_configured():
            logs.configure_logging(self.container.service_name, config.get("LOG_LEVEL", "INFO"))

    def worker_setup(self, worker_ctx):
        try:
            request_id = Actor.from_context_data(worker_ctx.data).request_id
        except Exception:
            request_id = None
        # Nameko runs setup, the method and teardown in the worker's own greenthread.
        logs.set_context(service=worker_ctx.service_name,
                         request_id=request_id or worker_ctx.call_id_stack[0],
                         call_id=worker_ctx.call_id)

    def worker_teardown(self, worker_ctx):
        logs.clear_context()


def _json_response(payload, status=200):
    return Response(json.dumps(payload, ensure_ascii=False), status=status,
                    mimetype="application/json")


class ServiceBase:
    """Base class of every Guanxi Nameko service. Subclasses set ``name``."""

    name = None

    entrypoint_metrics = EntrypointMetrics()
    log_context = WorkerLogContext()
    chassis_config = Config()

    # ---- checks shared by /readyz and health()
    def _readiness(self):
        config = self.chassis_config
        timeout = float(config.get("READY_CHECK_TIMEOUT", DEFAULT_CHECK_TIMEOUT))
        checks = {"broker": check_broker(config, timeout)}
        uow = getattr(self, "uow", None)
        if uow is not None and callable(getattr(uow, "check", None)):
            def check_database():
                if uow.check() is False:
                    raise RuntimeError("database check returned False")
            checks["database"] = _bounded(check_database, timeout)
        ok = all(c["ok"] for c in checks.values())
        return ok, {"service": self.name, "status": "ok" if ok else "unavailable",
                    "time": _now(), "checks": checks,
                    "failed": sorted(k for k, c in checks.items() if not c["ok"])}

    # ---- HTTP
    @http("GET", "/healthz")
    def healthz(self, request):
        return _json_response({"service": self.name, "status": "ok", "time": _now()})

    @http("GET", "/readyz")
    def readyz(self, request):
        ok, body = self._readiness()
        return _json_response(body, 200 if ok else 503)

    @http("GET", "/metrics")
    def prometheus_metrics(self, request):
        config = self.chassis_config
        timeout = float(config.get("READY_CHECK_TIMEOUT", DEFAULT_CHECK_TIMEOUT))
        depth = dlq_depth(config, self.name, timeout)
        if depth is not None:  # broker down: keep the last known value rather than lie
            metrics.DLQ_DEPTH.labels(self.name).set(depth)
        return Response(generate_latest(REGISTRY), status=200,
                        headers={"Content-Type": CONTENT_TYPE_LATEST})

    # ---- RPC
    @rpc
    def ping(self):
        return {"service": self.name, "status": "ok", "time": _now()}

    @rpc
    def health(self):
        return self._readiness()[1]
