"""How soon a service is back once the broker is: reconnect attempts at a capped interval.

kombu's defaults wait 2 s more after each failed attempt (2, 4, 6 ... up to 30 s), so
after a long outage a consumer could sleep for most of half a minute while the broker
was already back. Attempts are cheap (one refused TCP connect), so ours come every
second at most, and a service consumes again within about a second of the broker's
return whatever the outage length.

- :data:`RECONNECT_POLICY`: the interval arguments of kombu's ``ensure_connection`` and
  of a publisher's ``retry_policy``;
- :class:`CappedQueueConsumer`: Nameko's ``QueueConsumer`` reconnecting on that policy,
  the base of every queue consumer of the chassis (RPC requests, RPC replies, events).

The outbox relay has its own loop: ``OUTBOX_MAX_BACKOFF`` between its attempts.
"""
from contextlib import contextmanager

from nameko.messaging import QueueConsumer

RECONNECT_POLICY = {"interval_start": 0.2, "interval_step": 0.4, "interval_max": 1.0}
#: For publishes: a few quick attempts; the caller's own timeout bounds the whole.
PUBLISH_RETRY_POLICY = {"max_retries": 3, **RECONNECT_POLICY}


class _Stopping(ConnectionError):
    """Ends a reconnect loop: the consumer was asked to stop."""


class CappedQueueConsumer(QueueConsumer):
    """``QueueConsumer`` whose reconnect attempts never wait more than a second apart,
    and which can be stopped or killed while the broker is away (kombu's retry loop
    never looks at ``should_stop``: Nameko's ``kill`` would wait for the broker)."""

    @contextmanager
    def establish_connection(self):
        with self.create_connection() as conn:
            conn.ensure_connection(self.on_connection_error, self.connect_max_retries,
                                   callback=self._abort_when_stopping,
                                   reraise_as_library_errors=False, **RECONNECT_POLICY)
            yield conn

    def _abort_when_stopping(self):
        if self.should_stop:
            raise _Stopping("queue consumer stopping")
