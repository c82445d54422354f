"""The raw pika RPC echo: the baseline of `make bench`.

Server (run as its own process by bench/run.py)::

    python bench/echo.py AMQP_URI QUEUE

consumes ``QUEUE`` and publishes every body back to the message's ``reply_to`` with its
``correlation_id`` — the least work an AMQP request/reply can do, on the same broker and
with the same message shape as a Nameko call. :func:`call_loop` is the client side:
sequential request/reply from one connection.
"""
import json
import sys
import time
import uuid

import pika


def serve(amqp_uri, queue):
    connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
    channel = connection.channel()
    channel.queue_declare(queue, auto_delete=True)
    channel.basic_qos(prefetch_count=10)

    def on_request(ch, method, props, body):
        ch.basic_publish("", props.reply_to, body,
                         pika.BasicProperties(correlation_id=props.correlation_id,
                                              content_type=props.content_type))
        ch.basic_ack(method.delivery_tag)

    channel.basic_consume(queue, on_request)
    print("ready", flush=True)
    try:
        channel.start_consuming()
    except KeyboardInterrupt:
        pass
    finally:
        try:
            connection.close()
        except Exception:  # the broker may have closed it already
            pass


class EchoClient:
    """One connection, one exclusive reply queue, one call at a time."""

    def __init__(self, amqp_uri, queue):
        self.queue = queue
        self.connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
        self.channel = self.connection.channel()
        self.reply_queue = self.channel.queue_declare("", exclusive=True).method.queue
        self.channel.basic_consume(self.reply_queue, self._on_reply, auto_ack=True)
        self._pending = None
        self._response = None

    def _on_reply(self, ch, method, props, body):
        if props.correlation_id == self._pending:
            self._response = body

    def call(self, payload):
        self._pending, self._response = str(uuid.uuid4()), None
        self.channel.basic_publish(
            "", self.queue, json.dumps(payload).encode(),
            pika.BasicProperties(reply_to=self.reply_queue, correlation_id=self._pending,
                                 content_type="application/json"))
        while self._response is None:
            self.connection.process_data_events(time_limit=None)
        return json.loads(self._response)

    def close(self):
        self.connection.close()


def call_loop(client, calls, payload_for):
    started = time.perf_counter()
    for i in range(calls):
        client.call(payload_for(i))
    return time.perf_counter() - started


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2])
