"""Human document numbers: ``SO-2026-000123``, ``QT-…``, ``OP-…``, ``INV-…``, ``PAY-…``."""
from guanxi_common import sequences
from guanxi_common.clock import OFFICE_TZ, utcnow
from sales.adapters.models import NumberSequence


def next_number(session, prefix, at=None):
    """The next number of ``prefix``: per prefix and year (the office's calendar year, as
    the reports count it), six digits and growing beyond."""
    year = (at or utcnow()).astimezone(OFFICE_TZ).year
    value = sequences.next_value(session, NumberSequence, f"{prefix}-{year}")
    return f"{prefix}-{year}-{value:06d}"
