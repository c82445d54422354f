"""Entrypoints that keep the customer replica: the customer events, the catch-up from the
customer service's export (settings: ``sales.dependencies.REPLICA_CATCH_UP``), and two
reads.
"""
import logging

import eventlet
from nameko.timer import timer

from guanxi_common.consumers import event_handler
from guanxi_common.contracts.sales.references import REPLICA_REF_MAX
from guanxi_common.contracts.sales.replica import ReplicaOut, ReplicaStatusOut
from guanxi_common.errors import ServiceUnavailable
from guanxi_common.validation import text_arg
from sales.adapters.customer_client import export_batches
from sales.application import replica
from sales.dependencies import REPLICA_CATCH_UP
from sales.entrypoints import api
from sales.queries import replica as replica_queries

log = logging.getLogger(__name__)


class ReplicaEntrypoints:
    """Needs the service's ``uow`` and ``customer_rpc``."""

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

    @timer(interval=REPLICA_CATCH_UP.interval, eager=True)
    def catch_up_replica(self):
        """Until it has succeeded once: fill the replica from customer.export_batch.

        A timer has no caller, so the RPC goes out as the system actor, which
        export_batch allows (and which sees every province)."""
        fetch_batch = export_batches(self.customer_rpc, REPLICA_CATCH_UP.batch_size)
        # The eager first tick runs while the container is still starting: its RPC can go
        # out before our reply queue is consumed, and the answer is lost. One more try a
        # second later covers that (and short blips) without waiting a whole interval.
        for attempt in (1, 2):
            try:
                replica.catch_up(self.uow, fetch_batch)
                return
            except ServiceUnavailable as exc:
                if attempt == 1:
                    eventlet.sleep(REPLICA_CATCH_UP.retry_delay)
                    continue
                # the customer service may start after us: try again on the next tick
                log.warning("customer replica catch-up postponed (%s); next try in %g s",
                            exc, REPLICA_CATCH_UP.interval)

    @api
    def replica_status(self):
        """``{customers, max_version, last_applied_at, caught_up, caught_up_at}``"""
        return ReplicaStatusOut().dump(replica_queries.status(self.uow.session))

    @api
    def replica_customer(self, ref):
        """The replica row of a customer (number or id) as sales sees it, for the
        gateway's 360 view; the caller must be allowed to read that customer."""
        return ReplicaOut().dump(replica_queries.replica_customer(
            self.uow.session, self.uow.actor, text_arg("ref", ref, max_length=REPLICA_REF_MAX)))
