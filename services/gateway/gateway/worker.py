"""gunicorn's ``gthread`` worker with a lane of its own for ``/healthz`` and ``/readyz``.

In a gthread worker every request waits for one of ``GATEWAY_THREADS`` threads. When a
service is slow, every thread can be waiting on RPC, and the kubelet's probe would queue
behind them: a liveness probe that times out restarts a gateway that is fine, a readiness
probe that times out takes it out of the Service. So this worker reads the request line of
a connection before handing the connection to a thread (a peek: nothing is consumed) and
serves ``GET``/``HEAD`` ``/healthz`` and ``/readyz`` from :data:`PROBE_THREADS` threads of
their own; everything else goes to the usual pool, as in gunicorn's worker. A connection
whose request has not arrived yet waits on the worker's poller, as gunicorn's deferred
connections do, so the main loop never blocks on a peek.

Used by ``services/gateway/gunicorn.conf.py`` (``worker_class``). It relies on gunicorn's
``ThreadWorker`` internals (``enqueue_req``, the pending-connection poller), hence the
exact gunicorn pin in requirements.txt; tests/gateway_service/test_gateway_circuits_e2e.py
runs it under real load.
"""
import selectors
import socket
import time
from concurrent import futures
from functools import partial

from gunicorn.workers.gthread import DEFAULT_WORKER_DATA_TIMEOUT, ThreadWorker

PROBE_THREADS = 2
PROBE_PATHS = (b"/healthz", b"/readyz")
_PROBE_PREFIXES = tuple(method + b" " + path for method in (b"GET", b"HEAD") for path in PROBE_PATHS)
_PEEK_BYTES = 32


def is_probe(head):
    """Whether ``head`` (the first bytes of a request) asks for a probe endpoint."""
    for prefix in _PROBE_PREFIXES:
        if head.startswith(prefix) and head[len(prefix):len(prefix) + 1] in (b" ", b"?"):
            return True
    return False


class ProbeLaneWorker(ThreadWorker):
    """``ThreadWorker`` whose probes never queue behind business requests."""

    def init_process(self):
        self.probe_pool = futures.ThreadPoolExecutor(max_workers=PROBE_THREADS,
                                                     thread_name_prefix="gateway-probe")
        super().init_process()

    def handle_quit(self, sig, frame):
        self.probe_pool.shutdown(wait=False)
        super().handle_quit(sig, frame)

    def enqueue_req(self, conn):
        head = self._request_head(conn)
        if head is None:
            self._wait_for_request(conn)
            return
        pool = self.probe_pool if is_probe(head) else self.tpool
        fs = pool.submit(self.handle, conn)
        fs.add_done_callback(
            lambda fut: self.method_queue.defer(self.finish_request, conn, fut))

    def _request_head(self, conn):
        """The first bytes of the next request; ``b""`` when they cannot be looked at
        (TLS, HTTP/2, a closed socket: the usual pool deals with those), None when nothing
        has arrived yet on a new connection."""
        if self.cfg.is_ssl or conn.is_http2:
            return b""
        parser = conn.parser
        if parser is not None:  # a request read ahead while draining the previous body
            buffered = getattr(getattr(parser, "unreader", None), "buf", None)
            if buffered is not None and buffered.getvalue():
                return buffered.getvalue()[:_PEEK_BYTES]
        try:
            return conn.sock.recv(_PEEK_BYTES, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except BlockingIOError:
            return b"" if conn.data_ready else None
        except OSError:
            return b""

    def _wait_for_request(self, conn):
        """Park a connection whose request has not arrived yet on the poller; gunicorn's
        ``on_pending_socket_readable`` hands it back to :meth:`enqueue_req`."""
        conn.sock.setblocking(False)
        conn.timeout = time.monotonic() + max(self.cfg.keepalive, DEFAULT_WORKER_DATA_TIMEOUT)
        self.pending_conns.append(conn)
        self.poller.register(conn.sock, selectors.EVENT_READ,
                             partial(self.on_pending_socket_readable, conn))
