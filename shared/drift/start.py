"""Building a drift check's job (DESIGN §10): the HTTP start and the scheduler share it.

    job = await drift_check_job(storage, tenant_id)          # the tenant's baseline, its types
    run, reused = await start_job(job.request(requested_by), storage=..., scheduler=...)

A check run by a system principal (``requested_by`` starting ``system:``, as the scheduler's
runs do) alerts the tenant's admins instead of its requester (``shared.drift.alerts``).
"""

from __future__ import annotations

from shared.drift.baseline import resolve_baseline
from shared.graph.catalog import supported_type
from shared.platform.errors import ValidationFailed
from shared.platform.storage import Storage
from shared.runs.jobs import Job, drift_job

_SHOWN_TYPES = 10


async def drift_check_job(storage: Storage, tenant_id: str, baseline_id: str | None = None,
                          policy_types: list[str] | None = None) -> Job:
    """The drift check of ``policy_types`` (default: every type the baseline backed up)
    against ``baseline_id`` (default: the tenant's baseline). Raises
    :class:`~shared.platform.errors.NoBaseline` (409) when the tenant has none,
    ``NotFound`` (404) for a set that is not the tenant's, and ``ValidationFailed`` (400)
    for a capture or pre-restore set, an unknown type, or a type the baseline did not back
    up (every live object of it would look ``added``)."""
    baseline = await resolve_baseline(storage, tenant_id, baseline_id)
    asked = sorted({supported_type(t).key for t in policy_types}) if policy_types else None
    covered = baseline.policy_types
    missing = [t for t in asked or [] if t not in set(covered)]
    if missing:
        shown = ", ".join(missing[:_SHOWN_TYPES])
        raise ValidationFailed(f"the baseline {baseline.backup_set_id} did not back up: "
                               f"{shown}{' …' if len(missing) > _SHOWN_TYPES else ''}")
    return drift_job(tenant_id, baseline.backup_set_id, asked or covered,
                     requested_baseline=baseline_id, requested_types=asked,
                     since=baseline.since)


__all__ = ["drift_check_job"]
