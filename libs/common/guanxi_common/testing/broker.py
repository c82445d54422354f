"""The test's own RabbitMQ vhost and what tests do on it: configs and RPC clients on it,
queues bound and read, and a TCP proxy that cuts the broker away (an outage)."""
import json
import socket
import time
import uuid
from contextlib import contextmanager
from urllib.parse import urlparse, urlunparse

import amqp
import eventlet
import pytest
from kombu import Connection, Exchange, Queue

from guanxi_common.testing.databases import migrate_service_db
from guanxi_common.testing.processes import find_free_port


@pytest.fixture
def amqp_uri(rabbit_config):
    return rabbit_config["AMQP_URI"]


@pytest.fixture
def service_config_factory(amqp_uri, tmp_path):
    from guanxi_common.config import service_config

    def make(service, **overrides):
        overrides.setdefault("AMQP_URI", amqp_uri)
        overrides.setdefault("WEB_SERVER_ADDRESS", f"127.0.0.1:{find_free_port()}")
        overrides.setdefault("DB_URIS", {service: f"sqlite:///{tmp_path / (service + '.db')}"})
        return service_config(service, **overrides)

    return make


@pytest.fixture
def migrated_service_config(service_config_factory, tmp_path):
    """``migrated_service_config(service, **overrides)``: the service's config on the test
    vhost with its own SQLite file in the test's tmp dir, migrated to head."""
    def make(service, **overrides):
        url = migrate_service_db(service, f"sqlite:///{tmp_path / (service + '.db')}")
        return service_config_factory(service, DB_URIS={service: url}, **overrides)

    return make


@pytest.fixture
def rpc_client(amqp_uri):
    from guanxi_common.rpc import cluster_rpc

    opened = []

    def make(actor=None, timeout=None):
        client = cluster_rpc(amqp_uri, actor=actor, timeout=timeout)
        proxy = client.__enter__()
        opened.append(client)
        return proxy

    yield make
    for client in reversed(opened):
        client.__exit__(None, None, None)


def bind_queue(amqp_uri, exchange_name, queue_name=None, routing_key="#", exchange_type="topic"):
    queue_name = queue_name or "test-" + uuid.uuid4().hex[:8]
    with Connection(amqp_uri) as conn:
        channel = conn.channel()
        exchange = Exchange(exchange_name, exchange_type, durable=True)
        Queue(queue_name, exchange, routing_key=routing_key, durable=True)(channel).declare()
        channel.close()
    return queue_name


def get_messages(amqp_uri, queue_name, count, timeout=5.0):
    """Up to ``count`` messages (acked) from ``queue_name`` within ``timeout`` seconds."""
    messages = []
    deadline = time.monotonic() + timeout
    with Connection(amqp_uri) as conn:
        channel = conn.channel()
        queue = Queue(queue_name)(channel)
        while len(messages) < count and time.monotonic() < deadline:
            message = queue.get(no_ack=True)
            if message is None:
                eventlet.sleep(0.02)
                continue
            messages.append(message)
        channel.close()
    return messages


class RawRpc:
    """A raw AMQP channel with a private reply queue bound to ``nameko-rpc``: for sending
    what no Nameko client would (odd bodies, properties, headers) and reading the reply."""

    def __init__(self, channel):
        self.channel = channel
        self.reply_to = f"test-reply-{uuid.uuid4().hex}"
        channel.exchange_declare("nameko-rpc", "topic", durable=True, auto_delete=False)
        channel.queue_declare(self.reply_to, exclusive=True, auto_delete=True)
        channel.queue_bind(self.reply_to, "nameko-rpc", self.reply_to)

    def publish(self, body, routing_key, **properties):
        self.channel.basic_publish(amqp.Message(body, **properties), exchange="nameko-rpc",
                                   routing_key=routing_key)

    def request(self, routing_key, args, kwargs=None):
        """A well-formed request as a plain AMQP client sends it (no expiration); returns
        its correlation id."""
        correlation_id = str(uuid.uuid4())
        self.publish(json.dumps({"args": args, "kwargs": kwargs or {}}).encode(), routing_key,
                     content_type="application/json", reply_to=self.reply_to,
                     correlation_id=correlation_id)
        return correlation_id

    def replies(self, count, timeout=10.0):
        """Up to ``count`` decoded replies by correlation id, waiting at most ``timeout``."""
        got = {}
        deadline = time.monotonic() + timeout
        while len(got) < count and time.monotonic() < deadline:
            message = self.channel.basic_get(self.reply_to, no_ack=True)
            if message is None:
                eventlet.sleep(0.02)
                continue
            got[message.properties["correlation_id"]] = json.loads(message.body)
        return got

    def get_reply(self, timeout=5.0):
        """The next message on the reply queue, or None after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = self.channel.basic_get(self.reply_to, no_ack=True)
            if message is not None:
                return message
            eventlet.sleep(0.02)
        return None


@contextmanager
def open_raw_rpc(amqp_uri):
    """A :class:`RawRpc` on a connection of its own, closed on exit."""
    with Connection(amqp_uri) as conn:
        conn.connect()
        yield RawRpc(conn.channel())


def queue_depth(amqp_uri, queue_name):
    with Connection(amqp_uri) as conn:
        channel = conn.channel()
        _, count, _ = Queue(queue_name)(channel).queue_declare(passive=True)
        channel.close()
    return count


def with_port(amqp_uri, port):
    parts = urlparse(amqp_uri)
    netloc = parts.netloc.rsplit(":", 1)[0] if ":" in parts.netloc.split("@")[-1] else parts.netloc
    return urlunparse(parts._replace(netloc=f"{netloc}:{port}"))


def proxy_to_broker(amqp_uri):
    """A started :class:`TcpProxy` to the broker of ``amqp_uri`` and the URI through it."""
    parts = urlparse(amqp_uri)
    proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5672).start()
    return proxy, with_port(amqp_uri, proxy.port)


class TcpProxy:
    """Forwards a local port to the broker; ``cut()`` drops every connection and refuses
    new ones (a broker outage), ``restore()`` listens again on the same port."""

    def __init__(self, target_host="127.0.0.1", target_port=5672):
        self.target = (target_host, target_port)
        self.port = None
        self._server = None
        self._sockets = []
        self._threads = []

    def start(self):
        server = eventlet.listen(("127.0.0.1", self.port or 0))
        self.port = server.getsockname()[1]
        self._server = server
        self._threads.append(eventlet.spawn(self._accept, server))
        return self

    restore = start

    def _accept(self, server):
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            try:
                upstream = eventlet.connect(self.target)
            except OSError:
                client.close()
                continue
            self._sockets += [client, upstream]
            self._threads.append(eventlet.spawn(self._pump, client, upstream))
            self._threads.append(eventlet.spawn(self._pump, upstream, client))

    @staticmethod
    def _pump(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except (OSError, EOFError):  # green sockets say EOFError once closed
            pass
        finally:
            for sock in (src, dst):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self):
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for sock in self._sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        self._sockets = []
        for thread in self._threads:
            thread.kill()
        self._threads = []

    stop = cut
