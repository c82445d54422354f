"""gunicorn settings of the gateway: ``gunicorn -c services/gateway/gunicorn.conf.py``.

``gthread`` workers (OS threads; the gateway must not be eventlet-patched, see
gateway/rpc_pool.py). Environment: ``GATEWAY_PORT`` (8000), ``GATEWAY_HOST`` (0.0.0.0),
``GATEWAY_WORKERS`` (2), ``GATEWAY_THREADS`` (8), ``GATEWAY_GRACEFUL_TIMEOUT`` (8 s: under the
supervisor's and Kubernetes' stop budgets), ``GATEWAY_TIMEOUT`` (30 s per request).
Access lines are logged by the app itself as JSON (with the request id), so gunicorn's
own access log is off.

With more than one worker every process keeps its own Prometheus values; they are
written to ``PROMETHEUS_MULTIPROC_DIR`` (a fresh temporary directory unless set) and
added up by ``/metrics``.
"""
import os
import shutil
import tempfile


def _int(name, default):
    value = os.environ.get(name)
    return int(value) if value else default


wsgi_app = "gateway.app:create_app()"
bind = f"{os.environ.get('GATEWAY_HOST') or '0.0.0.0'}:{_int('GATEWAY_PORT', 8000)}"
worker_class = "gthread"
workers = _int("GATEWAY_WORKERS", 2)
threads = _int("GATEWAY_THREADS", 8)
graceful_timeout = _int("GATEWAY_GRACEFUL_TIMEOUT", 8)
timeout = _int("GATEWAY_TIMEOUT", 30)
keepalive = 5
max_requests = _int("GATEWAY_MAX_REQUESTS", 0)
max_requests_jitter = max_requests // 10
accesslog = None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
proc_name = "guanxi-gateway"

if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="guanxi-gateway-metrics-")
    _own_metrics_dir = True
else:
    _own_metrics_dir = False


def on_starting(server):
    """Values left by a previous run would be added to this one's."""
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if path:
        os.makedirs(path, exist_ok=True)
        for name in os.listdir(path):
            if name.endswith(".db"):
                os.unlink(os.path.join(path, name))


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess
        multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if _own_metrics_dir:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
