"""The retention purge's activities (DESIGN §12): each reads what is there now and deletes
what has expired, so a retried or repeated call does the rest of the work and no more.
Inputs: ``activities.contracts.purge``; the logic lives in ``shared.retention``."""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta

from activities.blueprint import ActivityBlueprint
from activities.contracts.purge import (
    AuditPurge,
    PurgeDay,
    PurgeNotifications,
    PurgeSets,
    PurgeTenant,
)
from shared.backups.sets import BackupSetStore
from shared.platform.keys import parse_iso, stable_id
from shared.platform.storage import get_storage
from shared.retention.aged import purge_aged, purge_notifications, purge_run_rows
from shared.retention.plan import baseline_sets, in_use_sets, plan_purge
from shared.retention.sweep import sweep_snapshots
from shared.tenants.audit import AuditEvent, AuditLog
from shared.tenants.store import TenantStore

bp = ActivityBlueprint()
PURGER = "policyvault-retention"  # the audit actor


@bp.activity_trigger(input_name="payload")
async def list_retention(payload: dict) -> dict:
    """Each tenant of the day's purge and its ``retention_days``."""
    day = PurgeDay.from_payload(payload)
    tenants = await TenantStore(get_storage()).all()
    wanted = None if day.tenant_ids is None else set(day.tenant_ids)
    return {t.tenant_id: t.retention_days for t in tenants
            if wanted is None or t.tenant_id in wanted}


@bp.activity_trigger(input_name="payload")
async def plan_tenant_purge(payload: dict) -> dict:
    """The ids of the tenant's sets to purge, oldest first, and the old ones kept (why)."""
    job = PurgeTenant.from_payload(payload)
    storage = get_storage()
    tenant = await TenantStore(storage).get(job.tenant_id)
    if tenant is None:
        return {"purge": [], "kept": {}}
    plan = await plan_purge(storage, tenant, parse_iso(job.at))
    return {"purge": plan.purge, "kept": {k: v.value for k, v in plan.kept.items()}}


@bp.activity_trigger(input_name="payload")
async def purge_backup_sets(payload: dict) -> list[str]:
    """Delete these planned sets with their items (absent ones are fine) — except one that
    was pinned, or that a job started to use, since the plan was made. The ids deleted."""
    job = PurgeSets.from_payload(payload)
    storage = get_storage()
    sets = BackupSetStore(storage)
    spared = (await in_use_sets(storage, job.tenant_id)
              | await baseline_sets(storage, job.tenant_id))
    doomed = [s for s in job.backup_set_ids if s not in spared]
    for backup_set_id in doomed:
        await sets.delete(job.tenant_id, backup_set_id)
    return doomed


@bp.activity_trigger(input_name="payload")
async def sweep_tenant_snapshots(payload: dict) -> dict:
    """Versions, latest-content hints and blobs nothing remaining refers to
    (``shared.retention.sweep``)."""
    job = PurgeTenant.from_payload(payload)
    outcome = await sweep_snapshots(get_storage(), job.tenant_id, parse_iso(job.at),
                                    timedelta(seconds=job.grace_s))
    return dict(outcome.counts)


@bp.activity_trigger(input_name="payload")
async def purge_tenant_records(payload: dict) -> dict:
    """Run items past the tenant's retention, and what ``AGED_ROWS``/``AGED_BLOBS`` list."""
    job = PurgeTenant.from_payload(payload)
    storage = get_storage()
    tenant = await TenantStore(storage).get(job.tenant_id)
    if tenant is None:
        return {}
    now = parse_iso(job.at)
    counts = await purge_aged(storage, tenant.tenant_id, tenant.retention_days, now)
    counts.update(await purge_run_rows(storage, tenant.tenant_id, tenant.retention_days,
                                       now))
    return counts


@bp.activity_trigger(input_name="payload")
async def purge_old_notifications(payload: dict) -> int:
    job = PurgeNotifications.from_payload(payload)
    return await purge_notifications(get_storage(), job.retention_days, parse_iso(job.at))


@bp.activity_trigger(input_name="payload")
async def audit_tenant_purge(payload: dict) -> None:
    """One ``retention.purged`` event per tenant and day (a retry rewrites it)."""
    job = AuditPurge.from_payload(payload)
    at = parse_iso(job.at)
    event = AuditEvent(
        event_id=stable_id(job.tenant_id, "retention.purged", job.at), tenant_id=job.tenant_id,
        actor=PURGER, action="retention.purged", target=job.tenant_id, outcome="succeeded",
        created_at=job.at, details=asdict(job)["counts"])
    await AuditLog(get_storage()).record(event, at)
