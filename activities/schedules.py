"""Activities of the nightly backup: which tenants, and one recorded run per tenant.
Inputs and outcomes: ``activities.contracts.schedules``."""

import logging
from dataclasses import asdict

import azure.durable_functions as df

from activities.contracts.schedules import (
    ListRegisteredTenants,
    RecordScheduledBackup,
    ScheduledBackup,
)
from shared.platform.storage import get_storage
from shared.runs.jobs import backup_job
from shared.runs.starter import start_job
from shared.tenants.store import TenantStore

bp = df.Blueprint()
log = logging.getLogger(__name__)

SCHEDULER = "system:scheduled-backups"  # requested_by of scheduled runs


class _StartedByOrchestrator:
    """The scheduled_backups orchestration starts each backup as its sub-orchestration, so
    recording a run schedules nothing here (and a recorded run counts as scheduled)."""

    async def schedule(self, orchestrator: str, instance_id: str, payload: dict) -> None:
        return None

    async def status(self, instance_id: str) -> str | None:
        return "Running"  # the parent orchestration owns it


@bp.activity_trigger(input_name="payload")
async def list_registered_tenants(payload: dict) -> list:
    ListRegisteredTenants.from_payload(payload)
    return sorted(t.tenant_id for t in await TenantStore(get_storage()).all())


@bp.activity_trigger(input_name="payload")
async def record_scheduled_backup(payload: dict) -> dict:
    """Create (or find) the tenant's backup run as the same job a manual full backup is
    (``POST …/backups`` with no body), so a backup already running is not started twice."""
    step = RecordScheduledBackup.from_payload(payload)
    job = backup_job(step.tenant_id, label=step.label)
    run, reused = await start_job(job.request(SCHEDULER), storage=get_storage(),
                                  scheduler=_StartedByOrchestrator())
    if reused:
        log.info("tenant %s: backup run %s already in flight", step.tenant_id, run.run_id)
    return asdict(ScheduledBackup(run_id=run.run_id, tenant_id=step.tenant_id,
                                  instance_id=run.instance_id, reused=reused))
