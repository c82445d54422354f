"""What every entrypoint mixin of the sales service shares: dependencies and helpers."""
from datetime import datetime, timezone

from guanxi_common import numbers
from guanxi_common.db import UnitOfWorkProvider
from guanxi_common.rpc import ServiceRpc, rpc
from sales.exceptions import EXPECTED
from sales.models import NumberSequence

#: the RPC entrypoint every sales method uses (typed errors are expected, not crashes)
api = rpc(expected_exceptions=EXPECTED)


class SalesDependencies:
    """Declared once, inherited by the service class that composes the mixins."""

    uow = UnitOfWorkProvider("sales")
    customer_rpc = ServiceRpc("customer")


def utcnow():
    return datetime.now(timezone.utc)


def next_number(session, prefix, at=None):
    """``SO-2026-000123``: per prefix and year, six digits and growing beyond."""
    year = (at or utcnow()).year
    value = numbers.next_value(session, NumberSequence, f"{prefix}-{year}")
    return f"{prefix}-{year}-{value:06d}"
