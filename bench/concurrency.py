"""Throughput of several client threads started together, for the benchmarks."""
import threading
import time


def run_concurrent(loops, calls_each):
    """Calls/s of one thread per ``loop(n)``, each doing ``calls_each`` sequential calls,
    started together behind a barrier; the first error a thread met is raised after the run."""
    barrier = threading.Barrier(len(loops) + 1)
    errors = []

    def run(loop):
        try:
            barrier.wait()
            loop(calls_each)
        except Exception as exc:  # reported after the run
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(loop,)) for loop in loops]
    for t in threads:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise errors[0]
    return calls_each * len(loops) / elapsed if elapsed > 0 else 0.0
