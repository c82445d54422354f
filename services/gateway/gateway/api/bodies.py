"""What the RPC carries for a request body the gateway has checked with a contract schema.

The service loads the body again with the same schema and applies its own defaults and
normalisation (phones to E.164, ...), so the gateway forwards the JSON the client sent;
only amounts go in the contract's places (``"500000"`` -> ``"500000.00"``).
"""
from decimal import Decimal

from flask import request


def rpc_body(sent, loaded):
    """``sent`` (the client's JSON) with each amount as ``loaded`` (the schema's result) has it."""
    if isinstance(sent, dict) and isinstance(loaded, dict):
        return {key: rpc_body(value, loaded.get(key)) for key, value in sent.items()}
    if isinstance(sent, list) and isinstance(loaded, list) and len(sent) == len(loaded):
        return [rpc_body(value, item) for value, item in zip(sent, loaded)]
    return str(loaded) if isinstance(loaded, Decimal) else sent


def sent_body(loaded, part=None):
    """The request's checked body (or its ``part``) as the RPC carries it; ``loaded`` is
    what the contract schema made of it."""
    sent = request.get_json(silent=True) or {}
    if part is not None:
        sent = sent.get(part) if isinstance(sent, dict) else None
    return rpc_body(sent if sent is not None else {}, loaded)
