"""The sales service's entrypoints, one class per area (``service.py`` composes them).

Each method parses its input with a contract schema (``guanxi_common.contracts.sales``),
calls one command (``sales.application``, inside ``with self.uow``) or query
(``sales.queries``) and dumps the answer with a contract schema. The classes need the
service's ``uow`` and, for the replica, ``customer_rpc``.
"""
from guanxi_common.rpc import rpc
from sales.exceptions import EXPECTED

#: the RPC entrypoint of this service: the expected errors are logged at a lower level
api = rpc(expected_exceptions=EXPECTED)


def page(result, schema):
    """A page of a list query with its items dumped."""
    return dict(result, items=schema.dump(result["items"], many=True))
