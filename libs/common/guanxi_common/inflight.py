"""The last line of defence against a message that kills its consumer.

A message whose handling kills the process (a segfault, ``os._exit``, the OOM killer) or
the container (Nameko kills it when a worker dies outside the service method, e.g. in a
dependency) is never acked; the broker hands it to the next consumer with
``redelivered=True``, which dies the same way: a crash loop. To break it, every delivery
an entrypoint dispatches is written to a small local ledger first and removed once it is
acked, and a redelivered message still in the ledger tells how the previous consumer
ended:

- its consumer is gone and it was *the* message being handled when that happened (the
  worker that killed the container, or the one running when the process ended) → it is
  poison: parked, never dispatched again;
- its consumer is gone but it was only in flight beside the culprit (or the process was
  killed from outside) → run again, with a strike; at ``POISON_MAX_STRIKES`` (2) strikes
  it is parked too, which bounds the crash loop whatever the cause;
- its consumer still runs (a connection blip) → run again, as any redelivery.

With RabbitMQ quorum queues the broker's own ``x-delivery-count`` is honoured as well.

Where: ``INFLIGHT_DIR`` (default ``<GUANXI_VAR_DIR>/inflight``): ``<service>.sqlite3`` holds
the ledger (SQLite with ``synchronous=OFF``: what a process wrote survives its death, the
OS crashing is not the case here), and each running container holds an ``flock`` on its
own ``<service>-<session>.session`` file — the lock is how a ledger entry's consumer is
known to be gone, and the file's first bytes (memory-mapped, rewritten at every greenlet
switch) name the message whose worker is running, so a process that dies mid-handler
leaves the culprit's name behind. The directory must outlive a restart (it does on a
host; on Kubernetes ``var/`` is an emptyDir, which outlives container restarts). Replicas
on other hosts keep their own ledgers, so a poison message can take down each replica
at most once.
"""
import fcntl
import hashlib
import logging
import mmap
import os
import sqlite3
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse

import greenlet
from nameko.extensions import SharedExtension

log = logging.getLogger(__name__)

DEFAULT_MAX_STRIKES = 2
SLOT_SIZE = 64          # a sha256 digest in hex
EMPTY_SLOT = b"\0" * SLOT_SIZE
FORGET_AFTER_SECONDS = 7 * 86400
QUORUM_DELIVERY_COUNT = "x-delivery-count"


def decide(mark, redelivered, delivery_count, max_strikes=DEFAULT_MAX_STRIKES):
    """None to dispatch the delivery, else ``"poison: <why>"``.

    ``mark`` is the ledger entry (``alive``, ``blamed``, ``strikes``) or None.
    """
    if not redelivered:
        return None
    if isinstance(delivery_count, int) and delivery_count >= max_strikes:
        return f"poison: delivered {delivery_count + 1} times without being acked"
    if mark is None or mark["alive"]:
        return None
    if mark["blamed"]:
        return "poison: it was being handled when its consumer died"
    if mark["strikes"] + 1 >= max_strikes:
        return (f"poison: in progress each of the {mark['strikes'] + 1} times "
                "a consumer died")
    return None


class InflightLedger:
    """The ledger of one container (a *session*) in ``directory``; no Nameko in here."""

    def __init__(self, directory, service, amqp_uri):
        self.directory = Path(directory)
        self.service = service
        self.vhost = urlparse(amqp_uri).path.lstrip("/") or "/"
        self.session = uuid.uuid4().hex
        self._db = None
        self._lock_fd = None
        self._slot = None
        self._dead_sessions = set()

    # ---- session ----------------------------------------------------------------------
    def open(self):
        self.directory.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(self.directory / f"{self.service}.sqlite3"),
                                   timeout=5, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute("CREATE TABLE IF NOT EXISTS inflight (key TEXT PRIMARY KEY, "
                         "digest TEXT NOT NULL, session TEXT NOT NULL, strikes INTEGER NOT "
                         "NULL, blamed INTEGER NOT NULL, marked_at REAL NOT NULL)")
        path = self._session_path(self.session)
        self._lock_fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.ftruncate(self._lock_fd, SLOT_SIZE)
        self._slot = mmap.mmap(self._lock_fd, SLOT_SIZE)
        self._collect_dead_sessions()
        self._db.execute("DELETE FROM inflight WHERE marked_at < ?",
                         (time.time() - FORGET_AFTER_SECONDS,))

    def close(self):
        """A clean end: nothing of this session is left to blame."""
        if self._slot is not None:
            self.write_slot(None)
        path = self._session_path(self.session)
        self.abandon()
        try:
            path.unlink()
        except FileNotFoundError:
            pass

    def abandon(self):
        """Let go of the session as a dying process does (the lock, not the file)."""
        slot, self._slot = self._slot, None
        if slot is not None:
            slot.close()
        fd, self._lock_fd = self._lock_fd, None
        if fd is not None:
            os.close(fd)
        db, self._db = self._db, None
        if db is not None:
            db.close()

    def _session_path(self, session):
        return self.directory / f"{self.service}-{session}.session"

    def _collect_dead_sessions(self):
        """Turn what dead sessions left in their slot into blame; remove their files."""
        for path in self.directory.glob(f"{self.service}-*.session"):
            session = path.stem[len(self.service) + 1:]
            if session != self.session:
                self._session_alive(session)

    def _session_alive(self, session):
        if session == self.session:
            return True
        if session in self._dead_sessions:
            return False
        path = self._session_path(session)
        try:
            fd = os.open(path, os.O_RDWR)
        except FileNotFoundError:
            self._dead_sessions.add(session)  # ended, and its blame was collected
            return False
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            digest = os.pread(fd, SLOT_SIZE, 0).rstrip(b"\0").decode("ascii", "replace")
            if digest:
                self._db.execute("UPDATE inflight SET blamed = 1 WHERE session = ? AND "
                                 "digest = ?", (session, digest))
                log.warning("%s: a consumer session ended while handling a message; it "
                            "will be parked if it comes back", self.service)
            path.unlink(missing_ok=True)
            self._dead_sessions.add(session)
            return False
        finally:
            os.close(fd)

    # ---- entries ----------------------------------------------------------------------
    def key(self, queue, identity):
        return f"{self.vhost}|{queue}|{identity}"

    @staticmethod
    def digest(key):
        return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()

    def lookup(self, key):
        row = self._db.execute("SELECT session, strikes, blamed FROM inflight WHERE key = ?",
                               (key,)).fetchone()
        if row is None:
            return None
        session, strikes, blamed = row
        alive = self._session_alive(session)
        if not alive and not blamed:  # its blame may just have been collected
            blamed = self._db.execute("SELECT blamed FROM inflight WHERE key = ?",
                                      (key,)).fetchone()[0]
        return {"session": session, "strikes": strikes, "blamed": bool(blamed),
                "alive": alive}

    def mark(self, key, strikes=0):
        self._db.execute("INSERT OR REPLACE INTO inflight VALUES (?, ?, ?, ?, 0, ?)",
                         (key, self.digest(key), self.session, strikes, time.time()))

    def release(self, key):
        self._db.execute("DELETE FROM inflight WHERE key = ?", (key,))

    def blame(self, key):
        self._db.execute("UPDATE inflight SET blamed = 1 WHERE key = ?", (key,))

    def write_slot(self, digest):
        if self._slot is not None:
            self._slot[:] = digest.encode("ascii") if digest else EMPTY_SLOT


# ---- which message's worker is running, at every greenlet switch ----------------------
_running = {}        # greenlet -> (ledger, digest)
_written = [None]    # the ledger whose slot names a message now
_previous_trace = [None]
_trace_installed = [False]


def _trace(event, args):
    if event in ("switch", "throw"):
        entry = _running.get(args[1])
        current = _written[0]
        if entry is None:
            if current is not None:
                current.write_slot(None)
                _written[0] = None
        else:
            ledger, digest = entry
            if current is not None and current is not ledger:
                current.write_slot(None)
            ledger.write_slot(digest)
            _written[0] = ledger
    if _previous_trace[0] is not None:
        _previous_trace[0](event, args)


def _install_trace():
    if not _trace_installed[0]:
        _previous_trace[0] = greenlet.settrace(_trace)
        _trace_installed[0] = True


class InflightGuard(SharedExtension):
    """The container's ledger, shared by its RPC and event entrypoints.

    ``admit(queue, identity, message)`` → ``(key, verdict)``: verdict None means dispatch
    (the delivery is now in the ledger), else the poison reason and the caller parks it;
    ``running(key, worker_ctx)`` once the worker is spawned; ``release(key)`` once the
    delivery is acked, parked or requeued. Config: ``INFLIGHT_DIR``,
    ``POISON_MAX_STRIKES``, ``POISON_GUARD_ENABLED`` (default true).
    """

    def __init__(self, **kwargs):
        self.ledger = None
        self._workers = {}   # key -> (worker_ctx, its green thread)
        self._blamed = False
        super().__init__(**kwargs)

    def setup(self):
        from guanxi_common.config import VAR_DIR
        config = self.container.config
        enabled = config.get("POISON_GUARD_ENABLED", True)
        if isinstance(enabled, str):
            enabled = enabled.strip().lower() in ("1", "true", "yes", "on")
        self.max_strikes = int(config.get("POISON_MAX_STRIKES") or DEFAULT_MAX_STRIKES)
        if not enabled:
            return
        ledger = InflightLedger(config.get("INFLIGHT_DIR") or VAR_DIR / "inflight",
                                self.container.service_name, config["AMQP_URI"])
        ledger.open()
        self.ledger = ledger
        _install_trace()

    def admit(self, queue, identity, message):
        if self.ledger is None:
            return None, None
        key = self.ledger.key(queue, identity)
        redelivered = bool((message.delivery_info or {}).get("redelivered"))
        mark = self.ledger.lookup(key) if redelivered else None
        count = (message.headers or {}).get(QUORUM_DELIVERY_COUNT)
        verdict = decide(mark, redelivered, count if isinstance(count, int) else None,
                         self.max_strikes)
        if verdict is None:
            strikes = 0
            if mark is not None:
                strikes = mark["strikes"] + (0 if mark["alive"] else 1)
            self.ledger.mark(key, strikes)
        return key, verdict

    def running(self, key, worker_ctx):
        if self.ledger is None or key is None:
            return
        thread = self.container._worker_threads.get(worker_ctx)
        self._workers[key] = (worker_ctx, thread)
        if thread is not None:
            _running[thread] = (self.ledger, self.ledger.digest(key))

    def release(self, key):
        if self.ledger is None or key is None:
            return
        _, thread = self._workers.pop(key, (None, None))
        if thread is not None:
            _running.pop(thread, None)
            if thread is greenlet.getcurrent() and _written[0] is self.ledger:
                self.ledger.write_slot(None)
                _written[0] = None
        self.ledger.release(key)

    def blame_crashed_workers(self):
        """Called as the container is killed, before its workers are: a worker that has
        already left the container without its delivery being released died with it.
        Only the first call counts: Nameko kills entrypoints again after the workers."""
        if self.ledger is None or self._blamed:
            return
        self._blamed = True
        alive = self.container._worker_threads
        for key, (worker_ctx, _) in list(self._workers.items()):
            if worker_ctx not in alive:
                log.error("%s: a message killed its worker and the container; it will be "
                          "parked if it comes back", self.container.service_name)
                self.ledger.blame(key)

    def stop(self):
        self._close()

    def kill(self):
        self._close()

    def _close(self):
        ledger, self.ledger = self.ledger, None
        for _, thread in self._workers.values():
            _running.pop(thread, None)
        self._workers.clear()
        if _written[0] is ledger:
            _written[0] = None
        if ledger is not None:
            ledger.close()
