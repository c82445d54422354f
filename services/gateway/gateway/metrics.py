"""The gateway's Prometheus metrics, served on an internal port rather than the public one.

The API port is what the Ingress publishes; like the Nameko services, which serve
``/metrics`` on their own HTTP port, the gateway serves its metrics on
``GATEWAY_METRICS_PORT`` (8001), which no Service or Ingress routes to: Prometheus scrapes
the pod directly. gunicorn's master process starts the server (``gunicorn.conf.py``) and
adds up what every worker wrote to ``PROMETHEUS_MULTIPROC_DIR``.
"""
import logging
import os

from prometheus_client import REGISTRY, CollectorRegistry, start_http_server

log = logging.getLogger("gateway.metrics")


def registry():
    """What to expose: every worker's values when they write to a multiprocess directory,
    else this process's own."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    from prometheus_client import multiprocess
    combined = CollectorRegistry()
    multiprocess.MultiProcessCollector(combined)
    return combined


def serve(port, host="0.0.0.0"):
    """Serve ``/metrics`` on ``host:port`` from a daemon thread; the server, or None when
    the port is 0 or taken (the API keeps running without metrics, which is logged)."""
    if not port:
        return None
    try:
        server, _thread = start_http_server(port, addr=host, registry=registry())
    except OSError as exc:
        log.error("metrics not served: cannot bind %s:%s (%s)", host, port, exc)
        return None
    log.info("metrics on http://%s:%s/metrics", host, port)
    return server
