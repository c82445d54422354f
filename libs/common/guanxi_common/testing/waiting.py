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


def wait_until(predicate, timeout=20.0, interval=0.1, what=None):
    """Like :func:`wait_for`, but fails the test (``AssertionError`` naming ``what``, else
    the predicate's docstring) when ``predicate`` stays falsy for ``timeout`` seconds."""
    value = wait_for(predicate, timeout, interval)
    if not value:
        raise AssertionError(f"{what or predicate.__doc__ or predicate} not reached "
                             f"within {timeout} s")
    return value
