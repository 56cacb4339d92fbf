"""A tenant's schedules (DESIGN §10).

``schedules`` maps each schedulable job to a six-field NCRONTAB expression in UTC, or None
(off). A tenant that never set one has the defaults: a daily backup at 01:00 plus an offset of
0–119 minutes derived from its id — so 500 tenants start spread over two hours, about four a
minute, instead of all at 01:00 — and no drift check. No schedule runs more often than every
15 minutes.

Each job also remembers when its expression was last set: occurrences before that were never
asked for, so a schedule set at 12:00 does not fire for its 01:00 occurrence that morning, as
a tenant registered at 12:00 does not (``shared.schedules.due``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from shared.platform.keys import iso, stable_id, utc_now
from shared.platform.ncrontab import CronError, CronSchedule

BACKUP, DRIFT_CHECK = "backup", "drift_check"
JOBS = (BACKUP, DRIFT_CHECK)  # the schedulable jobs, as `schedules` names them
MIN_INTERVAL = timedelta(minutes=15)
DEFAULT_BACKUP_HOUR = 1
DEFAULT_SPREAD_MINUTES = 120


def default_backup(tenant_id: str) -> str:
    """Daily at 01:00 UTC plus the tenant's own offset (0–119 minutes, from its id)."""
    offset = int(stable_id(tenant_id.lower(), "backup schedule", length=8), 16)
    hour, minute = divmod(DEFAULT_BACKUP_HOUR * 60 + offset % DEFAULT_SPREAD_MINUTES, 60)
    return f"0 {minute} {hour} * * *"


@lru_cache(maxsize=4096)  # a tick reads the same few hundred expressions every time
def parse_schedule(expression: str) -> CronSchedule:
    """``expression`` as a schedule a tenant may have; :class:`CronError` (a safe message)
    when it is no six-field NCRONTAB, never occurs, or runs more often than every 15 minutes."""
    schedule = CronSchedule.parse(expression)
    schedule.next_after(utc_now())  # CronError if it never occurs
    if schedule.shortest_gap() < MIN_INTERVAL:
        raise CronError(f"'{expression}' runs more often than every "
                        f"{int(MIN_INTERVAL.total_seconds() // 60)} minutes")
    return schedule


@dataclass(frozen=True)
class Schedules:
    """Every job's expression (None: off) and, for a job set since registration, when."""

    expressions: Mapping[str, str | None]
    set_at: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def defaults(cls, tenant_id: str) -> Schedules:
        return cls({BACKUP: default_backup(tenant_id), DRIFT_CHECK: None})

    def changed(self, changes: Mapping[str, str | None], now: datetime) -> Schedules:
        """These schedules with ``changes`` applied; a job whose expression changes is set
        ``now`` (an unchanged one keeps its time, so re-sending a body moves nothing)."""
        expressions, set_at = dict(self.expressions), dict(self.set_at)
        for job, expression in changes.items():
            if job not in JOBS:
                raise KeyError(job)
            if expressions.get(job) != expression:
                expressions[job], set_at[job] = expression, iso(now)
        return Schedules(expressions, set_at)

    def view(self) -> dict[str, str | None]:
        """What the tenant body shows: every job, in ``JOBS`` order."""
        return {job: self.expressions.get(job) for job in JOBS}

    def properties(self) -> dict[str, str]:
        """Table properties of the tenant row (JSON text: None must survive a merge)."""
        return {"schedules": json.dumps(self.view(), separators=(",", ":")),
                "schedules_set_at": json.dumps(dict(self.set_at), separators=(",", ":"))}

    @classmethod
    def from_properties(cls, tenant_id: str, entity: Mapping[str, Any]) -> Schedules:
        """The row's schedules; a row from before schedules existed has the defaults."""
        defaults = cls.defaults(tenant_id)
        if not entity.get("schedules"):
            return defaults
        stored = json.loads(entity["schedules"])
        expressions = {job: stored.get(job, defaults.expressions[job]) for job in JOBS}
        return cls(expressions, json.loads(entity.get("schedules_set_at") or "{}"))


__all__ = ["BACKUP", "DRIFT_CHECK", "JOBS", "MIN_INTERVAL", "Schedules", "default_backup",
           "parse_schedule"]
