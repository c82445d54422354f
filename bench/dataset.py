"""Benchmark databases: N demo customers in a SQLite file, built once and cached.

``ensure_database(count)`` returns ``var/bench/customer-<count>-g<GENERATOR_VERSION>.db``,
building it when it is missing: the customer migrations, then ``demo.bulk_rows`` inserted
with SQLAlchemy Core executemany in large transactions (journal in memory and
``synchronous=OFF`` during the load only; the file is written under a temporary name and
renamed when complete, so an interrupted build never leaves a half-filled cache). At the
end the statistics are gathered (``ANALYZE``, as ``PRAGMA optimize`` does on a live
database) and the file is put back in WAL mode, as the service runs it.
"""
import multiprocessing
import os
import sys
import time

from sqlalchemy import create_engine, event, insert, text

from customer.adapters.models import Base
from customer.tools import demo
from guanxi_common.config import PROJECT_ROOT, VAR_DIR
from guanxi_common.migrations import upgrade

BENCH_DIR = VAR_DIR / "bench"
ALEMBIC_INI = PROJECT_ROOT / "services" / "customer" / "alembic.ini"
#: Customers per transaction while loading.
TRANSACTION_SIZE = 100_000
BATCH_SIZE = 10_000


def database_path(count):
    return BENCH_DIR / f"customer-{count}-g{demo.GENERATOR_VERSION}.db"


def database_url(path):
    return f"sqlite:///{path}"


def _remove(path):
    for suffix in ("", "-wal", "-shm", "-journal"):
        try:
            os.remove(f"{path}{suffix}")
        except FileNotFoundError:
            pass


def ensure_database(count, log=print, analyze=True):
    """The path of a ready database with ``count`` demo customers (built if missing)."""
    path = database_path(count)
    if path.exists():
        log(f"  using cached {path.relative_to(PROJECT_ROOT)}")
        return path
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    building = path.with_name(path.name + ".building")
    _remove(building)
    started = time.monotonic()
    upgrade("customer", str(ALEMBIC_INI), database_url(building))
    load(building, count, log, analyze=analyze)
    if count <= RECORDS_UP_TO:
        store_records(building, log)
    os.replace(building, path)
    log(f"  built {path.relative_to(PROJECT_ROOT)} in {time.monotonic() - started:.0f} s "
        f"({path.stat().st_size / 1e6:.0f} MB)")
    return path


# The service stores each customer's record as it writes it; a bulk load bypasses the
# service, so the databases that the `get` benchmark reads get their records filled in.
RECORDS_UP_TO = 100_000


def store_records(path, log=print):
    from customer.adapters import records
    from guanxi_common.engine import make_engine
    from guanxi_common.unit_of_work import make_session_factory

    started = time.monotonic()
    engine = make_engine(database_url(path))
    with make_session_factory(engine)() as session:
        stored = records.backfill(session)
    engine.dispose()
    log(f"  stored {stored:,} customer records in {time.monotonic() - started:.0f} s")


def load(path, count, log=print, analyze=True):
    engine = create_engine(database_url(path))

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record):
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=MEMORY")
        cur.execute("PRAGMA synchronous=OFF")
        cur.execute("PRAGMA cache_size=-1000000")  # 1 GB of page cache for the indexes
        cur.execute("PRAGMA temp_store=MEMORY")
        cur.close()

    tables = {name: Base.metadata.tables[name] for name in demo.BULK_TABLES}
    started = time.monotonic()
    done = 0
    try:
        with engine.connect() as conn:
            trans = conn.begin()
            for batch in _batches(count):
                for name in demo.BULK_TABLES:
                    if batch[name]:
                        conn.execute(insert(tables[name]), batch[name])
                done += len(batch["customers"])
                if done % TRANSACTION_SIZE == 0 or done == count:
                    trans.commit()
                    rate = done / max(time.monotonic() - started, 1e-6)
                    log(f"  loaded {done:,}/{count:,} customers ({rate:,.0f}/s)")
                    trans = conn.begin()
            conn.execute(text("DELETE FROM number_sequences WHERE name = 'customer'"))
            conn.execute(text("INSERT INTO number_sequences (name, next_value) VALUES ('customer', :n)"),
                         {"n": count + 1})
            trans.commit()
            if analyze:
                t = time.monotonic()
                conn.exec_driver_sql("ANALYZE")
                conn.commit()
                log(f"  ANALYZE in {time.monotonic() - t:.0f} s")
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA journal_mode=WAL")
    finally:
        engine.dispose()


def _produce(count, queue):
    for batch in demo.bulk_rows(1, count, batch_size=BATCH_SIZE):
        queue.put(batch)
    queue.put(None)


def _batches(count):
    """``demo.bulk_rows`` computed in a second process (the other core) while this one
    inserts; a bounded queue keeps memory flat."""
    if count <= BATCH_SIZE:
        yield from demo.bulk_rows(1, count, batch_size=BATCH_SIZE)
        return
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue(maxsize=4)
    producer = ctx.Process(target=_produce, args=(count, queue), daemon=True)
    producer.start()
    try:
        while True:
            batch = queue.get(timeout=600)
            if batch is None:
                break
            yield batch
    finally:
        if producer.is_alive():
            producer.terminate()
        producer.join(10)


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        ensure_database(int(arg))
