"""Six-field NCRONTAB schedules, as Azure Functions timer triggers read them.

`{second} {minute} {hour} {day} {month} {day-of-week}`, each `*`, a value, a range `a-b`, a
step `*/n`, `a-b/n` or `a/n`, or a comma list of those; months `JAN`-`DEC` and days `SUN`-`SAT`
by name (case-insensitive), day-of-week 0-6 with 0 (or 7) = Sunday. As in NCrontab, a
restricted day-of-month and day-of-week must *both* match. All times are UTC.

One parser for the product (tenant schedules, DESIGN §10) and the local runtime's timer
triggers (``local.host.timer_trigger``).
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise


class CronError(ValueError):
    """Raised when a schedule expression cannot be parsed, or never occurs."""


_MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
_DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
# (name, low, high, names mapped to numbers)
_FIELDS = [
    ("second", 0, 59, {}),
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day", 1, 31, {}),
    ("month", 1, 12, {n: i + 1 for i, n in enumerate(_MONTHS)}),
    ("day-of-week", 0, 7, {n: i for i, n in enumerate(_DAYS)}),
]
_HORIZON = timedelta(days=366 * 5)  # a schedule with no occurrence within this never occurs
_DAY = timedelta(days=1)
# Month, day and weekday together repeat every 28 years (leap days and weekdays realign).
_CALENDAR_CYCLE_DAYS = 28 * 365 + 7


def _value(text: str, names: dict[str, int], field: str) -> int:
    upper = text.upper()
    if upper in names:
        return names[upper]
    if len(upper) > 3 and upper[:3] in names:  # MONDAY, JANUARY
        return names[upper[:3]]
    if not text.isdigit():
        raise CronError(f"bad {field} value '{text}'")
    return int(text)


def _parse_field(text: str, field: str, low: int, high: int, names: dict[str, int]) -> set[int]:
    values: set[int] = set()
    for part in text.split(","):
        base, _, step_text = part.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) == 0:
                raise CronError(f"bad {field} step '{part}'")
            step = int(step_text)
        if base == "*":
            start, end = low, high
        elif "-" in base:
            first, _, last = base.partition("-")
            start, end = _value(first, names, field), _value(last, names, field)
        else:
            start = _value(base, names, field)
            end = high if step_text else start
        if not (low <= start <= high and low <= end <= high) or start > end:
            raise CronError(f"{field} '{part}' is outside {low}-{high}")
        values.update(range(start, end + 1, step))
    return values


def _next_in(values: tuple[int, ...], current: int) -> int | None:
    """The smallest allowed value >= ``current``, or None when the field must carry over."""
    index = bisect_left(values, current)
    return values[index] if index < len(values) else None


@dataclass(frozen=True)
class CronSchedule:
    expression: str
    seconds: tuple[int, ...]  # each field's allowed values, ascending
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday

    @classmethod
    def parse(cls, expression: str) -> CronSchedule:
        parts = expression.split()
        if len(parts) != 6:
            raise CronError(
                f"'{expression}' has {len(parts)} fields; NCRONTAB needs 6: "
                "{second} {minute} {hour} {day} {month} {day-of-week}"
            )
        sets = [
            _parse_field(text, name, low, high, names)
            for text, (name, low, high, names) in zip(parts, _FIELDS, strict=True)
        ]
        return cls(expression, tuple(sorted(sets[0])), tuple(sorted(sets[1])),
                   tuple(sorted(sets[2])), frozenset(sets[3]), frozenset(sets[4]),
                   frozenset(d % 7 for d in sets[5]))

    def _day_matches(self, day: date) -> bool:
        sunday_based = (day.weekday() + 1) % 7
        return day.month in self.months and day.day in self.days \
            and sunday_based in self.weekdays

    def next_after(self, moment: datetime) -> datetime:
        """The first occurrence strictly after `moment` (aware, UTC); :class:`CronError` when
        there is none within five years."""
        t = moment.astimezone(UTC).replace(microsecond=0) + timedelta(seconds=1)
        limit = t + _HORIZON
        while t < limit:
            if not self._day_matches(t.date()):
                t = datetime.combine(t.date() + _DAY, datetime.min.time(), UTC)
                continue
            hour = _next_in(self.hours, t.hour)
            if hour is None:
                t = datetime.combine(t.date() + _DAY, datetime.min.time(), UTC)
                continue
            if hour != t.hour:
                t = t.replace(hour=hour, minute=0, second=0)
            minute = _next_in(self.minutes, t.minute)
            if minute is None:
                t = t.replace(minute=0, second=0) + timedelta(hours=1)
                continue
            if minute != t.minute:
                t = t.replace(minute=minute, second=0)
            second = _next_in(self.seconds, t.second)
            if second is None:
                t = t.replace(second=0) + timedelta(minutes=1)
                continue
            return t.replace(second=second)
        raise CronError(f"'{self.expression}' never occurs")

    def last_between(self, after: datetime, until: datetime) -> datetime | None:
        """The latest occurrence in (``after``, ``until``], or None. Looks back from ``until``
        in growing steps, so a long gap costs a few steps, not one per occurrence."""
        span = timedelta(minutes=1)
        while True:
            start = max(after, until - span)
            found, t = None, self.next_after(start)
            while t <= until:
                found, t = t, self.next_after(t)
            if found is not None or start == after:
                return found
            span *= 8

    def shortest_gap(self) -> timedelta:
        """The shortest time between two consecutive occurrences; a day when no day has two
        occurrences and no two consecutive days both match (the gap is then at least that)."""
        in_day = sorted(h * 3600 + m * 60 + s
                        for h in self.hours for m in self.minutes for s in self.seconds)
        gaps = [b - a for a, b in pairwise(in_day)]
        if self._consecutive_days_match():
            gaps.append(86400 - in_day[-1] + in_day[0])
        return timedelta(seconds=min(gaps)) if gaps else _DAY

    def _consecutive_days_match(self) -> bool:
        day, previous = date(2000, 1, 1), False
        for _ in range(_CALENDAR_CYCLE_DAYS + 1):
            matches = self._day_matches(day)
            if matches and previous:
                return True
            day, previous = day + _DAY, matches
        return False


__all__ = ["CronError", "CronSchedule"]
