"""Report periods: the key format on the wire and the office calendar behind it.

A period key is a year ('2025'), a quarter ('2025-Q2') or a month ('2025-05'); a report
covers whole periods. Pure (no marshmallow): the report contract validates with it and
the sales reports compute with it, so a key means the same on both sides.
"""
import re
from dataclasses import dataclass
from datetime import date

PERIODS = ("month", "quarter", "year")
#: At most this many periods in one report (ten years of months).
MAX_PERIODS = 120
#: what a key looks like (the year's lower bound is checked on parsing)
PERIOD_KEY_PATTERN = r"^\d{4}(-Q[1-4]|-(0[1-9]|1[0-2]))?$"

_MONTHS = {"month": 1, "quarter": 3, "year": 12}
_PERIOD_KEY = re.compile(r"^(\d{4})(?:-(?:Q([1-4])|(\d{2})))?$")


@dataclass(frozen=True)
class Period:
    """One report period: its key ('2025-03', '2025-Q1', '2025') and [first, after) days."""

    key: str
    first: date
    after: date

    @property
    def last(self) -> date:
        return date.fromordinal(self.after.toordinal() - 1)


def _check_period(period):
    if period not in PERIODS:
        raise ValueError(f"period must be one of {', '.join(PERIODS)}, not {period!r}")


def period_start(day: date, period: str) -> date:
    """The first day of the period containing ``day``."""
    _check_period(period)
    if period == "month":
        return day.replace(day=1)
    if period == "quarter":
        return date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    return date(day.year, 1, 1)


def add_periods(first: date, period: str, count: int) -> date:
    """The first day of the period ``count`` periods after (negative: before) ``first``'s."""
    index = first.year * 12 + first.month - 1 + _MONTHS[period] * count
    return date(index // 12, index % 12 + 1, 1)


def period_key(first: date, period: str) -> str:
    if period == "month":
        return f"{first.year:04d}-{first.month:02d}"
    if period == "quarter":
        return f"{first.year:04d}-Q{(first.month - 1) // 3 + 1}"
    return f"{first.year:04d}"


def make_period(first: date, period: str) -> Period:
    first = period_start(first, period)
    return Period(period_key(first, period), first, add_periods(first, period, 1))


def periods_between(start: date, end: date, period: str) -> list[Period]:
    """Every period containing a day from ``start`` to ``end`` (inclusive), in order."""
    _check_period(period)
    if end < start:
        raise ValueError("end is before start")
    result, first = [], period_start(start, period)
    while first <= end:
        result.append(make_period(first, period))
        first = result[-1].after
        if len(result) > MAX_PERIODS:
            raise ValueError(f"at most {MAX_PERIODS} periods in one report")
    return result


def parse_period_key(key: str) -> Period:
    """'2025' (a year), '2025-Q2' (a quarter) or '2025-05' (a month) → a ``Period``."""
    match = _PERIOD_KEY.match(key.strip()) if isinstance(key, str) else None
    if not match:
        raise ValueError("a period is a year (2025), a quarter (2025-Q2) or a month (2025-05)")
    year, quarter, month = match.groups()
    year = int(year)
    if year < 1900:
        raise ValueError("year out of range")
    if quarter:
        return make_period(date(year, (int(quarter) - 1) * 3 + 1, 1), "quarter")
    if month:
        if not 1 <= int(month) <= 12:
            raise ValueError("month must be 01 to 12")
        return make_period(date(year, int(month), 1), "month")
    return make_period(date(year, 1, 1), "year")
