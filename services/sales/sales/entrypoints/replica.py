"""Entrypoints that keep the customer replica: the customer events, the catch-up from the
customer service's export, and two reads. Compose with::

    class SalesService(SalesDependencies, ServiceBase, ReplicaEntrypoints, ...):
        name = "sales"

Config (environment, read at import like the other timers): ``REPLICA_CATCH_UP_INTERVAL``
seconds between catch-up attempts (default 30; the first runs when the service starts),
``REPLICA_CATCH_UP_BATCH`` records per export batch (default 1000, at most 5000).
"""
import logging

import eventlet
from nameko.timer import timer

from guanxi_common.config import env
from guanxi_common.consumers import event_handler
from guanxi_common.errors import ServiceUnavailable
from guanxi_common.validation import text_arg
from sales import replica
from sales.base import api
from sales.customers import ensure_read, find_customer

log = logging.getLogger(__name__)

REPLICA_CATCH_UP_INTERVAL = env("REPLICA_CATCH_UP_INTERVAL", 30.0, float)
REPLICA_CATCH_UP_RETRY_DELAY = 1.0
REPLICA_CATCH_UP_BATCH = min(max(env("REPLICA_CATCH_UP_BATCH", 1000, int), 1), 5000)


class ReplicaEntrypoints:
    """Needs ``uow`` and ``customer_rpc`` (SalesDependencies)."""

    # One handler (and queue) per event type. They run as the user who caused the event,
    # without roles: the replica takes every change and checks no record-level access.
    @event_handler("customer", "customer.created")
    def on_customer_created(self, event):
        self._replica_apply(event, "on_customer_created")

    @event_handler("customer", "customer.updated")
    def on_customer_updated(self, event):
        self._replica_apply(event, "on_customer_updated")

    @event_handler("customer", "customer.owner_changed")
    def on_customer_owner_changed(self, event):
        self._replica_apply(event, "on_customer_owner_changed")

    @event_handler("customer", "customer.merged")
    def on_customer_merged(self, event):
        self._replica_apply(event, "on_customer_merged")

    @event_handler("customer", "customer.erased")
    def on_customer_erased(self, event):
        self._replica_apply(event, "on_customer_erased")

    def _replica_apply(self, event, method):
        # the inbox row and the replica change commit together: a redelivery is skipped
        with self.uow as uow:
            if uow.first_delivery(event["event_id"], f"{self.name}.{method}", event["type"]):
                replica.apply_event(uow, event)

    @timer(interval=REPLICA_CATCH_UP_INTERVAL, eager=True)
    def catch_up_replica(self):
        """Until it has succeeded once: fill the replica from customer.export_batch.

        A timer has no caller, so the RPC goes out as the system actor, which
        export_batch allows (and which sees every province)."""
        def fetch_batch(after):
            return self.customer_rpc.export_batch(after=after, limit=REPLICA_CATCH_UP_BATCH,
                                                  format="jsonl")
        # The eager first tick runs while the container is still starting: its RPC can go
        # out before our reply queue is consumed, and the answer is lost. One more try a
        # second later covers that (and short blips) without waiting a whole interval.
        for attempt in (1, 2):
            try:
                replica.catch_up(self.uow, fetch_batch)
                return
            except ServiceUnavailable as exc:
                if attempt == 1:
                    eventlet.sleep(REPLICA_CATCH_UP_RETRY_DELAY)
                    continue
                # the customer service may start after us: try again on the next tick
                log.warning("customer replica catch-up postponed (%s); next try in %g s",
                            exc, REPLICA_CATCH_UP_INTERVAL)

    @api
    def replica_status(self):
        """``{customers, max_version, last_applied_at, caught_up, caught_up_at}``"""
        return replica.status(self.uow.session)

    @api
    def replica_customer(self, ref):
        """The replica row of a customer (number or id) as sales sees it, for the
        gateway's 360 view; the caller must be allowed to read that customer."""
        customer = find_customer(self.uow.session, text_arg("ref", ref, max_length=40))
        ensure_read(self.uow.actor, customer)
        return replica.ReplicaOut().dump(customer)
