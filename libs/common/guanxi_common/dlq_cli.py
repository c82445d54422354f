"""Inspect and re-drive messages parked on ``<service>.dlq``.

    python -m guanxi_common.dlq_cli list SERVICE [--amqp-uri URI] [--limit N]
    python -m guanxi_common.dlq_cli redrive SERVICE (--message-id ID ... | --all) [--amqp-uri URI]

``list`` reads without consuming: it gets the messages unacknowledged and closes the
channel, which returns them to the queue in their order. ``redrive`` republishes a
message to the queue it was consumed from (header ``x-original-queue``) with its attempt
count reset, waits for the broker's confirm and only then acks it from the DLQ, so a
failure leaves it parked. Messages not selected stay parked.
"""
import argparse
import logging
import sys

from amqp.exceptions import NotFound
from kombu import Connection, Producer

from guanxi_common import metrics
from guanxi_common.config import amqp_uri
from guanxi_common.consumers import (ATTEMPTS_HEADER, CONSUMER_HEADER, ERROR_MESSAGE_HEADER,
                                     ERROR_TRACEBACK_HEADER, ERROR_TYPE_HEADER,
                                     ORIGINAL_EXCHANGE_HEADER, ORIGINAL_QUEUE_HEADER,
                                     ORIGINAL_ROUTING_KEY_HEADER, PARK_REASON_HEADER,
                                     PARKED_AT_HEADER, carried_properties, dead_letter_queue,
                                     dlq_name)
from guanxi_common.events import iso_utc, utcnow

log = logging.getLogger(__name__)

# Bookkeeping of the failed attempts; dropped when a message gets a fresh start.
RESET_HEADERS = (ATTEMPTS_HEADER, ERROR_TYPE_HEADER, ERROR_MESSAGE_HEADER,
                 ERROR_TRACEBACK_HEADER, PARKED_AT_HEADER, PARK_REASON_HEADER)


def _connect(amqp_uri):
    # confirm_publish: redrive acks a parked message only after the broker confirmed its copy
    return Connection(amqp_uri, transport_options={"confirm_publish": True}, connect_timeout=10)


def _text(value):
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return "" if value is None else str(value)


def describe(message, excerpt=200):
    headers = message.headers or {}
    body = _text(message.body)
    return {
        "message_id": (message.properties or {}).get("message_id"),
        "original_queue": _text(headers.get(ORIGINAL_QUEUE_HEADER)),
        "original_exchange": _text(headers.get(ORIGINAL_EXCHANGE_HEADER)),
        "original_routing_key": _text(headers.get(ORIGINAL_ROUTING_KEY_HEADER)),
        "consumer": _text(headers.get(CONSUMER_HEADER)),
        "reason": _text(headers.get(PARK_REASON_HEADER)),
        "error_type": _text(headers.get(ERROR_TYPE_HEADER)),
        "error_message": _text(headers.get(ERROR_MESSAGE_HEADER)),
        "attempts": headers.get(ATTEMPTS_HEADER),
        "parked_at": _text(headers.get(PARKED_AT_HEADER)),
        "content_type": message.content_type,
        "body_excerpt": body if len(body) <= excerpt else body[:excerpt] + "…",
        "headers": dict(headers),
    }


def _dlq_exists(conn, service):
    # passive: looking must not create a queue (e.g. for a mistyped service name)
    channel = conn.channel()
    try:
        channel.queue_declare(queue=dlq_name(service), passive=True)
        return True
    except NotFound:
        return False
    finally:
        try:
            channel.close()
        except Exception:
            pass


def list_parked(amqp_uri, service, limit=1000, excerpt=200):
    """Parked messages of ``service`` (oldest first), left on the queue."""
    parked = []
    with _connect(amqp_uri) as conn:
        if not _dlq_exists(conn, service):
            return []
        channel = conn.channel()
        queue = dead_letter_queue(service)(channel)
        while len(parked) < limit:
            message = queue.get(no_ack=False)
            if message is None:
                break
            parked.append(describe(message, excerpt))
        channel.close()  # the unacked messages go back, in order
    return parked


def dlq_depth(amqp_uri, service):
    """Number of parked messages; also sets the ``guanxi_dlq_depth`` gauge."""
    with _connect(amqp_uri) as conn:
        count = 0
        if _dlq_exists(conn, service):
            channel = conn.channel()
            _, count, _ = dead_letter_queue(service)(channel).queue_declare(passive=True)
            channel.close()
    metrics.DLQ_DEPTH.labels(service).set(count)
    return count


def redrive(amqp_uri, service, message_ids=None, limit=100_000):
    """Re-drive the parked messages with these ids (all when None); returns the ids done."""
    wanted = set(message_ids) if message_ids is not None else None
    done = []
    with _connect(amqp_uri) as conn:
        if not _dlq_exists(conn, service):
            return done
        channel = conn.channel()
        queue = dead_letter_queue(service)(channel)
        producer = Producer(conn.channel())
        seen = 0
        while seen < limit and (wanted is None or len(done) < len(wanted)):
            message = queue.get(no_ack=False)
            if message is None:
                break
            seen += 1
            message_id = (message.properties or {}).get("message_id")
            if wanted is not None and message_id not in wanted:
                continue  # stays unacked: back on the DLQ when the channel closes
            headers = message.headers or {}
            target = _text(headers.get(ORIGINAL_QUEUE_HEADER))
            if not target:
                log.warning("parked message %s names no original queue; left parked", message_id)
                continue
            headers = {k: v for k, v in headers.items() if k not in RESET_HEADERS}
            headers["x-redriven-at"] = iso_utc(utcnow())
            producer.publish(
                message.body, exchange="", routing_key=target, headers=headers,
                content_type=message.content_type or "application/octet-stream",
                content_encoding=message.content_encoding or "binary", delivery_mode=2,
                mandatory=True, retry=False, **carried_properties(message))
            message.ack()
            done.append(message_id)
        channel.close()
    return done


def main(argv=None):
    parser = argparse.ArgumentParser(prog="guanxi-dlq", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    default_uri = amqp_uri()

    p_list = sub.add_parser("list", help="show parked messages without consuming them")
    p_list.add_argument("service")
    p_list.add_argument("--amqp-uri", default=default_uri)
    p_list.add_argument("--limit", type=int, default=1000)

    p_redrive = sub.add_parser("redrive", help="send parked messages back to their queue")
    p_redrive.add_argument("service")
    p_redrive.add_argument("--amqp-uri", default=default_uri)
    p_redrive.add_argument("--message-id", action="append", dest="message_ids", default=[])
    p_redrive.add_argument("--all", action="store_true")

    args = parser.parse_args(argv)
    if args.command == "list":
        parked = list_parked(args.amqp_uri, args.service, limit=args.limit)
        print(f"{len(parked)} message(s) parked on {dlq_name(args.service)}")
        for item in parked:
            print(f"- id={item['message_id']} queue={item['original_queue']} "
                  f"attempts={item['attempts']} parked_at={item['parked_at']} "
                  f"reason={item['reason']}")
            print(f"    error: {item['error_type']}: {item['error_message']}")
            print(f"    body:  {item['body_excerpt']}")
        return 0
    if not args.all and not args.message_ids:
        parser.error("redrive needs --message-id ID (repeatable) or --all")
    done = redrive(args.amqp_uri, args.service, None if args.all else args.message_ids)
    print(f"re-driven {len(done)} message(s) from {dlq_name(args.service)}")
    for message_id in done:
        print(f"- {message_id}")
    missing = set(args.message_ids) - set(done) if not args.all else set()
    for message_id in sorted(missing):
        print(f"! not found: {message_id}", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
