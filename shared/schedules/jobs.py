"""The jobs a tenant can schedule, and who a scheduled run is requested by (DESIGN §10).

Each entry builds the job's normal :class:`~shared.runs.jobs.Job` — the same one its HTTP
start builds — so a scheduled start has the job's usual idempotency key and reuses a run of
that key already in flight (a manual full backup, say). A builder may refuse with a
:class:`~shared.platform.errors.Conflict` when the tenant's state does not allow the job (a
drift check without a baseline: ``no_baseline``); the tick records that occurrence as skipped.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from types import MappingProxyType

from shared.drift.start import drift_check_job
from shared.platform.storage import Storage
from shared.runs.jobs import Job, backup_job
from shared.schedules.model import BACKUP, DRIFT_CHECK

# requested_by of every scheduled run: its notifications go to this principal, not a person
SCHEDULER = "system:scheduler"

BuildJob = Callable[[Storage, str, datetime], Awaitable[Job]]


async def _backup(storage: Storage, tenant_id: str, occurrence: datetime) -> Job:
    """A full backup, exactly ``POST …/backups`` with a label: key ``{tenant}|backup|*``."""
    return backup_job(tenant_id, label=f"scheduled {occurrence:%Y-%m-%d %H:%M} UTC")


async def _drift_check(storage: Storage, tenant_id: str, occurrence: datetime) -> Job:
    """A drift check of every type against the tenant's baseline."""
    return await drift_check_job(storage, tenant_id)


SCHEDULED_JOBS: Mapping[str, BuildJob] = MappingProxyType({
    BACKUP: _backup,
    DRIFT_CHECK: _drift_check,
})

__all__ = ["SCHEDULED_JOBS", "SCHEDULER", "BuildJob"]
