"""Waiting for something asynchronous to happen, without sleeping longer than needed."""
import time

import eventlet


def wait_for(predicate, timeout=5.0, interval=0.02):
    """Poll ``predicate`` until it returns something truthy or ``timeout`` seconds pass;
    returns its last value (so ``assert wait_for(...)`` shows what was seen). Sleeps
    green, so services running in this process keep working meanwhile."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            return value
        eventlet.sleep(interval)
