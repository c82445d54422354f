from datetime import date, datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from sales.domain.activities import (
    KINDS,
    OUTCOMES,
    check_kind,
    check_outcome,
    counts_as_follow_up,
    day_bounds,
    is_overdue,
    office_day,
    today_and_overdue,
)
from sales.domain.errors import DomainRuleError

UTC = timezone.utc
NOW = datetime(2026, 3, 9, 23, 30, tzinfo=UTC)  # 2026-03-10 07:30 in Shanghai; still the 9th in UTC


def code_of(func, *args, **kwargs):
    with pytest.raises(DomainRuleError) as info:
        func(*args, **kwargs)
    return info.value.code


def act(name, due_at, done_at=None, **extra):
    return {"name": name, "due_at": due_at, "done_at": done_at, **extra}


def test_kinds_and_outcomes():
    assert KINDS == ("call", "visit", "meeting", "task")
    check_kind("visit")
    assert code_of(check_kind, "email") == "unknown_activity_kind"
    check_outcome("no_answer")
    check_outcome(None, done=False)
    assert code_of(check_outcome, None) == "outcome_required"
    assert code_of(check_outcome, "great") == "unknown_outcome"
    assert "cancelled" in OUTCOMES and not counts_as_follow_up("cancelled")
    assert counts_as_follow_up("no_answer") and not counts_as_follow_up(None)


def test_office_day_is_the_shanghai_date():
    assert office_day(NOW) == date(2026, 3, 10)
    assert office_day(NOW, "UTC") == date(2026, 3, 9)
    assert day_bounds(date(2026, 3, 10)) == (datetime(2026, 3, 9, 16, tzinfo=UTC), datetime(2026, 3, 10, 16, tzinfo=UTC))


def test_is_overdue_for_timed_activities():
    assert is_overdue(NOW, None, NOW) is False                                  # due exactly now
    assert is_overdue(NOW - timedelta(microseconds=1), None, NOW) is True
    assert is_overdue(NOW - timedelta(days=3), NOW - timedelta(days=4), NOW) is False  # done
    assert is_overdue(None, None, NOW) is False


def test_a_day_only_due_date_is_overdue_after_that_office_day():
    due = date(2026, 3, 9)
    assert is_overdue(due, None, datetime(2026, 3, 9, 15, 59, tzinfo=UTC)) is False  # 23:59 in Shanghai
    assert is_overdue(due, None, datetime(2026, 3, 9, 16, 0, tzinfo=UTC)) is True    # 00:00 on the 10th
    assert is_overdue(due, None, datetime(2026, 3, 9, 16, 0, tzinfo=UTC), tz="UTC") is False


def test_naive_times_are_refused():
    assert code_of(is_overdue, NOW, None, datetime(2026, 3, 9, 23, 30)) == "naive_datetime"
    assert code_of(is_overdue, datetime(2026, 3, 9), None, NOW) == "naive_datetime"


def test_today_and_overdue_lists():
    activities = [
        act("a", datetime(2026, 3, 9, 23, 0, tzinfo=UTC)),     # 07:00 local today, passed -> overdue
        act("b", datetime(2026, 3, 10, 6, 0, tzinfo=UTC)),     # 14:00 local today -> today
        act("c", datetime(2026, 3, 10, 16, 30, tzinfo=UTC)),   # 00:30 local on the 11th -> neither
        act("d", datetime(2026, 3, 9, 15, 0, tzinfo=UTC)),     # 23:00 local on the 9th -> overdue
        act("e", date(2026, 3, 10)),                           # day-only today -> today
        act("f", date(2026, 3, 9)),                            # day-only yesterday -> overdue
        act("g", datetime(2026, 3, 10, 3, 0, tzinfo=UTC), NOW - timedelta(hours=1)),  # done
        act("h", datetime(2026, 3, 10, 4, 0, tzinfo=UTC), outcome="cancelled"),      # cancelled
        act("i", None),                                        # no due date
        act("j", NOW),                                         # due exactly now -> today
        act("k", datetime(2026, 3, 1, tzinfo=UTC), status="cancelled"),
    ]
    today, overdue = today_and_overdue(activities, NOW)
    assert [a["name"] for a in today] == ["j", "b", "e"]
    assert [a["name"] for a in overdue] == ["d", "f", "a"]  # f is due by 16:00 UTC on the 9th


def test_the_office_time_zone_decides_today():
    call = act("late call", datetime(2026, 3, 10, 16, 30, tzinfo=UTC))
    assert today_and_overdue([call], NOW).today == []
    assert today_and_overdue([call], NOW, tz="UTC").today == []  # UTC "today" is still the 9th
    assert today_and_overdue([call], datetime(2026, 3, 10, 9, tzinfo=UTC), tz="UTC").today == [call]


def test_objects_with_attributes_work_too():
    task = SimpleNamespace(due_at=date(2026, 3, 8), done_at=None, outcome=None, status="open")
    assert today_and_overdue([task], NOW).overdue == [task]
