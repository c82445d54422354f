"""The customer service in a Nameko container against the real broker: RPC contract,
typed errors across the wire, events out through the outbox, events in (idempotent)."""
import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from kombu import Connection
from nameko.standalone.events import event_dispatcher
from nameko.testing.services import entrypoint_waiter

from customer.service import CustomerService
from guanxi_common.errors import Conflict, NotFound, ValidationFailed
from guanxi_common.testing.broker import bind_queue, get_messages

from customer_testkit import ADMIN, REP, REP2


@pytest.fixture
def customer_config(migrated_service_config):
    return migrated_service_config("customer", HANDLER_RETRY_DELAYS_MS=[50], HANDLER_MAX_ATTEMPTS=2)


@pytest.fixture
def customer_service(container_factory, customer_config):
    container = container_factory(CustomerService, customer_config)
    container.start()
    return container


@pytest.fixture
def event_queue(customer_config):
    """A queue bound to customer.events, declared before anything is published."""
    return bind_queue(customer_config["AMQP_URI"], "customer.events", routing_key="customer.#")


def test_create_get_search_over_rpc(customer_service, rpc_client):
    admin = rpc_client(ADMIN)
    created = admin.customer.create({"party_type": "person", "name": "张伟",
                                     "phones": [{"value": "138 0013 8000"}], "province": "北京"})
    number = created["customer"]["number"]
    assert created["warnings"] == []
    got = admin.customer.get(number)
    assert got["phones"] == [{"value": "+8613800138000", "label": None, "is_primary": False}]
    page = admin.customer.search({"q": "+86 138-0013-8000"})
    assert [c["number"] for c in page["items"]] == [number] and page["total"] == 1
    assert admin.customer.search({"name": "张伟"})["total"] == 1
    assert admin.customer.ping()["service"] == "customer"


def test_typed_errors_cross_the_wire(customer_service, rpc_client):
    admin = rpc_client(ADMIN)
    first = admin.customer.create({"party_type": "company", "name": "远东贸易有限公司",
                                   "emails": [{"value": "info@yuandong.cn"}]})["customer"]
    with pytest.raises(Conflict) as err:
        admin.customer.create({"party_type": "company", "name": "别的公司",
                               "emails": [{"value": "INFO@yuandong.cn"}]})
    assert err.value.details["existing_number"] == first["number"]
    with pytest.raises(ValidationFailed) as err:
        admin.customer.create({"party_type": "robot", "name": ""})
    assert set(err.value.details) == {"party_type", "name"}
    with pytest.raises(ValidationFailed) as err:
        admin.customer.create("not an object")
    assert "customer" in err.value.details
    with pytest.raises(ValidationFailed) as err:  # optional fields, but a phone needs its value
        admin.customer.update(first["number"], {"phones": [{"label": "mobile"}]})
    assert "phones.0.value" in err.value.details
    with pytest.raises(NotFound):
        admin.customer.get("C09999999")
    rep_owned = rpc_client(REP).customer.create({"party_type": "company", "name": "代表的公司"})
    with pytest.raises(NotFound):  # out of scope answers as a missing number would
        rpc_client(REP2).customer.get(rep_owned["customer"]["number"])


def test_events_leave_through_the_outbox(customer_service, rpc_client, event_queue, customer_config):
    admin = rpc_client(ADMIN)
    number = admin.customer.create({"party_type": "company", "name": "事件测试有限公司"})["customer"]["number"]
    admin.customer.update(number, {"tier": "A"})
    messages = get_messages(customer_config["AMQP_URI"], event_queue, 2, timeout=10)
    bodies = [json.loads(m.body) if isinstance(m.body, (str, bytes)) else m.payload for m in messages]
    assert [b["type"] for b in bodies] == ["customer.created", "customer.updated"]
    assert [b["aggregate"]["version"] for b in bodies] == [1, 2]
    assert messages[0].properties["message_id"] == bodies[0]["event_id"]
    assert messages[0].content_type == "application/json"
    assert bodies[1]["data"]["changed_fields"] == ["tier"]
    assert bodies[0]["actor"]["user_id"] == "admin-1"


def _dispatch_activity(config, event_id, customer_id, occurred_at):
    dispatch = event_dispatcher(config)
    dispatch("sales", "activity.logged", {
        "event_id": event_id, "type": "activity.logged", "schema_version": 1,
        "occurred_at": occurred_at, "source": "sales",
        "aggregate": {"type": "activity", "id": str(uuid.uuid4()), "number": None, "version": 1},
        "actor": {"user_id": "rep-1", "request_id": None},
        "data": {"customer_id": customer_id, "occurred_at": occurred_at, "activity_id": "A-1"}})


def test_activity_logged_restarts_the_pool_clock_once(customer_service, rpc_client, customer_config):
    admin = rpc_client(ADMIN)
    customer = admin.customer.create({"party_type": "company", "name": "跟进测试有限公司"})["customer"]
    at = (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat()
    event_id = str(uuid.uuid4())
    for _ in range(2):  # a redelivered event is applied once
        with entrypoint_waiter(customer_service, "on_activity_logged"):
            _dispatch_activity(customer_config, event_id, customer["id"], at)
    got = admin.customer.get(customer["number"])
    assert datetime.fromisoformat(got["last_follow_up_at"]) == datetime.fromisoformat(at)
    from prometheus_client import REGISTRY
    skipped = REGISTRY.get_sample_value("guanxi_duplicate_deliveries_skipped_total",
                                        {"service": "customer",
                                         "consumer": "customer.on_activity_logged"})
    assert skipped and skipped >= 1
    result = admin.customer.record_follow_up({"customer": customer["number"],
                                              "occurred_at": datetime.now(timezone.utc).isoformat()})
    assert result["number"] == customer["number"]


def test_bad_activity_event_is_parked_not_lost(customer_service, customer_config):
    from guanxi_common.dlq_cli import list_parked

    with entrypoint_waiter(customer_service, "on_activity_logged"):
        _dispatch_activity(customer_config, str(uuid.uuid4()), None, "not a time")
    parked = list_parked(customer_config["AMQP_URI"], "customer")
    assert len(parked) == 1
    assert "ValidationFailed" in json.dumps(parked[0], default=str)


def test_malformed_rpc_leaves_the_service_up(customer_service, rpc_client, customer_config):
    with Connection(customer_config["AMQP_URI"]) as conn:
        producer = conn.Producer()
        producer.publish(b"\xff not json", exchange="nameko-rpc", routing_key="customer.get",
                         content_type="application/json", content_encoding="binary")
        producer.publish({"args": ["x"]}, exchange="nameko-rpc", routing_key="customer.get",
                         serializer="json")  # no reply_to, no kwargs
    assert rpc_client(ADMIN).customer.search({})["total"] == 0


def test_readiness_over_http(customer_service, customer_config):
    import requests

    address = customer_config["WEB_SERVER_ADDRESS"]
    response = requests.get(f"http://{address}/readyz", timeout=5)
    assert response.status_code == 200
    assert response.json()["checks"]["database"]["ok"] is True
    assert "guanxi_entrypoint_calls_total" in requests.get(f"http://{address}/metrics", timeout=5).text


def test_export_streams_every_batch(customer_service, rpc_client):
    import io

    from customer.tools.export_cli import stream

    admin = rpc_client(ADMIN)
    numbers = [admin.customer.create({"party_type": "company", "name": f"流式导出{i}有限公司"})
               ["customer"]["number"] for i in range(5)]
    out = io.StringIO()
    assert stream(admin, out, "jsonl", batch=2) == 5
    assert [json.loads(line)["number"] for line in out.getvalue().splitlines()] == numbers
    out = io.StringIO()
    assert stream(admin, out, "csv", batch=2) == 5
    rows = out.getvalue().splitlines()
    assert rows[0].startswith("number,") and len(rows) == 6
