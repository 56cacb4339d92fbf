"""Six-field NCRONTAB schedules: next occurrences in UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from local.host.ncrontab import CronError, CronSchedule
from local.host.timer_trigger import parse_schedule

T0 = datetime(2026, 1, 30, 23, 59, 58, 500000, tzinfo=UTC)  # a Friday


def _next(expression: str, after: datetime = T0, count: int = 3) -> list[datetime]:
    schedule, found = CronSchedule.parse(expression), []
    for _ in range(count):
        after = schedule.next_after(after)
        found.append(after)
    return found


def test_every_second() -> None:
    assert _next("* * * * * *") == [
        datetime(2026, 1, 30, 23, 59, 59, tzinfo=UTC),
        datetime(2026, 1, 31, 0, 0, 0, tzinfo=UTC),
        datetime(2026, 1, 31, 0, 0, 1, tzinfo=UTC),
    ]


def test_steps_ranges_lists() -> None:
    assert _next("*/20 5,10 9-10 * * *", count=4) == [
        datetime(2026, 1, 31, 9, 5, s, tzinfo=UTC) for s in (0, 20, 40)
    ] + [datetime(2026, 1, 31, 9, 10, 0, tzinfo=UTC)]


def test_names_for_weekdays_and_months() -> None:
    [first, second] = _next("0 30 9 * FEB-MAR mon-WED", count=2)
    assert first == datetime(2026, 2, 2, 9, 30, tzinfo=UTC)  # Monday 2 Feb
    assert second == datetime(2026, 2, 3, 9, 30, tzinfo=UTC)


def test_day_of_month_and_weekday_must_both_match() -> None:
    [first] = _next("0 0 0 13 * FRI", count=1)
    assert first == datetime(2026, 2, 13, tzinfo=UTC)  # Friday the 13th


def test_step_from_a_start_value_and_sunday_as_seven() -> None:
    assert _next("5/30 0 0 * * 7", count=2) == [
        datetime(2026, 2, 1, 0, 0, 5, tzinfo=UTC), datetime(2026, 2, 1, 0, 0, 35, tzinfo=UTC)
    ]


@pytest.mark.parametrize(
    "expression",
    ["* * * * *", "60 * * * * *", "* * 24 * * *", "* * * 0 * *", "* * * * FOO *",
     "*/0 * * * * *", "5-1 * * * * *", "0 0 0 30 FEB *"],
)
def test_invalid_schedules_are_refused(expression: str) -> None:
    with pytest.raises(CronError):
        parse_schedule(expression)


def test_timespan_schedule_is_an_interval() -> None:
    schedule = parse_schedule("00:05:00")
    assert schedule.next_after(T0) == T0 + timedelta(minutes=5)
