"""Helpers shared by tests/common: waiting, queue helpers and a cuttable TCP proxy.
(Database URLs come from the guanxi_common.testing fixtures ``db_url``/``sqlite_url``.)"""
import socket
import time
import uuid
from urllib.parse import urlparse, urlunparse

import eventlet
from kombu import Connection, Exchange, Queue

def wait_for(predicate, timeout=5.0, interval=0.02):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            return value
        eventlet.sleep(interval)


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
        except OSError:
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
