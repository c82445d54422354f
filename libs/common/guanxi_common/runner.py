"""Run one Guanxi service in the foreground.

    python -m guanxi_common.runner customer

Steps: eventlet monkey patch, logging (``guanxi_common.logs``), migrations
(``guanxi_common.migrations.upgrade`` with ``services/<name>/alembic.ini``, unless
``MIGRATE_ON_START=false``), the Nameko config (``guanxi_common.config.service_config``),
the service class (the class in ``<name>.service`` whose ``name`` is ``<name>``), then
Nameko's ``ServiceRunner``.

SIGTERM and SIGINT start a graceful stop (Nameko waits for running workers); if that has
not finished after ``SHUTDOWN_TIMEOUT`` seconds (default 8) the runner is killed, and one
second later the process ends regardless, so a stop never takes more than
``SHUTDOWN_TIMEOUT + 1`` seconds. A second signal during the stop kills at once.

Exit codes: 0 clean stop, 2 usage/configuration error, 3 service import error,
4 migration error, 5 forced stop (graceful stop timed out).
"""
# Nameko needs eventlet's monkey patch before anything else is imported (eventlet's
# deprecation notice is noise in every service's log, hence the filter first).
import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()  # noqa: E402

import eventlet.hubs  # noqa: E402

import argparse  # noqa: E402
import errno  # noqa: E402
import importlib  # noqa: E402
import inspect  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

EXIT_CONFIG = 2
EXIT_IMPORT = 3
EXIT_MIGRATION = 4
EXIT_FORCED = 5
DEFAULT_SHUTDOWN_TIMEOUT = 8.0

log = logging.getLogger("guanxi_common.runner")


class RunnerError(Exception):
    """A start-up failure with the exit code the process should end with."""

    def __init__(self, message, code=EXIT_CONFIG):
        super().__init__(message)
        self.code = code


# -- steps ------------------------------------------------------------------------------

def setup_logging(service, level):
    try:
        from guanxi_common.logs import configure_logging
    except ImportError as exc:
        logging.basicConfig(
            level=level, stream=sys.stdout,
            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        log.warning("guanxi_common.logs is not available (%s); using plain text logging", exc)
        return
    configure_logging(service, level)
    # alembic announces each of its plugins at INFO on every start.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


def shutdown_timeout():
    from guanxi_common.config import env
    try:
        value = env("SHUTDOWN_TIMEOUT", DEFAULT_SHUTDOWN_TIMEOUT, float)
    except ValueError:
        raise RunnerError(
            f"SHUTDOWN_TIMEOUT must be a number of seconds, got {os.environ['SHUTDOWN_TIMEOUT']!r}")
    if value <= 0:
        raise RunnerError(f"SHUTDOWN_TIMEOUT must be positive, got {value}")
    return value


def build_config(service):
    from guanxi_common.config import service_config
    try:
        return service_config(service)
    except (ValueError, TypeError) as exc:
        raise RunnerError(f"invalid configuration for {service}: {exc}")


def import_service(service):
    """The class in ``<service>.service`` whose ``name`` is ``service``."""
    module_name = f"{service}.service"
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        if getattr(exc, "name", None) in (service, module_name):
            raise RunnerError(
                f"cannot import {module_name!r}: is services/{service} installed "
                f"(`make venv`) or on PYTHONPATH? ({exc})", EXIT_IMPORT)
        raise RunnerError(f"importing {module_name!r} failed: {exc!r}", EXIT_IMPORT)
    except Exception as exc:
        raise RunnerError(f"importing {module_name!r} failed: {exc!r}", EXIT_IMPORT)

    candidates = [obj for _, obj in inspect.getmembers(module, inspect.isclass)
                  if getattr(obj, "name", None) == service]
    own = [cls for cls in candidates if cls.__module__ == module.__name__]
    found = own or candidates
    if not found:
        raise RunnerError(
            f"no class with name = {service!r} in module {module_name!r}", EXIT_IMPORT)
    if len(found) > 1:
        names = ", ".join(cls.__qualname__ for cls in found)
        raise RunnerError(
            f"more than one class with name = {service!r} in {module_name!r}: {names}",
            EXIT_IMPORT)
    return module, found[0]


def alembic_ini_for(service, module):
    """``<SERVICE>_ALEMBIC_INI``, else services/<service>/alembic.ini, else next to the package."""
    from guanxi_common.config import PROJECT_ROOT, env
    explicit = env(f"{service.upper()}_ALEMBIC_INI")
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise RunnerError(f"{service.upper()}_ALEMBIC_INI={explicit} does not exist",
                              EXIT_MIGRATION)
        return path
    candidates = [PROJECT_ROOT / "services" / service / "alembic.ini"]
    module_file = getattr(module, "__file__", None)
    if module_file:
        # services/<service>/<service>/service.py -> services/<service>/alembic.ini
        candidates.append(Path(module_file).resolve().parents[1] / "alembic.ini")
    for path in candidates:
        if path.is_file():
            return path
    return None


def migrate(service, module):
    from guanxi_common.config import env
    if not env("MIGRATE_ON_START", True, bool):
        log.info("MIGRATE_ON_START is off: not applying %s migrations", service)
        return
    ini = alembic_ini_for(service, module)
    if ini is None:
        log.warning("no alembic.ini for %s: no migrations to apply", service)
        return
    try:
        from guanxi_common.migrations import upgrade
    except ImportError as exc:
        raise RunnerError(
            f"cannot apply migrations: guanxi_common.migrations is not available ({exc}); "
            "set MIGRATE_ON_START=false to start without them", EXIT_MIGRATION)
    log.info("applying %s migrations (%s)", service, ini)
    try:
        upgrade(service, str(ini))
    except Exception as exc:
        log.exception("migrations of %s failed", service)
        raise RunnerError(f"migrations of {service} failed: {exc!r}", EXIT_MIGRATION)


# -- running ----------------------------------------------------------------------------

def wake_hub_on_signals():
    """Make a signal wake the eventlet hub at once.

    A Python signal handler runs while the hub sits in epoll; the hub then goes back to
    sleep until its next timer, so greenlets the handler spawned could wait a second or
    more. With a wakeup fd the kernel-level handler writes to a pipe the hub watches.
    """
    read_fd, write_fd = os.pipe()
    os.set_blocking(read_fd, False)
    os.set_blocking(write_fd, False)
    signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)

    def drain():
        while True:
            eventlet.hubs.trampoline(read_fd, read=True)
            try:
                os.read(read_fd, 512)
            except BlockingIOError:
                pass

    eventlet.spawn_n(drain)


def run(service_cls, config, timeout):
    """Run ``service_cls`` until SIGTERM/SIGINT; returns the exit code."""
    from nameko.runners import ServiceRunner

    runner = ServiceRunner(config)
    runner.add_service(service_cls)
    state = {"stopping": False, "forced": False}

    def hard_deadline(signum, frame):
        # Last resort, in case even kill() is stuck: leave without further ado.
        sys.stderr.write(f"{service_cls.name}: stop did not finish in time; exiting\n")
        sys.stderr.flush()
        os._exit(EXIT_FORCED)

    def kill(reason):
        if state["forced"]:
            return
        state["forced"] = True
        log.warning("%s; killing %s", reason, service_cls.name)
        try:
            runner.kill()
        except Exception:
            log.exception("killing %s failed", service_cls.name)
            os._exit(EXIT_FORCED)

    def graceful_stop(deadline):
        stopper = eventlet.spawn(runner.stop)
        try:
            with eventlet.Timeout(max(deadline - time.monotonic(), 0.1)):
                stopper.wait()
        except eventlet.Timeout:
            kill(f"graceful stop did not finish within {timeout:g} s")
        except Exception:
            log.exception("graceful stop of %s failed", service_cls.name)
            kill("graceful stop failed")

    def on_signal(signum, frame):
        # Signal handlers run in the main loop and must not block on eventlet
        # primitives: do the work in greenlets.
        name = signal.Signals(signum).name
        if state["stopping"]:
            log.warning("%s during the stop", name)
            eventlet.spawn_n(kill, f"second {name}")
            return
        state["stopping"] = True
        log.info("%s received: stopping %s (at most %g s)", name, service_cls.name, timeout)
        signal.signal(signal.SIGALRM, hard_deadline)
        signal.setitimer(signal.ITIMER_REAL, timeout + 1.0)
        eventlet.spawn_n(graceful_stop, time.monotonic() + timeout)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    wake_hub_on_signals()

    runner.start()
    log.info("%s running (%s)", service_cls.name, config.get("WEB_SERVER_ADDRESS"))
    runnlet = eventlet.spawn(runner.wait)
    while True:
        try:
            runnlet.wait()
        except OSError as exc:
            # A signal arriving while the hub waits on a socket surfaces here.
            if exc.errno == errno.EINTR:
                continue
            raise
        break
    signal.setitimer(signal.ITIMER_REAL, 0)
    log.info("%s stopped%s", service_cls.name, " (forced)" if state["forced"] else "")
    return EXIT_FORCED if state["forced"] else 0


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m guanxi_common.runner",
        description="Run one Guanxi service in the foreground.")
    parser.add_argument("service", help="service name, e.g. customer")
    parser.add_argument("--no-migrate", action="store_true",
                        help="do not apply migrations on start (same as MIGRATE_ON_START=false)")
    args = parser.parse_args(argv)
    service = args.service
    if args.no_migrate:
        os.environ["MIGRATE_ON_START"] = "false"

    try:
        from guanxi_common.config import log_level
        level = log_level().upper()
        if not isinstance(logging.getLevelName(level), int):
            raise RunnerError(f"LOG_LEVEL={level!r} is not a logging level")
        setup_logging(service, level)
        timeout = shutdown_timeout()
        module, service_cls = import_service(service)
        migrate(service, module)
        config = build_config(service)
    except RunnerError as exc:
        sys.stderr.write(f"guanxi runner: {service}: {exc}\n")
        return exc.code

    try:
        return run(service_cls, config, timeout)
    except Exception as exc:
        log.exception("%s crashed", service)
        sys.stderr.write(f"guanxi runner: {service}: {exc!r}\n")
        return 1


if __name__ == "__main__":
    sys.exit(main())
