"""Starting a day's purge (DESIGN §12): one ``purge_expired`` instance per UTC day, so a late,
repeated or concurrent timer starts it once; a day's instance that failed or was
terminated is started again (the purge is idempotent: it finishes what is left)."""

from __future__ import annotations

from datetime import datetime, timedelta

from shared.platform.keys import iso
from shared.runs.starter import Scheduler

ORCHESTRATOR = "purge_expired"
_RESTARTABLE = frozenset({"Failed", "Terminated"})


def purge_instance_id(now: datetime) -> str:
    return f"pv-purge-{now:%Y%m%d}"


async def start_purge(scheduler: Scheduler, now: datetime, grace: timedelta, *,
                      tenant_ids: list[str] | None = None,
                      instance_id: str | None = None) -> str | None:
    """Start the purge of ``now``'s day (or ``instance_id``: tests name their own); the
    instance id, or None when that day's purge already runs or ran."""
    instance = instance_id or purge_instance_id(now)
    status = await scheduler.status(instance)
    if status is not None and status not in _RESTARTABLE:
        return None
    day = {"at": iso(now), "grace_s": int(grace.total_seconds()),  # contracts.purge.PurgeDay
           "tenant_ids": tenant_ids}
    await scheduler.schedule(ORCHESTRATOR, instance, day)
    return instance
