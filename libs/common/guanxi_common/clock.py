"""The time every service reads: now in UTC, and the offices' default time zone.

Business calendars (report months, order-number years, SLA clocks) run in the office's
zone; everything stored and sent is UTC.
"""
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

#: the offices' calendar unless an office says otherwise (ARCHITECTURE.md: Asia/Shanghai)
OFFICE_TZ = ZoneInfo("Asia/Shanghai")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)
