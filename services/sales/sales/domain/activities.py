"""Activities (calls, visits, meetings, tasks): kinds, outcomes, today's and overdue lists.

Why these rules:
- An activity is due at a moment (``datetime``, timezone-aware, normally UTC) or on a
  day (``date``, e.g. a task "by Friday"), read in the office's time zone (default
  Asia/Shanghai): a rep's "today" is the office's calendar day, not UTC's — at 07:00 in
  Shanghai it is still yesterday in UTC.
- Overdue: not done and its due moment has passed (due exactly now is not yet
  overdue); a day-only due date is overdue once that office day has ended.  A done or
  cancelled activity is never overdue, and one without a due date never is.
- The rep's lists: each open activity is in at most one of them — overdue if it is
  overdue, otherwise today's if it falls due within today's office day.  So a call due
  at 09:00 and not done by 14:00 moves from today's list to the overdue one.
- Outcomes say what came of a done activity; a cancelled one did not happen and does
  not count as a follow-up of the customer (the customer pool's follow-up clock).
Times must be timezone-aware: comparing naive and aware times is a bug, so it is refused.
"""

from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta, timezone
from typing import NamedTuple
from zoneinfo import ZoneInfo

from guanxi_common.clock import OFFICE_TZ
from guanxi_common.contracts.enums import ACTIVITY_KINDS, ACTIVITY_OUTCOMES

from .errors import DomainRuleError

CALL, VISIT, MEETING, TASK = KINDS = ACTIVITY_KINDS
KIND_LABELS = {CALL: ("Call", "电话"), VISIT: ("Visit", "拜访"), MEETING: ("Meeting", "会议"), TASK: ("Task", "任务")}

COMPLETED, NO_ANSWER, FOLLOW_UP, NOT_INTERESTED, RESCHEDULED, CANCELLED = OUTCOMES = ACTIVITY_OUTCOMES
OUTCOME_LABELS = {
    COMPLETED: ("Completed", "已完成"),
    NO_ANSWER: ("No answer / not met", "未接通/未见到"),
    FOLLOW_UP: ("Follow-up needed", "需跟进"),
    NOT_INTERESTED: ("Not interested", "无意向"),
    RESCHEDULED: ("Rescheduled", "已改期"),
    CANCELLED: ("Cancelled", "已取消"),
}


class ActivityRuleError(DomainRuleError):
    """codes: unknown_activity_kind, unknown_outcome, outcome_required, naive_datetime."""


class Agenda(NamedTuple):
    today: list
    overdue: list


def check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ActivityRuleError("unknown_activity_kind", f"unknown activity kind {kind!r}; one of {', '.join(KINDS)}")


def check_outcome(outcome: str | None, done: bool = True) -> None:
    """A done activity has one of ``OUTCOMES``; an open one may have none yet."""
    if outcome is None:
        if done:
            raise ActivityRuleError("outcome_required", "say what came of the activity")
        return
    if outcome not in OUTCOMES:
        raise ActivityRuleError("unknown_outcome", f"unknown outcome {outcome!r}; one of {', '.join(OUTCOMES)}")


def counts_as_follow_up(outcome: str | None) -> bool:
    """Whether a logged activity counts as following up the customer (not when cancelled)."""
    return outcome is not None and outcome != CANCELLED


def _zone(tz) -> ZoneInfo:
    return tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)


def _aware(moment: datetime, field: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ActivityRuleError("naive_datetime", f"{field} must carry a time zone (UTC on the wire)")
    return moment


def office_day(now: datetime, tz=OFFICE_TZ) -> date:
    """The office's calendar date at ``now``."""
    return _aware(now, "now").astimezone(_zone(tz)).date()


def day_bounds(day: date, tz=OFFICE_TZ) -> tuple[datetime, datetime]:
    """[start, end) of an office day in UTC, for queries on stored UTC times."""
    zone = _zone(tz)
    start = datetime.combine(day, time.min, tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
    return start.astimezone(timezone.utc), end.astimezone(timezone.utc)


def is_overdue(due_at: datetime | date | None, done_at: datetime | None, now: datetime, tz=OFFICE_TZ) -> bool:
    """Not done, and the due moment (or the whole due office day) has passed."""
    _aware(now, "now")
    if done_at is not None or due_at is None:
        return False
    if isinstance(due_at, datetime):
        return now > _aware(due_at, "due_at")
    return office_day(now, tz) > due_at


def _get(record, name: str):
    if isinstance(record, Mapping):
        return record.get(name)
    return getattr(record, name, None)


def _is_open(record) -> bool:
    return _get(record, "done_at") is None and _get(record, "outcome") != CANCELLED \
        and _get(record, "status") != CANCELLED


def _due_day(due_at: datetime | date, tz) -> date:
    if isinstance(due_at, datetime):
        return _aware(due_at, "due_at").astimezone(_zone(tz)).date()
    return due_at


def _sort_key(record, tz):
    due_at = _get(record, "due_at")
    if isinstance(due_at, datetime):
        return due_at.astimezone(timezone.utc)
    # a day-only due date sorts after the timed activities of that day (it is due by its end)
    return day_bounds(due_at, tz)[1]


def today_and_overdue(activities: Iterable, now: datetime, tz=OFFICE_TZ) -> Agenda:
    """Split a rep's activities (mappings or objects with ``due_at``, ``done_at`` and
    optionally ``outcome``/``status``) into ``Agenda(today, overdue)``, each earliest first.
    Done, cancelled and undated activities are in neither list."""
    today = office_day(now, tz)
    due_today, overdue = [], []
    for record in activities:
        due_at = _get(record, "due_at")
        if due_at is None or not _is_open(record):
            continue
        if is_overdue(due_at, None, now, tz):
            overdue.append(record)
        elif _due_day(due_at, tz) == today:
            due_today.append(record)
    due_today.sort(key=lambda r: _sort_key(r, tz))
    overdue.sort(key=lambda r: _sort_key(r, tz))
    return Agenda(due_today, overdue)
