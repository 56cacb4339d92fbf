"""Six-field NCRONTAB schedules (shared.platform.ncrontab): next occurrences in UTC, and the
shortest gap between two of them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.platform.ncrontab import CronError, CronSchedule

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
        CronSchedule.parse(expression).next_after(T0)


def test_next_after_crosses_month_and_year_ends() -> None:
    assert _next("0 0 0 1 1 *", count=2) == [
        datetime(2027, 1, 1, tzinfo=UTC), datetime(2028, 1, 1, tzinfo=UTC)]
    assert _next("30 59 23 31 * *", after=datetime(2026, 4, 1, tzinfo=UTC), count=2) == [
        datetime(2026, 5, 31, 23, 59, 30, tzinfo=UTC),
        datetime(2026, 7, 31, 23, 59, 30, tzinfo=UTC)]


def test_next_after_a_moment_on_an_occurrence_is_the_following_one() -> None:
    on_time = datetime(2026, 1, 31, 1, 0, tzinfo=UTC)
    assert CronSchedule.parse("0 0 1 * * *").next_after(on_time) == on_time + timedelta(days=1)


@pytest.mark.parametrize(("expression", "gap"), [
    ("0 */5 * * * *", timedelta(minutes=5)),
    ("0 0,15,30,45 * * * *", timedelta(minutes=15)),
    ("0 0,50 9 * * *", timedelta(minutes=50)),
    ("0 0 1 * * *", timedelta(days=1)),
    ("0 50 0,23 * * *", timedelta(hours=1)),  # 23:50, then 00:50 the next day
    ("0 59 0,23 * * MON", timedelta(hours=23)),  # no Tuesday follows a Monday's 23:59
    ("* * * * * *", timedelta(seconds=1)),
])
def test_shortest_gap_between_occurrences(expression: str, gap: timedelta) -> None:
    assert CronSchedule.parse(expression).shortest_gap() == gap


def test_shortest_gap_counts_the_wrap_into_the_next_day() -> None:
    assert CronSchedule.parse("0 1,59 0,23 * * *").shortest_gap() == timedelta(minutes=2)


@pytest.mark.parametrize(("expression", "after", "until", "last"), [
    ("0 0 3 * * *", datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 3, 9, 10, tzinfo=UTC),
     datetime(2026, 3, 9, 3, tzinfo=UTC)),
    ("0 */15 * * * *", datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 3, 9, 10, 7, tzinfo=UTC),
     datetime(2026, 3, 9, 10, 0, tzinfo=UTC)),
    ("0 0 3 * * *", datetime(2026, 3, 9, 3, tzinfo=UTC), datetime(2026, 3, 9, 10, tzinfo=UTC),
     None),  # (after, until] excludes after
    ("0 0 0 1 JAN *", datetime(2020, 6, 1, tzinfo=UTC), datetime(2026, 3, 9, tzinfo=UTC),
     datetime(2026, 1, 1, tzinfo=UTC)),
])
def test_last_between_is_the_latest_occurrence_in_the_window(expression, after, until, last):
    assert CronSchedule.parse(expression).last_between(after, until) == last
