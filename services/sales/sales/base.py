"""What every entrypoint mixin of the sales service shares: dependencies and helpers."""
from contextlib import contextmanager
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from guanxi_common import numbers
from guanxi_common.db import UnitOfWorkProvider
from guanxi_common.errors import BusinessRuleViolation
from guanxi_common.rpc import ServiceRpc, rpc
from sales.domain.errors import DomainRuleError
from sales.exceptions import EXPECTED
from sales.models import NumberSequence

OFFICE_TZ = ZoneInfo("Asia/Shanghai")

#: the RPC entrypoint every sales method uses (typed errors are expected, not crashes)
api = rpc(expected_exceptions=EXPECTED)


class SalesDependencies:
    """Declared once, inherited by the service class that composes the mixins."""

    uow = UnitOfWorkProvider("sales")
    customer_rpc = ServiceRpc("customer")


def utcnow():
    return datetime.now(timezone.utc)


def next_number(session, prefix, at=None):
    """``SO-2026-000123``: per prefix and year (the office's calendar year, as the reports
    count it), six digits and growing beyond."""
    year = (at or utcnow()).astimezone(OFFICE_TZ).year
    value = numbers.next_value(session, NumberSequence, f"{prefix}-{year}")
    return f"{prefix}-{year}-{value:06d}"


@contextmanager
def domain_rules(**extra):
    """A refused domain rule crosses RPC as BusinessRuleViolation with its code as ``rule``
    (plus the rule's details and ``extra`` context such as the order number)."""
    try:
        yield
    except DomainRuleError as error:
        details = {"rule": error.code, **error.details}
        details.update({k: v for k, v in extra.items() if v is not None})
        raise BusinessRuleViolation(error.message, details) from None
