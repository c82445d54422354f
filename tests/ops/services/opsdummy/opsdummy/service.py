"""A tiny Nameko service laid out like services/<name>/<name>/service.py.

It consumes RPC from the broker (so it needs the real broker), answers /healthz and
/readyz like the real chassis, and has /slow, a worker that outlives any graceful stop.
"""
import logging

import eventlet
from nameko.rpc import rpc
from nameko.web.handlers import http

log = logging.getLogger(__name__)


class OpsDummyService:
    name = "opsdummy"

    @rpc
    def ping(self):
        return "pong"

    @http("GET", "/healthz")
    def healthz(self, request):
        return 200, "ok"

    @http("GET", "/readyz")
    def readyz(self, request):
        log.info("opsdummy ready")
        return 200, "ready"

    @http("GET", "/slow")
    def slow(self, request):
        log.info("slow worker started")
        eventlet.sleep(120)
        return 200, "done"
