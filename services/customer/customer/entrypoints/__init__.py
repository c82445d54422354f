"""The customer service's entrypoints, one class per area (``service.py`` composes them).

Each method parses its input with a contract schema (``guanxi_common.contracts.customer``),
calls one command (``customer.application``) or query (``customer.queries``) and dumps the
answer with a contract schema. The classes need the service's ``uow`` and, for the pool,
``pool_policy``.
"""
from customer.adapters import records
from customer.exceptions import EXPECTED
from guanxi_common.contracts.customer import CustomerRecordSchema
from guanxi_common.rpc import rpc

#: the RPC entrypoint of this service: the expected errors are logged at a lower level
api = rpc(expected_exceptions=EXPECTED)
RECORD = CustomerRecordSchema()


def record(customer):
    """The wire record of a customer row (what ``get`` answers)."""
    return RECORD.dump(records.record_of(customer))
