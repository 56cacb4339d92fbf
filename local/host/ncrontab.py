"""Six-field NCRONTAB schedules as Azure Functions timer triggers use them.

`{second} {minute} {hour} {day} {month} {day-of-week}`, each `*`, a value, a range `a-b`, a
step `*/n`, `a-b/n` or `a/n`, or a comma list of those; months `JAN`-`DEC` and days `SUN`-`SAT`
by name (case-insensitive), day-of-week 0-6 with 0 (or 7) = Sunday. As in NCrontab, a
restricted day-of-month and day-of-week must *both* match. All times are UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta


class CronError(ValueError):
    """Raised when a schedule expression cannot be parsed."""


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


@dataclass(frozen=True)
class CronSchedule:
    expression: str
    seconds: frozenset[int]
    minutes: frozenset[int]
    hours: frozenset[int]
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
            frozenset(_parse_field(text, name, low, high, names))
            for text, (name, low, high, names) in zip(parts, _FIELDS, strict=True)
        ]
        weekdays = frozenset(d % 7 for d in sets[5])
        return cls(expression, sets[0], sets[1], sets[2], sets[3], sets[4], weekdays)

    def _day_matches(self, moment: datetime) -> bool:
        sunday_based = (moment.weekday() + 1) % 7
        return moment.day in self.days and sunday_based in self.weekdays

    def next_after(self, moment: datetime) -> datetime:
        """The first occurrence strictly after `moment` (aware, UTC)."""
        t = moment.astimezone(UTC).replace(microsecond=0) + timedelta(seconds=1)
        limit = t + timedelta(days=366 * 5)
        while t < limit:
            if t.month not in self.months:
                year, month = (t.year + 1, 1) if t.month == 12 else (t.year, t.month + 1)
                t = t.replace(year=year, month=month, day=1, hour=0, minute=0, second=0)
            elif not self._day_matches(t):
                t = (t + timedelta(days=1)).replace(hour=0, minute=0, second=0)
            elif t.hour not in self.hours:
                t = (t + timedelta(hours=1)).replace(minute=0, second=0)
            elif t.minute not in self.minutes:
                t = (t + timedelta(minutes=1)).replace(second=0)
            elif t.second not in self.seconds:
                t += timedelta(seconds=1)
            else:
                return t
        raise CronError(f"'{self.expression}' never occurs")


@dataclass(frozen=True)
class IntervalSchedule:
    """The TimeSpan form (`hh:mm:ss`): every interval, counted from start-up."""

    expression: str
    interval: timedelta

    def next_after(self, moment: datetime) -> datetime:
        return moment + self.interval
