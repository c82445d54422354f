"""What sales asks of the customer service: its export, to fill the replica once.

Sales reads customers from its own replica (fed by the customer events); the only RPC it
makes to the customer service is ``export_batch``, for the first catch-up.
"""
import json

from guanxi_common.errors import ValidationFailed

#: The JSON Lines format version of customer.export_batch this code understands.
EXPORT_FORMAT = 1


def export_batches(customer_rpc, batch_size):
    """``fetch_batch(after)`` for ``application.replica.catch_up``: one JSON Lines batch of
    ``customer.export_batch``, ``{"lines": [...], "next_after": int, "done": bool}``. A timer
    has no caller, so the RPC goes out as the system actor, which export_batch allows."""
    def fetch_batch(after):
        return customer_rpc.export_batch(after=after, limit=batch_size, format="jsonl")
    return fetch_batch


def parse_export_line(line):
    """One export line as a record dict; ValidationFailed for what is not a record of the
    format version sales understands."""
    try:
        record = json.loads(line)
    except (TypeError, ValueError):
        raise ValidationFailed("an export line is not JSON", {"lines": ["must be JSON"]}) from None
    if not isinstance(record, dict):
        raise ValidationFailed("an export line is not an object", {"lines": ["must be objects"]})
    fmt = record.get("_format", EXPORT_FORMAT)
    if fmt != EXPORT_FORMAT:
        raise ValidationFailed(f"export format {fmt!r} is not understood",
                               {"_format": [f"must be {EXPORT_FORMAT}"]})
    return record
