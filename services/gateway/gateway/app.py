"""The gateway's WSGI application: ``create_app(config=None) -> Flask``.

Run it under gunicorn ``gthread`` workers (``services/gateway/gunicorn.conf.py``): plain OS
threads, never eventlet-patched, so the RPC pool (``gateway.rpc_pool``) and SQLite use real
locks and sockets.

Every request goes through the same steps before its view: a request id (``X-Request-ID``
honoured when sane), CORS preflight, authentication (a JWT access token of a live login,
see ``gateway.sessions``, or a ``gx_`` API token), per-principal rate limiting, body size
and JSON checks. Every error leaves as ``application/problem+json`` (``gateway.problems``).

Endpoint modules (listed in :data:`API_MODULES`) declare their routes with
``gateway.http.endpoint`` (body/query schemas, roles, paging, idempotency keys, the OpenAPI
entry) and reach the services through :func:`rpc_pool`::

    from flask import Blueprint
    from gateway.app import rpc_pool
    from gateway.http import endpoint

    blueprint = Blueprint("customers", __name__)  # mounted under /api/v1

    @endpoint(blueprint, "/customers/<number>", summary="Get a customer", response=Schema)
    def get_customer(number):
        with rpc_pool().client() as rpc:          # the caller's Actor travels as context
            return rpc.customer.get(number)

Authentication is required by default: only a view declared ``endpoint(auth=False)`` is open
to anonymous callers. ``g.actor`` is the caller's ``guanxi_common.context.Actor`` (with the
request id), ``g.principal`` the verified identity (``kind`` user/service, ``token_id`` for
API tokens). Raise any ``GuanxiError`` (or let one come back over RPC) and it is rendered
with the right status.
"""
import logging
import os
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from contextlib import contextmanager
from importlib import import_module

from flask import Flask, Response, current_app, g, has_request_context, jsonify, request
from prometheus_client import Counter, Histogram
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge, UnsupportedMediaType
from werkzeug.middleware.proxy_fix import ProxyFix

from guanxi_common import logs
from guanxi_common.config import (GATEWAY, amqp_uri, database_url, env, http_port, log_json,
                                  log_level, ready_check_timeout, rpc_breaker_cooldown,
                                  rpc_breaker_failures, rpc_timeout)
from guanxi_common.unit_of_work import UnitOfWork, make_session_factory
from guanxi_common.engine import check_engine, make_engine
from guanxi_common.errors import Forbidden, GuanxiError, ServiceUnavailable

from gateway import ratelimit, security, users
from gateway.http import AUTHENTICATOR, PUBLIC_ATTR
from gateway.lockout import Lockout, LockoutPolicy
from gateway.sessions import SessionGuard
from gateway.problems import (PROBLEM_CONTENT_TYPE, RateLimited, Unauthenticated, problem_for,
                              problem_headers)
from gateway.rpc_pool import RpcPool

log = logging.getLogger("gateway")

API_PREFIX = "/api/v1"

#: The endpoint modules, in one place. Each exposes ``blueprint`` (a ``flask.Blueprint``
#: whose ``url_prefix``, if any, is relative to ``/api/v1``). Modules not written yet are
#: skipped, so endpoint work can land one module at a time; add new modules here.
API_MODULES = (
    "gateway.api_auth",
    "gateway.openapi",
    "gateway.api.customers",
    "gateway.api.lookup",
    "gateway.api.sales",
    "gateway.api.reports",
)

#: Probes: no authentication, no rate limit (Kubernetes polls them). Metrics are not served
#: here but on gunicorn's internal port (``gateway.metrics``).
_UNGUARDED_ENDPOINTS = frozenset({"healthz", "readyz"})
_REQUEST_ID_OK = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:")
_JSON_METHODS = frozenset({"POST", "PUT", "PATCH"})
_LATENCY_BUCKETS = (.0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10)

HTTP_REQUESTS = Counter("guanxi_gateway_http_requests_total",
                        "HTTP requests answered, by route template and status",
                        ["method", "route", "status"])
HTTP_LATENCY = Histogram("guanxi_gateway_http_request_duration_seconds",
                         "HTTP request latency by route template", ["method", "route"],
                         buckets=_LATENCY_BUCKETS)
RPC_LATENCY = Histogram("guanxi_gateway_rpc_duration_seconds",
                        "RPC calls made by the gateway, by target service and outcome",
                        ["service", "outcome"], buckets=_LATENCY_BUCKETS)


# --- configuration ----------------------------------------------------------------------

def load_config(overrides=None):
    """The gateway's settings: environment variables (same names as the keys) with
    working defaults, then ``overrides``."""
    overrides = dict(overrides or {})
    origins = overrides.pop("GATEWAY_CORS_ORIGINS", env("GATEWAY_CORS_ORIGINS", ""))
    if isinstance(origins, str):
        origins = [o.strip().rstrip("/") for o in origins.split(",") if o.strip()]
    config = {
        "GATEWAY_PORT": http_port(GATEWAY),
        "AMQP_URI": amqp_uri(),
        "GATEWAY_DATABASE_URL": overrides.pop("GATEWAY_DATABASE_URL", None)
        or database_url("gateway"),
        "GATEWAY_RPC_POOL_SIZE": env("GATEWAY_RPC_POOL_SIZE", 16, int),
        "RPC_TIMEOUT": rpc_timeout(),
        "RPC_BREAKER_FAILURES": rpc_breaker_failures(),
        "RPC_BREAKER_COOLDOWN": rpc_breaker_cooldown(),
        "GATEWAY_RPC_CONNECT_TIMEOUT": env("GATEWAY_RPC_CONNECT_TIMEOUT", 2.0, float),
        "GATEWAY_MAX_BODY_BYTES": env("GATEWAY_MAX_BODY_BYTES", 1024 * 1024, int),
        "GATEWAY_CORS_ORIGINS": frozenset(origins),
        "GATEWAY_CORS_MAX_AGE": env("GATEWAY_CORS_MAX_AGE", 600, int),
        "GATEWAY_RATE_LIMIT": env("GATEWAY_RATE_LIMIT", ratelimit.DEFAULT_RATE),
        "GATEWAY_RATE_BURST": env("GATEWAY_RATE_BURST", None, int),
        "GATEWAY_ACCESS_TTL": env("GATEWAY_ACCESS_TTL", 900, int),
        "GATEWAY_REFRESH_TTL": env("GATEWAY_REFRESH_TTL", 14 * 86400, int),
        "GATEWAY_JWT_ISSUER": env("GATEWAY_JWT_ISSUER", "guanxi"),
        "GATEWAY_JWT_AUDIENCE": env("GATEWAY_JWT_AUDIENCE", "guanxi-api"),
        "GATEWAY_JWT_SECRET": None,  # None: security.load_secret() (env or var/ file)
        "GATEWAY_SESSION_CHECK_SECONDS": env("GATEWAY_SESSION_CHECK_SECONDS", 5.0, float),
        "GATEWAY_LOGIN_MAX_FAILURES": env("GATEWAY_LOGIN_MAX_FAILURES", 5, int),
        "GATEWAY_LOGIN_ADDRESS_MAX_FAILURES": env("GATEWAY_LOGIN_ADDRESS_MAX_FAILURES", 20, int),
        "GATEWAY_LOGIN_LOCKOUT_BASE": env("GATEWAY_LOGIN_LOCKOUT_BASE", 2.0, float),
        "GATEWAY_LOGIN_LOCKOUT_MAX": env("GATEWAY_LOGIN_LOCKOUT_MAX", 300.0, float),
        "GATEWAY_LOGIN_FAILURE_WINDOW": env("GATEWAY_LOGIN_FAILURE_WINDOW", 900.0, float),
        "GATEWAY_TRUSTED_PROXIES": env("GATEWAY_TRUSTED_PROXIES", 0, int),
        "READY_CHECK_TIMEOUT": ready_check_timeout(),
        "LOG_LEVEL": log_level(),
        "LOG_JSON": log_json(),
        "GATEWAY_ACCESS_LOG": env("GATEWAY_ACCESS_LOG", True, bool),
    }
    config.update(overrides)
    return config


# --- the RPC pool -----------------------------------------------------------------------

class GatewayRpc:
    """``app.extensions["guanxi_rpc"]``: the process's :class:`RpcPool`, made on first use
    (so gunicorn forks before any broker connection exists) and again if the process was
    forked after that; every call is timed by target service."""

    def __init__(self, factory):
        self._factory = factory
        self._pool = None
        self._pid = None
        self._lock = threading.Lock()

    @property
    def pool(self):
        pool = self._pool
        if pool is None or self._pid != os.getpid():
            with self._lock:
                if self._pool is None or self._pid != os.getpid():
                    self._pool, self._pid = self._factory(), os.getpid()
                pool = self._pool
        return pool

    @contextmanager
    def client(self, actor=None, timeout=None, deadline=None):
        """``with rpc_pool().client() as rpc: rpc.customer.get(n)``; ``actor`` defaults to
        the request's ``g.actor``."""
        with self.pool.client(actor or _request_actor(), timeout=timeout,
                              deadline=deadline) as lease:
            yield _MeteredLease(lease)

    def gather(self, calls, timeout=None, *, actor=None):
        """``RpcPool.gather`` with the request's actor; see there."""
        metered = {name: _metered_section(fn) for name, fn in calls.items()}
        return self.pool.gather(metered, timeout=timeout, actor=actor or _request_actor())

    def stats(self):
        return self._pool.stats() if self._pool is not None else {}

    def circuits(self):
        """``{service: state}`` of the pool's circuit breakers (none before the first call)."""
        snapshot = getattr(self._pool, "circuits", None)
        return {name: c["state"] for name, c in snapshot().items()} if snapshot else {}

    def close(self):
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()


def _metered_section(fn):
    return lambda rpc: fn(_MeteredLease(rpc))


def _request_actor():
    actor = g.get("actor") if has_request_context() else None
    if actor is None:
        raise Unauthenticated("authentication required")
    return actor


class _MeteredLease:
    def __init__(self, lease):
        self._lease = lease

    def __getattr__(self, service):
        if service.startswith("_"):
            raise AttributeError(service)
        return _MeteredService(self._lease[service], service)

    __getitem__ = __getattr__


class _MeteredService:
    def __init__(self, proxy, service):
        self._proxy, self._service = proxy, service

    def __getattr__(self, method):
        if method.startswith("__"):
            raise AttributeError(method)
        target, service = getattr(self._proxy, method), self._service

        def call(*args, **kwargs):
            started, outcome = time.perf_counter(), "ok"
            try:
                return target(*args, **kwargs)
            except ServiceUnavailable:
                outcome = "unavailable"
                raise
            except GuanxiError:
                outcome = "refused"  # the service answered with a typed error
                raise
            except BaseException:
                outcome = "error"
                raise
            finally:
                RPC_LATENCY.labels(service, outcome).observe(time.perf_counter() - started)

        return call

    __getitem__ = __getattr__


def rpc_pool():
    """The current app's :class:`GatewayRpc`."""
    return current_app.extensions["guanxi_rpc"]


# --- database ---------------------------------------------------------------------------

@contextmanager
def db_session():
    """A session in its own transaction: committed on a clean exit, rolled back on an
    exception. On SQLite the unit of work serialises writers of this process."""
    uow = UnitOfWork(current_app.extensions["guanxi_db"], "gateway",
                     g.get("actor") if has_request_context() else None)
    try:
        with uow:
            yield uow.session
    finally:
        uow.close()


def token_service():
    return current_app.extensions["guanxi_tokens"]


def lockout():
    """The app's :class:`gateway.lockout.Lockout` (failed-login counters)."""
    return current_app.extensions["guanxi_lockout"]


def session_guard():
    """The app's :class:`gateway.sessions.SessionGuard` (is the token's login alive?)."""
    return current_app.extensions["guanxi_sessions"]


# --- the application --------------------------------------------------------------------

def create_app(config=None):
    """The gateway WSGI app; ``config`` overrides the environment (keys as in
    :func:`load_config`). Tests may also pass objects: ``RATE_LIMITER``, and ``RPC_POOL``
    in place of the AMQP :class:`RpcPool` (anything with its ``client``/``gather``/
    ``stats``/``close``, e.g. ``gateway.testing.FakeRpcPool``)."""
    config = load_config(config)
    app = Flask("gateway", static_folder=None)
    app.config.update(config)
    app.config["MAX_CONTENT_LENGTH"] = config["GATEWAY_MAX_BODY_BYTES"]
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    app.url_map.strict_slashes = False
    if config["LOG_JSON"]:
        logs.configure_logging("gateway", config["LOG_LEVEL"])
    if config["GATEWAY_TRUSTED_PROXIES"] > 0:
        hops = config["GATEWAY_TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    engine = make_engine(config["GATEWAY_DATABASE_URL"])
    app.extensions["guanxi_engine"] = engine
    app.extensions["guanxi_db"] = make_session_factory(engine)
    secret = config["GATEWAY_JWT_SECRET"] or security.load_secret()
    app.extensions["guanxi_tokens"] = security.TokenService(
        secret, issuer=config["GATEWAY_JWT_ISSUER"], audience=config["GATEWAY_JWT_AUDIENCE"],
        access_ttl=config["GATEWAY_ACCESS_TTL"], refresh_ttl=config["GATEWAY_REFRESH_TTL"])
    app.extensions["guanxi_lockout"] = Lockout(LockoutPolicy(
        account_failures=config["GATEWAY_LOGIN_MAX_FAILURES"],
        address_failures=config["GATEWAY_LOGIN_ADDRESS_MAX_FAILURES"],
        base_seconds=config["GATEWAY_LOGIN_LOCKOUT_BASE"],
        max_seconds=config["GATEWAY_LOGIN_LOCKOUT_MAX"],
        window_seconds=config["GATEWAY_LOGIN_FAILURE_WINDOW"]))
    app.extensions["guanxi_sessions"] = SessionGuard(
        _app_session(app), check_seconds=config["GATEWAY_SESSION_CHECK_SECONDS"])
    app.extensions["guanxi_limiter"] = config.get("RATE_LIMITER") or ratelimit.make_limiter(
        config["GATEWAY_RATE_LIMIT"], config["GATEWAY_RATE_BURST"])
    pool = config.get("RPC_POOL")
    app.extensions["guanxi_rpc"] = GatewayRpc((lambda: pool) if pool is not None else (
        lambda: RpcPool(config["AMQP_URI"], size=config["GATEWAY_RPC_POOL_SIZE"],
                        timeout=config["RPC_TIMEOUT"],
                        connect_timeout=config["GATEWAY_RPC_CONNECT_TIMEOUT"],
                        breaker_failures=config["RPC_BREAKER_FAILURES"],
                        breaker_cooldown=config["RPC_BREAKER_COOLDOWN"])))
    # gateway.http.current_actor() asks this when a view runs without g.actor set.
    app.extensions[AUTHENTICATOR] = _authenticated_actor
    app.extensions["guanxi_ready"] = ThreadPoolExecutor(max_workers=2,
                                                        thread_name_prefix="gateway-ready")

    app.before_request(_before_request)
    app.after_request(_after_request)
    app.register_error_handler(Exception, _render_error)
    _register_operational_routes(app)
    register_blueprints(app)
    return app


def _app_session(app):
    """A short transaction on ``app``'s database, usable outside a request."""
    @contextmanager
    def open_session():
        uow = UnitOfWork(app.extensions["guanxi_db"], "gateway")
        try:
            with uow:
                yield uow.session
        finally:
            uow.close()
    return open_session


def register_blueprints(app):
    """Import every module of :data:`API_MODULES` that exists and mount its blueprint
    under ``/api/v1``. A module that exists but fails to import is an error, not a skip."""
    for name in API_MODULES:
        try:
            module = import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is not None and (name == exc.name or name.startswith(exc.name + ".")):
                log.debug("endpoint module %s not present", name)
                continue
            raise
        blueprint = module.blueprint
        app.register_blueprint(blueprint, url_prefix=API_PREFIX + (blueprint.url_prefix or ""))


# --- request pipeline -------------------------------------------------------------------

def _request_id(header):
    if header and len(header) <= 128 and all(c in _REQUEST_ID_OK for c in header):
        return header
    return str(uuid.uuid4())


def _before_request():
    g.started = time.perf_counter()
    g.request_id = _request_id(request.headers.get("X-Request-ID"))
    g.actor = g.principal = None
    logs.set_context(service="gateway", request_id=g.request_id)
    if (request.method == "OPTIONS" and "Origin" in request.headers
            and "Access-Control-Request-Method" in request.headers):
        return _preflight()
    if request.endpoint in _UNGUARDED_ENDPOINTS:
        return None
    view = current_app.view_functions.get(request.endpoint)
    if view is not None and not getattr(view, PUBLIC_ATTR, False):
        try:
            _authenticate()
        except GuanxiError:
            _rate_limit(_client_key())  # failed credentials are limited per address
            raise
    _rate_limit(_principal_key() if g.principal else _client_key())
    _check_body()
    return None


def _authenticate():
    header = request.headers.get("Authorization", "")
    scheme, _, credentials = header.partition(" ")
    credentials = credentials.strip()
    if not header:
        raise Unauthenticated("authentication required: send 'Authorization: Bearer <token>'")
    if scheme.lower() != "bearer" or not credentials:
        raise security.TokenInvalid(security.MALFORMED)
    if credentials.startswith(security.API_TOKEN_PREFIX + "_"):
        with db_session() as session:
            principal = users.authenticate_api_token(session, credentials)
    else:
        claims = token_service().verify(credentials, security.ACCESS)
        session_guard().check(claims)
        principal = {"user_id": claims["sub"], "roles": claims["roles"],
                     "region": claims.get("region"), "kind": claims["kind"], "token_id": None,
                     "session_id": claims.get("sid")}
    g.actor = security.principal_to_actor(principal, g.request_id)
    g.principal = principal


def _authenticated_actor():
    if g.get("actor") is None:
        _authenticate()
    return g.actor


def _principal_key():
    principal = g.principal
    if principal.get("token_id"):
        return f"token:{principal['token_id']}"
    return f"user:{principal['user_id']}"


def _client_key():
    return f"ip:{request.remote_addr or 'unknown'}"


def _rate_limit(key):
    allowed, retry_after = current_app.extensions["guanxi_limiter"].check(key)
    if not allowed:
        raise RateLimited("rate limit exceeded; retry later",
                          {"retry_after": int(ratelimit.retry_after_header(retry_after))})


def _check_body():
    length = request.content_length
    if length is not None and length > current_app.config["GATEWAY_MAX_BODY_BYTES"]:
        raise RequestEntityTooLarge(
            f"The body may be at most {current_app.config['GATEWAY_MAX_BODY_BYTES']} bytes.")
    if request.method in _JSON_METHODS and (length or request.headers.get("Transfer-Encoding")):
        if not request.is_json:
            raise UnsupportedMediaType("The body must be JSON (Content-Type: application/json).")


def _allowed_origin():
    origin = request.headers.get("Origin")
    if origin and origin.rstrip("/") in current_app.config["GATEWAY_CORS_ORIGINS"]:
        return origin
    return None


def _preflight():
    origin = _allowed_origin()
    if origin is None:
        raise Forbidden("this origin may not call the API", {"origin": request.headers["Origin"]})
    response = Response(status=204)
    response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Access-Control-Allow-Methods"] = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
    response.headers["Access-Control-Allow-Headers"] = (
        "Authorization, Content-Type, Idempotency-Key, X-Request-ID")
    response.headers["Access-Control-Max-Age"] = str(current_app.config["GATEWAY_CORS_MAX_AGE"])
    response.headers["Vary"] = "Origin"
    return response


def _after_request(response):
    request_id = g.get("request_id")
    if request_id:
        response.headers["X-Request-ID"] = request_id
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    origin = _allowed_origin()
    if origin is not None and "Access-Control-Allow-Origin" not in response.headers:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = (
            "X-Request-ID, Retry-After, Location, WWW-Authenticate")
        response.vary.add("Origin")
    route = request.url_rule.rule if request.url_rule is not None else "unmatched"
    elapsed = time.perf_counter() - g.get("started", time.perf_counter())
    HTTP_REQUESTS.labels(request.method, route, str(response.status_code)).inc()
    HTTP_LATENCY.labels(request.method, route).observe(elapsed)
    if current_app.config["GATEWAY_ACCESS_LOG"] and request.endpoint not in _UNGUARDED_ENDPOINTS:
        log.info("%s %s %s", request.method, request.path, response.status_code,
                 extra={"http_method": request.method, "path": request.path, "route": route,
                        "status": response.status_code,
                        "duration_ms": round(elapsed * 1000, 2),
                        "user_id": g.actor.user_id if g.get("actor") else None,
                        "remote_addr": request.remote_addr})
    return response


def _render_error(exc):
    if isinstance(exc, HTTPException) and exc.code is not None and exc.code < 400:
        return exc  # routing redirects are answers, not errors
    status, body = problem_for(exc, instance=request.path, request_id=g.get("request_id"))
    response = jsonify(body)
    response.status_code = status
    response.mimetype = PROBLEM_CONTENT_TYPE
    response.headers.update(problem_headers(exc))
    if isinstance(exc, HTTPException) and exc.code == 405 and getattr(exc, "valid_methods", None):
        response.headers["Allow"] = ", ".join(exc.valid_methods)
    return response


# --- probes -----------------------------------------------------------------------------

def _register_operational_routes(app):
    app.add_url_rule("/healthz", "healthz", lambda: {"status": "ok"})
    app.add_url_rule("/readyz", "readyz", _readyz)


def _check_broker(uri, timeout):
    from kombu import Connection
    connection = Connection(uri, connect_timeout=timeout,
                            transport_options={"read_timeout": timeout,
                                               "write_timeout": timeout})
    try:
        connection.ensure_connection(max_retries=0)
    finally:
        connection.collect()
    return True


def _readyz():
    """Database and broker reachable, answered within ``READY_CHECK_TIMEOUT`` whatever
    they do (a check still running then counts as failed). The services' circuits are
    shown but do not count: a stopped service must not take every gateway out of the
    Service. Neither probe borrows a pooled RPC client, and gateway/worker.py serves both
    from threads of their own."""
    timeout = current_app.config["READY_CHECK_TIMEOUT"]
    executor = current_app.extensions["guanxi_ready"]
    checks = {
        "database": executor.submit(check_engine, current_app.extensions["guanxi_engine"]),
        "broker": executor.submit(_check_broker, current_app.config["AMQP_URI"], timeout),
    }
    wait_futures(checks.values(), timeout=timeout)
    results = {}
    for name, future in checks.items():
        if not future.done():
            results[name] = "timeout"
        elif future.exception() is not None:
            results[name] = f"error: {type(future.exception()).__name__}"
        else:
            results[name] = "ok"
    ready = all(value == "ok" for value in results.values())
    body = {"status": "ready" if ready else "not_ready", "checks": results,
            "circuits": current_app.extensions["guanxi_rpc"].circuits()}
    return jsonify(body), 200 if ready else 503
