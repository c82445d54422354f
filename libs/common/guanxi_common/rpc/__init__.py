"""RPC hygiene for every service.

- :mod:`~guanxi_common.rpc.entrypoint`: the guarded ``rpc`` entrypoint (malformed requests
  answered, not fatal; domain refusals answered as ``BusinessRuleViolation``).
- :mod:`~guanxi_common.rpc.client`: ``ServiceRpc`` and ``cluster_rpc``, whose calls time out
  with ``ServiceUnavailable``.
- :mod:`~guanxi_common.rpc.wire`: error serialisation and the delivery options of requests
  and replies, shared by both sides.

``from guanxi_common.rpc import rpc, ServiceRpc, cluster_rpc`` is the usual import.
"""
from guanxi_common.rpc.client import DEFAULT_RPC_TIMEOUT, ServiceRpc, cluster_rpc, rpc_timeout
from guanxi_common.rpc.entrypoint import Rpc, rpc
from guanxi_common.rpc.wire import (
    RPC_REQUEST_OPTIONS, deserialize_error, request_expiration_ms, serialize_error,
)

__all__ = ["DEFAULT_RPC_TIMEOUT", "RPC_REQUEST_OPTIONS", "Rpc", "ServiceRpc", "cluster_rpc",
           "deserialize_error", "request_expiration_ms", "rpc", "rpc_timeout", "serialize_error"]
