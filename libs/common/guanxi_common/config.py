"""Configuration from environment variables with working defaults."""
import os
from pathlib import Path

DEFAULT_AMQP_URI = "amqp://guest:guest@127.0.0.1:5672/"
#: Repository root (libs/common/guanxi_common/config.py -> three levels up), var/ lives there.
PROJECT_ROOT = Path(os.environ.get("GUANXI_HOME", Path(__file__).resolve().parents[3]))
VAR_DIR = Path(os.environ.get("GUANXI_VAR_DIR", PROJECT_ROOT / "var"))

#: Default HTTP port (health, readiness, metrics) per service.
DEFAULT_HTTP_PORTS = {"customer": 8101, "sales": 8102, "service_desk": 8103,
                      "marketing": 8104, "gateway": 8000}
#: The gateway runs under gunicorn, not the runner; its address settings are named after it
#: alone (docs/api.md), a Nameko service's after the service: <SERVICE>_HTTP_PORT, HTTP_HOST.
GATEWAY = "gateway"


def env(name, default=None, cast=str):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if cast is bool:
        return value.strip().lower() in ("1", "true", "yes", "on")
    return cast(value)


def http_port(service):
    """The port of ``service``'s HTTP endpoints (the gateway's API, a service's /healthz,
    /readyz, /metrics)."""
    default = DEFAULT_HTTP_PORTS.get(service, 8100)
    if service == GATEWAY:
        return env("GATEWAY_PORT", default, int)
    return env(f"{service.upper()}_HTTP_PORT", default, int)


def http_host(service):
    """The address ``service``'s HTTP port binds to."""
    if service == GATEWAY:
        return env("GATEWAY_HOST", "0.0.0.0")
    return env("HTTP_HOST", "0.0.0.0")


# Settings that several processes read (services, gateway, command-line tools): one reader
# each, so that a name and its default exist once.

def amqp_uri():
    return env("AMQP_URI", DEFAULT_AMQP_URI)


def rpc_timeout():
    """Seconds before a call to another service fails with ServiceUnavailable."""
    return env("RPC_TIMEOUT", 5.0, float)


def rpc_breaker_failures():
    """Calls in a row to one service that got no answer before its circuit opens (0: off)."""
    return env("RPC_BREAKER_FAILURES", 5, int)


def rpc_breaker_cooldown():
    """Seconds an open circuit refuses calls before one trial call is let through."""
    return env("RPC_BREAKER_COOLDOWN", 10.0, float)


def log_level():
    return env("LOG_LEVEL", "INFO")


def log_json():
    return env("LOG_JSON", True, bool)


def ready_check_timeout():
    """Seconds each readiness check (broker, database) may take."""
    return env("READY_CHECK_TIMEOUT", 2.0, float)


def normalize_db_url(url):
    """Pin the PostgreSQL driver: SQLAlchemy 2.1 maps plain ``postgresql://`` to psycopg 3,
    while we ship psycopg2 made cooperative with eventlet by psycogreen."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix):]
    return url


def database_url(service):
    """``<SERVICE>_DATABASE_URL`` or a SQLite file under var/."""
    url = env(f"{service.upper()}_DATABASE_URL")
    if url:
        return normalize_db_url(url)
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{VAR_DIR / (service + '.db')}"


def service_config(service, **overrides):
    """The Nameko config dict for ``service`` built from the environment."""
    upper = service.upper()
    config = {
        "AMQP_URI": amqp_uri(),
        "WEB_SERVER_ADDRESS": f"{http_host(service)}:{http_port(service)}",
        "DB_URIS": {service: database_url(service)},
        "RPC_TIMEOUT": rpc_timeout(),
        "RPC_BREAKER_FAILURES": rpc_breaker_failures(),
        "RPC_BREAKER_COOLDOWN": rpc_breaker_cooldown(),
        "max_workers": env(f"{upper}_MAX_WORKERS", 10, int),
        "HEARTBEAT": env("AMQP_HEARTBEAT", 60, int),
        "OUTBOX_RELAY_ENABLED": env("OUTBOX_RELAY_ENABLED", True, bool),
        "OUTBOX_POLL_INTERVAL": env("OUTBOX_POLL_INTERVAL", 1.0, float),
        "OUTBOX_BATCH_SIZE": env("OUTBOX_BATCH_SIZE", 100, int),
        "OUTBOX_MAX_BACKOFF": env("OUTBOX_MAX_BACKOFF", 1.0, float),
        "OUTBOX_PUBLISH_TIMEOUT": env("OUTBOX_PUBLISH_TIMEOUT", 5.0, float),
        "OUTBOX_PRUNE_DAYS": env("OUTBOX_PRUNE_DAYS", None, int),
        "HANDLER_MAX_ATTEMPTS": env("HANDLER_MAX_ATTEMPTS", 5, int),
        "HANDLER_RETRY_DELAYS_MS": [int(x) for x in env("HANDLER_RETRY_DELAYS_MS", "1000,5000,30000").split(",")],
        "LOG_LEVEL": log_level(),
        "LOG_JSON": log_json(),
        "READY_CHECK_TIMEOUT": ready_check_timeout(),
    }
    config.update(overrides)
    return config
