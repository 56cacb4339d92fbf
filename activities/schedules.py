"""Activities of the nightly backup: which tenants, and one recorded run per tenant."""

import logging

import azure.durable_functions as df

from shared.graph import SUPPORTED_KEYS
from shared.platform.storage import get_storage
from shared.runs.idempotency import fingerprint
from shared.runs.model import RunType
from shared.runs.starter import JobRequest, start_job
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
    del payload
    return sorted(t.tenant_id for t in await TenantStore(get_storage()).all())


@bp.activity_trigger(input_name="payload")
async def record_scheduled_backup(payload: dict) -> dict:
    """Create (or find) the tenant's backup run under the same key a manual full backup
    uses, so a backup already running for the tenant is not started twice."""
    tenant_id, label = payload["tenant_id"], payload["label"]
    request = JobRequest(
        tenant_id=tenant_id, run_type=RunType.BACKUP, orchestrator="backup_tenant",
        key=f"{tenant_id}|backup|*",
        fingerprint=fingerprint("POST", f"/api/tenants/{tenant_id}/backups",
                                {"policy_types": None, "label": label}),
        client_key=False, requested_by=SCHEDULER, produces_backup_set=True,
        parameters={"policy_types": list(SUPPORTED_KEYS), "label": label},
    )
    run, reused = await start_job(request, storage=get_storage(),
                                  scheduler=_StartedByOrchestrator())
    if reused:
        log.info("tenant %s: backup run %s already in flight", tenant_id, run.run_id)
    return {"run_id": run.run_id, "tenant_id": tenant_id, "instance_id": run.instance_id,
            "reused": reused}
