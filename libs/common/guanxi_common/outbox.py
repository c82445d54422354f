"""The outbox relay: publishes the events stored by ``uow.emit`` to ``<service>.events``.

One relay per container (a Nameko ``SharedExtension`` pulled in by
:class:`guanxi_common.unit_of_work.UnitOfWorkProvider`, which also registers its engine here).
A green thread publishes unpublished rows in id order — persistent, with publisher
confirms, ``message_id`` = event id, ``type`` = routing key = event type, the stored JSON
verbatim as body — and marks them ``published_at``. It is woken right after a commit
that emitted events and polls every ``OUTBOX_POLL_INTERVAL`` seconds for rows written
by other processes or left by a crash.

A publish failure stops the pass at that row (order is kept, nothing is skipped),
records ``attempts``/``last_error`` and backs off until the broker answers again, never
waiting more than ``OUTBOX_MAX_BACKOFF`` between attempts, so events flow again within
about a second of the broker's return however long it was away (an attempt while it is
away costs a refused connect and one row update).
On PostgreSQL a transaction-scoped advisory lock makes sure only one replica
publishes a service's outbox at a time.

Config: ``OUTBOX_RELAY_ENABLED`` (default true), ``OUTBOX_POLL_INTERVAL`` (s, 1.0),
``OUTBOX_BATCH_SIZE`` (100), ``OUTBOX_MAX_BACKOFF`` (s, 1.0), ``OUTBOX_PUBLISH_TIMEOUT``
(s, 5.0), ``OUTBOX_PRUNE_DAYS`` (published rows older than this are deleted; unset = keep).
"""
import datetime as _dt
import logging
import time

import eventlet
from eventlet.event import Event
from kombu import Connection, Producer
from nameko.constants import AMQP_SSL_CONFIG_KEY, LOGIN_METHOD_CONFIG_KEY
from nameko.extensions import SharedExtension
from sqlalchemy import func, select, text, update

from guanxi_common import metrics
from guanxi_common.engine import advisory_key, make_engine, relay_lock, write_lock
from guanxi_common.events import CONTENT_TYPE, events_exchange, loads, utcnow
from guanxi_common.messaging_models import outbox_events

log = logging.getLogger(__name__)

STOP_GRACE_SECONDS = 3.0
PRUNE_EVERY_SECONDS = 3600


def config_flag(value, default=True):
    """Config booleans may come from YAML (bool) or the environment (string)."""
    if value is None:
        return default
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


class OutboxRelay(SharedExtension):

    def __init__(self, **kwargs):
        # Bound instances get their own state; the provider may register before our
        # setup() runs (Nameko sets extensions up concurrently).
        self._targets = {}   # service name -> engine
        self._engines = {}   # url -> engine (one per container)
        self._wake = Event()
        self._stopped = Event()
        self._stopping = False
        self._gt = None
        self._conn = None
        self._producer = None
        self._declared = set()
        self._last_prune = None
        super().__init__(**kwargs)

    # --- configuration -------------------------------------------------------------
    def _cfg(self, key, default):
        value = self.container.config.get(key)
        return default if value is None else value

    @property
    def enabled(self):
        return config_flag(self.container.config.get("OUTBOX_RELAY_ENABLED"), True)

    def register(self, service_name, url, **engine_kwargs):
        """Engine for ``url`` (created once per container); publish ``service_name``'s outbox."""
        engine = self._engines.get(url)
        if engine is None:
            engine = self._engines[url] = make_engine(url, **engine_kwargs)
        self._targets[service_name] = engine
        return engine

    # --- lifecycle -----------------------------------------------------------------
    def start(self):
        if not self.enabled:
            log.info("outbox relay disabled (OUTBOX_RELAY_ENABLED=false)")
            return
        if self._targets and self._gt is None:
            self._gt = self.container.spawn_managed_thread(self._run, identifier="outbox_relay")

    def wake(self, *_args):
        if not self._wake.ready():
            self._wake.send(True)

    def stop(self):
        self._stopping = True
        if not self._stopped.ready():
            self._stopped.send(True)
        self.wake()
        gt, self._gt = self._gt, None
        if gt is not None:
            try:
                with eventlet.Timeout(STOP_GRACE_SECONDS + 1):
                    gt.wait()
            except eventlet.Timeout:
                log.warning("outbox relay did not stop in time; killing it")
                gt.kill()
            except Exception:  # the thread's own error was logged already
                pass
        self._close_connection()
        self._dispose()

    def kill(self):
        self._stopping = True
        gt, self._gt = self._gt, None
        if gt is not None:
            gt.kill()
        self._close_connection()
        self._dispose()

    def _dispose(self):
        for engine in self._engines.values():
            engine.dispose()

    # --- main loop -----------------------------------------------------------------
    def _run(self):
        poll = float(self._cfg("OUTBOX_POLL_INTERVAL", 1.0))
        max_backoff = float(self._cfg("OUTBOX_MAX_BACKOFF", 1.0))
        backoff = 0.0
        while True:
            if self._wake.ready():
                self._wake.reset()  # before the pass: a commit during it wakes us again
            if self._stopping:
                if backoff == 0.0:  # one last bounded pass for events of the last workers
                    with eventlet.Timeout(STOP_GRACE_SECONDS, False):
                        self._pass()
                return
            state = self._pass()
            if state == "failed":
                backoff = min(max(0.25, backoff * 2), max_backoff)
                # not woken by commits while the broker is away, only by stop
                self._stopped.wait(backoff)
                continue
            backoff = 0.0
            self._wake.wait(0.2 if state == "busy" else poll)

    def _pass(self):
        """Publish every target's backlog: 'ok', 'busy' (another replica holds it) or 'failed'."""
        result = "ok"
        for service_name, engine in list(self._targets.items()):
            try:
                if engine.dialect.name == "postgresql":
                    state = self._drain_locked(service_name, engine)
                else:
                    state = self._drain_simple(service_name, engine)
                if state == "ok":
                    self._maybe_prune(engine)
            except Exception as exc:
                log.warning("outbox relay for %s: %s: %s", service_name, type(exc).__name__, exc)
                state = "failed"
            if state != "ok" and result != "failed":
                result = state
        return result

    def _select_batch(self, conn):
        batch = int(self._cfg("OUTBOX_BATCH_SIZE", 100))
        c = outbox_events.c
        return conn.execute(
            select(c.id, c.event_id, c.event_type, c.payload)
            .where(c.published_at.is_(None)).order_by(c.id).limit(batch)).all()

    def _update_backlog(self, service_name, conn):
        count = conn.execute(select(func.count()).select_from(outbox_events)
                             .where(outbox_events.c.published_at.is_(None))).scalar()
        metrics.OUTBOX_BACKLOG.labels(service_name).set(count)

    def _drain_simple(self, service_name, engine):
        """SQLite: read a batch, publish row by row, mark each one in a short write
        transaction under the file's in-process lock (never held while publishing)."""
        lock = write_lock(engine)
        busy = relay_lock(engine)
        if busy is not None and not busy.acquire(blocking=False):
            return "busy"  # another container of this process is publishing this outbox
        try:
            return self._drain_rows(service_name, engine, lock)
        finally:
            if busy is not None:
                busy.release()

    def _drain_rows(self, service_name, engine, lock):
        while True:
            with engine.connect() as conn:
                rows = self._select_batch(conn)
                self._update_backlog(service_name, conn)
            if not rows:
                return "ok"
            for row in rows:
                error = self._publish(service_name, row)
                if lock is not None:
                    lock.acquire()
                try:
                    with engine.begin() as conn:
                        self._record(conn, service_name, row, error)
                finally:
                    if lock is not None:
                        lock.release()
                if error is not None:
                    return "failed"
            if self._stopping:
                return "ok"

    def _drain_locked(self, service_name, engine):
        """PostgreSQL: the whole batch in one transaction holding the service's advisory
        lock, so two replicas never interleave (and so never reorder) publishing."""
        while True:
            with engine.connect() as conn:
                with conn.begin():
                    got = conn.execute(text("SELECT pg_try_advisory_xact_lock(:k)"),
                                       {"k": advisory_key(f"guanxi-outbox:{service_name}")}).scalar()
                    if not got:
                        return "busy"
                    rows = self._select_batch(conn)
                    error = None
                    for row in rows:
                        error = self._publish(service_name, row)
                        self._record(conn, service_name, row, error)
                        if error is not None:
                            break
                    self._update_backlog(service_name, conn)
            if error is not None:
                return "failed"
            if not rows or self._stopping:
                return "ok"

    def _record(self, conn, service_name, row, error):
        c = outbox_events.c
        if error is None:
            conn.execute(update(outbox_events).where(c.id == row.id)
                         .values(published_at=utcnow()))
            metrics.OUTBOX_PUBLISHED.labels(service_name).inc()
        else:
            conn.execute(update(outbox_events).where(c.id == row.id)
                         .values(attempts=c.attempts + 1, last_error=error[:2000]))
            metrics.OUTBOX_PUBLISH_FAILURES.labels(service_name).inc()

    # --- publishing ----------------------------------------------------------------
    def _connect(self):
        config = self.container.config
        conn = Connection(config["AMQP_URI"], ssl=config.get(AMQP_SSL_CONFIG_KEY),
                          login_method=config.get(LOGIN_METHOD_CONFIG_KEY),
                          transport_options={"confirm_publish": True},
                          connect_timeout=float(self._cfg("OUTBOX_PUBLISH_TIMEOUT", 5.0)),
                          heartbeat=0)
        # kombu's connect() sleeps 2 s before its one retry; we have our own backoff
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, interval_max=0)
        self._conn = conn
        self._producer = Producer(conn.channel())
        self._declared = set()

    def _close_connection(self):
        conn, self._conn, self._producer = self._conn, None, None
        if conn is not None:
            try:
                conn.release()
            except Exception:
                pass

    def _publish(self, service_name, row):
        """Publish one row; None on a confirmed publish, else the error text."""
        reused = self._conn is not None
        for attempt in (1, 2):
            try:
                if self._conn is None:
                    self._connect()
                self._publish_once(service_name, row)
                return None
            except Exception as exc:
                self._close_connection()
                # a long-idle connection may have been dropped silently: one fresh retry
                if attempt == 1 and reused:
                    continue
                log.warning("outbox publish of %s failed: %s: %s",
                            row.event_id, type(exc).__name__, exc)
                return f"{type(exc).__name__}: {exc}"
        return "unreachable"  # pragma: no cover

    def _publish_once(self, service_name, row):
        exchange = events_exchange(service_name)
        if exchange.name not in self._declared:
            exchange(self._producer.channel).declare()
            self._declared.add(exchange.name)
        headers = {}
        try:  # carry the actor as Nameko context data so consumers' audit trail has it
            actor = loads(row.payload).get("actor") or {}
            for key in ("user_id", "request_id"):
                if actor.get(key):
                    headers[f"nameko.{key}"] = str(actor[key])
        except (ValueError, AttributeError):
            pass
        timeout = float(self._cfg("OUTBOX_PUBLISH_TIMEOUT", 5.0))
        self._producer.publish(
            row.payload, exchange=exchange, routing_key=row.event_type,
            delivery_mode=2, content_type=CONTENT_TYPE, content_encoding="utf-8",
            message_id=row.event_id, type=row.event_type, app_id=service_name,
            timestamp=int(time.time()), headers=headers, retry=False,
            timeout=timeout, confirm_timeout=timeout)

    # --- housekeeping --------------------------------------------------------------
    def _maybe_prune(self, engine):
        days = self.container.config.get("OUTBOX_PRUNE_DAYS")
        if not days or (self._last_prune is not None
                        and time.monotonic() - self._last_prune < PRUNE_EVERY_SECONDS):
            return
        self._last_prune = time.monotonic()
        cutoff = utcnow() - _dt.timedelta(days=float(days))
        lock = write_lock(engine)
        if lock is not None:
            lock.acquire()
        try:
            with engine.begin() as conn:
                conn.execute(outbox_events.delete().where(
                    outbox_events.c.published_at.is_not(None),
                    outbox_events.c.published_at < cutoff))
        finally:
            if lock is not None:
                lock.release()
