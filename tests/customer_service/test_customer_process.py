"""The customer service as a real process: a committed change's event survives kill -9."""
import json
import uuid

from kombu import Connection, Exchange, Queue

from customer_testkit import ADMIN, ALEMBIC_INI
from guanxi_common.migrations import upgrade


TARGET = "customer.service:CustomerService"


def test_event_survives_kill_9_between_commit_and_publish(service_process, service_config_factory,
                                                         rpc_client, tmp_path):
    url = f"sqlite:///{tmp_path / 'customer.db'}"
    upgrade("customer", str(ALEMBIC_INI), url)
    config = service_config_factory("customer", DB_URIS={"customer": url},
                                    OUTBOX_RELAY_ENABLED=False)
    queue = Queue(f"kill9-{uuid.uuid4().hex}", Exchange("customer.events", "topic", durable=True),
                  routing_key="customer.created")
    with Connection(config["AMQP_URI"]) as conn:
        queue.maybe_bind(conn)
        queue.declare()

    first = service_process(TARGET, config)
    number = rpc_client(ADMIN).customer.create({"party_type": "company",
                                               "name": "断电测试有限公司"})["customer"]["number"]
    first.kill()  # committed, the relay never ran: nothing may have left yet
    with Connection(config["AMQP_URI"]) as conn, conn.SimpleQueue(queue) as simple:
        assert simple.qsize() == 0

    service_process(TARGET, dict(config, OUTBOX_RELAY_ENABLED=True))
    with Connection(config["AMQP_URI"]) as conn, conn.SimpleQueue(queue) as simple:
        message = simple.get(timeout=15)
        message.ack()
    body = json.loads(message.body)
    assert body["type"] == "customer.created" and body["aggregate"]["number"] == number
    assert message.properties["message_id"] == body["event_id"]
