"""Which (tenant, job) is due at a moment (DESIGN §10) — pure, in memory.

A job is due when its schedule has an occurrence after its **bound** and at or before now. The
bound is the latest of the tenant's registration, the time the job's schedule was set, and its
marker's ``last_fired``. ``last_fired`` is the tick's time, not the occurrence's: however many
occurrences a late tick finds missed, it fires the job once, for the latest of them, and the
next tick counts only occurrences after it — a missed tick catches up once, and a newly
registered tenant or a schedule just set does not fire for an occurrence before it.

Deciding needs no marker where the schedule has no occurrence since registration (or since it
was set): :func:`candidates` finds those that might be due from the tenants alone, so a tick
reads markers only for jobs with a candidate, and :func:`due_jobs` decides with them. A claim
left unconfirmed past its lease (its tick stopped midway) is due again for the occurrence it
claimed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from shared.platform.keys import parse_iso
from shared.platform.ncrontab import CronError, CronSchedule
from shared.schedules.marks import Mark, MarkState
from shared.schedules.model import parse_schedule
from shared.tenants.store import Tenant

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Candidate:
    """A scheduled job with an occurrence since registration (or since it was set)."""

    tenant_id: str
    job: str
    schedule: CronSchedule
    since: datetime  # max(registration, the schedule's set time)


@dataclass(frozen=True)
class Due:
    tenant_id: str
    job: str
    occurrence: datetime  # the latest occurrence since the bound (a stale claim's own)
    mark: Mark | None  # the marker as read (its ETag guards the claim); None: never fired
    waiting_since: datetime | None = None  # the first occurrence since the bound

    @property
    def resumes(self) -> bool:
        """The marker is a claim whose tick stopped midway: finish that fire."""
        return self.mark is not None and self.mark.state == MarkState.CLAIMED


def first_due(schedule: CronSchedule, since: datetime, now: datetime) -> datetime | None:
    """The first occurrence after ``since``, if it is at or before ``now``: is it due?"""
    occurrence = schedule.next_after(since)
    return occurrence if occurrence <= now else None


def fired_for(schedule: CronSchedule, since: datetime, now: datetime
              ) -> tuple[datetime, datetime] | None:
    """``(first, latest)`` occurrence since ``since`` up to ``now``; None: not due. A fire
    at ``now`` is for the latest: it catches up on all of them at once."""
    first = first_due(schedule, since, now)
    if first is None:
        return None
    return first, schedule.last_between(since, now) or first


def candidates(tenants: Iterable[Tenant], now: datetime) -> list[Candidate]:
    """Every scheduled job with an occurrence in (registration or set time, now]."""
    found = []
    for tenant in tenants:
        assert tenant.schedules is not None
        registered = parse_iso(tenant.created_at)
        for job, expression in tenant.schedules.view().items():
            if expression is None:
                continue
            try:
                schedule = parse_schedule(expression)
            except CronError as exc:  # stored before a rule tightened: off until it is fixed
                log.warning("tenant %s: %s schedule is not usable (%s)", tenant.tenant_id, job,
                            exc)
                continue
            set_at = tenant.schedules.set_at.get(job)
            since = max(registered, parse_iso(set_at)) if set_at else registered
            if first_due(schedule, since, now) is not None:
                found.append(Candidate(tenant.tenant_id, job, schedule, since))
    return found


def due_jobs(found: Iterable[Candidate], marks: Mapping[str, Mapping[str, Mark]],
             now: datetime) -> list[Due]:
    """The candidates that are due given their markers (``marks[job][tenant_id]``), the
    longest-waiting first."""
    due = []
    for candidate in found:
        mark = marks.get(candidate.job, {}).get(candidate.tenant_id)
        if mark is not None and mark.state == MarkState.CLAIMED:
            if mark.stale(now):  # else another tick is firing it right now
                claimed = parse_iso(mark.occurrence)
                due.append(Due(candidate.tenant_id, candidate.job, claimed, mark, claimed))
            continue
        since = candidate.since
        if mark is not None:
            since = max(since, parse_iso(mark.last_fired))
        found = fired_for(candidate.schedule, since, now)
        if found is not None:
            first, latest = found
            due.append(Due(candidate.tenant_id, candidate.job, latest, mark, first))
    return sorted(due, key=lambda d: (d.waiting_since or d.occurrence, d.tenant_id, d.job))


__all__ = ["Candidate", "Due", "candidates", "due_jobs", "fired_for", "first_due"]
