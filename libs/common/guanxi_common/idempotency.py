"""Client idempotency keys: a retried command with the same key returns the first result.

Each service that accepts keys gets its table from :func:`make_table` on its own metadata
(so its migrations own it). The stored answer is written in the same transaction as the
effect, so a crash leaves either both or neither.
"""
import hashlib
import json

from sqlalchemy import Column, DateTime, String, Table, Text, insert, select
from sqlalchemy.exc import IntegrityError

from guanxi_common.errors import Conflict
from guanxi_common.events import json_default, utcnow


def make_table(metadata, name="idempotency_keys"):
    return Table(
        name, metadata,
        Column("scope", String(50), primary_key=True),   # e.g. "order.place"
        Column("key", String(100), primary_key=True),    # the client's key
        Column("request_hash", String(64), nullable=False),
        Column("response", Text, nullable=False),        # the JSON answer of the first call
        Column("created_at", DateTime(timezone=True), nullable=False),
    )


def request_hash(request):
    canonical = json.dumps(request, sort_keys=True, default=json_default, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def recall(session, table, scope, key, request):
    """The stored answer for ``key``, or None. The same key with a different request is a
    client bug, answered with Conflict rather than silently replaying the other answer."""
    row = session.execute(select(table.c.request_hash, table.c.response)
                          .where(table.c.scope == scope, table.c.key == key)).first()
    if row is None:
        return None
    if row.request_hash != request_hash(request):
        raise Conflict(f"idempotency key {key!r} was used for a different request",
                       {"idempotency_key": key, "scope": scope})
    return json.loads(row.response)


def remember(session, table, scope, key, request, response):
    """Store the answer with the effect; a concurrent first use of the key is a Conflict
    (the caller retries and then gets the stored answer)."""
    try:
        with session.begin_nested():
            session.execute(insert(table).values(
                scope=scope, key=key, request_hash=request_hash(request),
                response=json.dumps(response, default=json_default, ensure_ascii=False),
                created_at=utcnow()))
    except IntegrityError:
        raise Conflict(f"idempotency key {key!r} is being used by a concurrent request",
                       {"idempotency_key": key, "scope": scope, "retry": True}) from None
