"""gunicorn's own error answers as ``application/problem+json``, like the app's.

gunicorn answers some requests before the app sees them: a request line longer than
``limit_request_line`` (414), header fields larger than ``limit_request_field_size`` or
more than ``limit_request_fields`` (431), a request that is not HTTP (400). It writes
them with ``gunicorn.util.write_error`` (an HTML page); :func:`install` replaces that one
function, in each worker (``post_worker_init`` in gunicorn.conf.py), with
:func:`write_problem`. The detail is ours: gunicorn's message quotes what the client sent.
"""
import json

from gunicorn import util

from gateway.problems import problem_body

_DETAILS = {
    400: "The request is not valid HTTP.",
    414: "The request line (method, path and query string) is too long.",
    417: "The Expect header asks for something this server does not do.",
    431: "The request's header fields are too large or too many.",
    501: "The request uses a transfer coding this server does not support.",
}


def write_problem(sock, status_int, reason, mesg):
    """``gunicorn.util.write_error``'s signature: the answer, then the connection closes."""
    body = json.dumps(problem_body(status_int, _DETAILS.get(status_int)),
                      ensure_ascii=True).encode("ascii")
    head = (f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\n"
            f"Content-Type: application/problem+json\r\nContent-Length: {len(body)}\r\n\r\n")
    util.write_nonblock(sock, head.encode("latin-1") + body)


def install():
    util.write_error = write_problem
