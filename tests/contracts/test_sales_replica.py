"""Contract tests of what sales reads of the customer service: its replica's consumer schemas
accept everything the customer producer schemas declare, for every event the replica
handles and for the export it catches up from. (Real customer payloads are loaded into
these schemas by ``test_customer_events``, which walks every ``CONSUMED_EVENTS``.)"""
import json

import pytest

from guanxi_common.contracts import compatibility
from guanxi_common.contracts import customer as producer
from guanxi_common.contracts.sales import replica as consumer
from sales.adapters.customer_client import EXPORT_FORMAT, parse_export_line
from sales.entrypoints.replica import ReplicaEntrypoints

HANDLED = sorted(event_type for (source, event_type) in consumer.CONSUMED_EVENTS)


def test_the_replica_declares_a_schema_for_every_customer_event_it_handles():
    handled = {entrypoint.event_type for method in vars(ReplicaEntrypoints).values()
               for entrypoint in getattr(method, "nameko_entrypoints", ())
               if getattr(entrypoint, "source_service", None) == "customer"}
    assert handled == set(HANDLED)
    assert {source for source, _ in consumer.CONSUMED_EVENTS} == {"customer"}


@pytest.mark.parametrize("event_type", HANDLED)
def test_the_replica_accepts_what_the_customer_service_declares(event_type):
    published = producer.PUBLISHED_EVENTS[event_type]
    for version, schema in consumer.CONSUMED_EVENTS[("customer", event_type)].items():
        assert version in published, f"sales reads version {version}, never published"
        assert compatibility.problems(published[version], schema) == []


def test_the_replica_accepts_every_export_line():
    assert compatibility.problems(producer.CustomerExportLineSchema,
                                  consumer.CustomerReplicaIn) == []
    assert producer.EXPORT_FORMAT_VERSION == EXPORT_FORMAT
    line = json.dumps({"_format": EXPORT_FORMAT, "id": "5c1e7a40-2b8d-4f2e-9a3c-7d6e5f4a3b21",
                       "number": "C00000001", "name": "深圳华为技术有限公司",
                       "party_type": "company", "status": "active", "version": 3,
                       "a_field_sales_does_not_read": True})
    record = consumer.CustomerReplicaIn().load(parse_export_line(line))
    assert (record["number"], record["version"], record["roles"]) == ("C00000001", 3, [])
