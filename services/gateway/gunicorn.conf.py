"""gunicorn settings of the gateway: ``gunicorn -c services/gateway/gunicorn.conf.py``.

``gthread`` workers (OS threads; the gateway must not be eventlet-patched, see
gateway/rpc_pool.py) whose probes have threads of their own (gateway/worker.py). Environment, read through guanxi_common.config: ``GATEWAY_PORT``
(8000), ``GATEWAY_HOST`` (0.0.0.0), ``GATEWAY_WORKERS`` (2), ``GATEWAY_THREADS`` (8),
``GATEWAY_GRACEFUL_TIMEOUT`` (8 s: under the supervisor's and Kubernetes' stop budgets),
``GATEWAY_TIMEOUT`` (30 s per request), ``GATEWAY_METRICS_PORT`` (8001, 0 for none).
Access lines are logged by the app itself as JSON (with the request id), so gunicorn's
own access log is off.

Metrics are not on the API port: the master process serves ``/metrics`` on
``GATEWAY_METRICS_PORT`` (same address as the API, a port no Service or Ingress routes
to; see gateway/metrics.py). Every worker writes its Prometheus values to
``PROMETHEUS_MULTIPROC_DIR`` (a fresh temporary directory unless set) and the master adds
them up.
"""
import os
import shutil
import tempfile

from guanxi_common.config import GATEWAY, env, http_host, http_port, log_level

wsgi_app = "gateway.app:create_app()"
_metrics_port = env("GATEWAY_METRICS_PORT", 8001, int)
bind = f"{http_host(GATEWAY)}:{http_port(GATEWAY)}"
worker_class = "gateway.worker.ProbeLaneWorker"  # gthread, with /healthz and /readyz apart
workers = env("GATEWAY_WORKERS", 2, int)
threads = env("GATEWAY_THREADS", 8, int)
graceful_timeout = env("GATEWAY_GRACEFUL_TIMEOUT", 8, int)
timeout = env("GATEWAY_TIMEOUT", 30, int)
keepalive = 5
max_requests = env("GATEWAY_MAX_REQUESTS", 0, int)
max_requests_jitter = max_requests // 10
# What gunicorn answers itself, before the app (as problem+json: gateway/server_errors.py):
# a longer request line is 414, a larger header field or more of them 431.
limit_request_line = 8190  # bytes: the most gunicorn allows
limit_request_fields = 100
limit_request_field_size = 8190  # bytes
accesslog = None
errorlog = "-"
loglevel = log_level().lower()
proc_name = "guanxi-gateway"

if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
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


def post_worker_init(worker):
    from gateway import server_errors
    server_errors.install()


def when_ready(server):
    from gateway import metrics
    metrics.serve(_metrics_port, http_host(GATEWAY))


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess
        multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if _own_metrics_dir:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
