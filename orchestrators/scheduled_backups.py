"""`scheduled_backups`: every night, a full backup of every registered tenant.

The timer starts one orchestration per day (its instance id is the date, so a timer that
fires twice — a restart, a scale-out — starts it once). The orchestration records one backup
run per tenant, exactly as ``POST …/backups`` with no body would (same idempotency key, so a
backup already running for a tenant is reused, not doubled), and runs them as
``backup_tenant`` sub-orchestrations, ``TENANTS_AT_ONCE`` tenants at a time, so hundreds of
tenants share the Graph app's throughput instead of all starting at 01:00 sharp.
"""

import logging
from dataclasses import asdict

import azure.durable_functions as df
import azure.functions as func

from activities.contracts.base import RunRef
from activities.contracts.schedules import (
    ListRegisteredTenants,
    RecordScheduledBackup,
    ScheduledBackup,
)
from activities.schedules import list_registered_tenants, record_scheduled_backup
from orchestrators.backup_tenant import backup_tenant
from orchestrators.retry import BOOKKEEPING
from orchestrators.run_steps import call_orchestrator
from shared.platform.keys import utc_now

bp = df.Blueprint()
log = logging.getLogger(__name__)

NIGHTLY = "0 0 1 * * *"  # 01:00 UTC, six-field NCRONTAB
TENANTS_AT_ONCE = 8


@bp.timer_trigger(schedule=NIGHTLY, arg_name="timer", run_on_startup=False)
@bp.durable_client_input(client_name="client")
async def nightly_backups(timer: func.TimerRequest,
                          client: df.DurableOrchestrationClient) -> None:
    instance_id = await start_for_today(client)
    log.info("scheduled backups %s (timer past due: %s)", instance_id, timer.past_due)


async def start_for_today(client: df.DurableOrchestrationClient) -> str:
    """Start today's orchestration unless it already exists."""
    today = utc_now().strftime("%Y-%m-%d")
    instance_id = f"scheduled-backups-{today}"
    status = await client.get_status(instance_id)
    if not (status and status.runtime_status):
        await client.start_new("scheduled_backups", instance_id, {"day": today})
    return instance_id


@bp.orchestration_trigger(context_name="context")
def scheduled_backups(context: df.DurableOrchestrationContext):
    day = context.get_input()["day"]
    tenants = yield context.call_activity_with_retry(
        list_registered_tenants, BOOKKEEPING, asdict(ListRegisteredTenants()))
    started = reused = failed = 0
    for start in range(0, len(tenants), TENANTS_AT_ONCE):
        recorded = yield context.task_all([
            context.call_activity_with_retry(record_scheduled_backup, BOOKKEEPING, asdict(
                RecordScheduledBackup(tenant_id=tenant_id, label=f"nightly {day}")))
            for tenant_id in tenants[start:start + TENANTS_AT_ONCE]
        ])
        runs = [ScheduledBackup.from_payload(run) for run in recorded]
        fresh = [run for run in runs if not run.reused]
        reused += len(runs) - len(fresh)
        started += len(fresh)
        try:  # each backup settles its own run; one failing does not stop the night
            yield context.task_all([
                call_orchestrator(context, backup_tenant, asdict(RunRef.for_run(run)),
                                  run.instance_id)
                for run in fresh
            ])
        except Exception:  # the sub-orchestration's failure is recorded on its run
            failed += 1
    return {"tenants": len(tenants), "started": started, "already_running": reused,
            "waves_with_failures": failed}
