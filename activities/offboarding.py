"""Offboarding activities (DESIGN §12): mark the tenant, stop its runs, purge their Durable
instances, sweep its rows and blobs, settle the run and audit it in the MSP's scope.

Each activity reads the tenant from its MSP-scope run (``shared.offboarding.job``), never
from its input, and is idempotent: stopping asks again, purging and sweeping delete by query.
The Durable client reaches the activities as an input binding, as it reaches HTTP functions.
"""

from __future__ import annotations

import logging
from dataclasses import asdict

import azure.durable_functions as df

from activities.blueprint import ActivityBlueprint
from activities.contracts.offboarding import (
    BeginOffboarding,
    FinishOffboarding,
    OffboardingBegun,
    PurgeInstances,
    StopRuns,
    SweepStep,
)
from shared.offboarding.job import offboarded_tenant
from shared.offboarding.plan import OWNED, TENANT_ROW
from shared.offboarding.runs import purge_page, stop_runs
from shared.offboarding.sweep import sweep_step
from shared.platform.config import get_settings
from shared.platform.keys import parse_iso, stable_id
from shared.platform.storage import Storage, get_storage
from shared.runs.model import Counts, Run, RunStatus
from shared.runs.notifications import NotificationStore, notification_for
from shared.runs.store import RunStore
from shared.tenants.audit import AuditEvent, AuditLog
from shared.tenants.store import MSP_SCOPE, TenantStore

bp = ActivityBlueprint()
log = logging.getLogger(__name__)
OFFBOARDED = "tenant_offboarded"


class DurableInstances:
    """:class:`shared.offboarding.runs.Instances` on the Durable client."""

    def __init__(self, client: df.DurableOrchestrationClient) -> None:
        self._client = client

    async def status(self, instance_id: str) -> str | None:
        found = await self._client.get_status(instance_id)
        return found.runtime_status.value if found and found.runtime_status else None

    async def children(self, instance_id: str) -> list[tuple[str, str]]:
        found = await self._client.get_status_by(instance_id_prefix=f"{instance_id}:")
        return [(s.instance_id, s.runtime_status.value) for s in found
                if s.instance_id and s.runtime_status]

    async def terminate(self, instance_id: str, reason: str) -> None:
        await self._client.terminate(instance_id, reason)

    async def purge(self, instance_id: str) -> None:
        await self._client.purge_instance_history(instance_id)


async def _run(storage: Storage, run_id: str) -> tuple[Run, str]:
    run = await RunStore(storage).get(MSP_SCOPE, run_id)
    if run is None:
        raise LookupError(f"offboarding run {run_id} is not recorded")
    return run, offboarded_tenant(run)


@bp.activity_trigger(input_name="payload")
async def begin_offboarding(payload: dict) -> dict:
    """Mark the tenant (again: the HTTP start marked it) and the run running."""
    step = BeginOffboarding.from_payload(payload)
    storage = get_storage()
    run, tenant_id = await _run(storage, step.run_id)
    await TenantStore(storage).mark_offboarding(tenant_id, run.run_id)
    if run.status == RunStatus.QUEUED.value:
        run = await RunStore(storage).update(MSP_SCOPE, run.run_id,
                                             status=RunStatus.RUNNING.value, started_at=step.at)
        await _notify(storage, run, step.at)
    return asdict(OffboardingBegun(steps=len(OWNED) + 1,
                                   drain_seconds=int(run.parameters.get("drain_seconds", 0))))


@bp.durable_client_input(client_name="client")
@bp.activity_trigger(input_name="payload")
async def stop_tenant_runs(payload: dict, client: df.DurableOrchestrationClient
                           ) -> list[str]:
    """Terminate the orchestrations of the tenant's runs (as target or source); the
    instance ids that have not stopped yet."""
    step = StopRuns.from_payload(payload)
    storage = get_storage()
    _, tenant_id = await _run(storage, step.run_id)
    return await stop_runs(storage, DurableInstances(client), tenant_id, parse_iso(step.at))


@bp.durable_client_input(client_name="client")
@bp.activity_trigger(input_name="payload")
async def purge_tenant_instances(payload: dict, client: df.DurableOrchestrationClient
                                 ) -> str | None:
    """Purge the Durable instances and history of a page of the tenant's runs; where the
    next page starts (None: done)."""
    step = PurgeInstances.from_payload(payload)
    storage = get_storage()
    _, tenant_id = await _run(storage, step.run_id)
    return await purge_page(storage, DurableInstances(client), tenant_id, step.after)


@bp.activity_trigger(input_name="payload")
async def sweep_tenant_step(payload: dict) -> int:
    """Delete up to ``limit`` of what one entry of the ownership table finds; how many."""
    step = SweepStep.from_payload(payload)
    storage = get_storage()
    _, tenant_id = await _run(storage, step.run_id)
    owned = OWNED[step.step] if step.step < len(OWNED) else TENANT_ROW
    return await sweep_step(storage, tenant_id, owned, step.limit)


@bp.activity_trigger(input_name="payload")
async def finish_offboarding(payload: dict) -> dict:
    """Keep the one ``tenant_offboarded`` event in the MSP's audit, settle the run, notify."""
    step = FinishOffboarding.from_payload(payload)
    storage = get_storage()
    run, tenant_id = await _run(storage, step.run_id)
    at = parse_iso(step.at)
    status = RunStatus.FAILED if step.error else RunStatus.SUCCEEDED
    if status is RunStatus.SUCCEEDED:
        await AuditLog(storage).record(AuditEvent(
            event_id=stable_id(run.run_id, OFFBOARDED), tenant_id=tenant_id,
            actor=run.requested_by, action=OFFBOARDED, target=tenant_id,
            outcome=status.value, created_at=step.at, run_id=run.run_id,
            details={"orchestrations_stopped": step.stopped, "deleted": step.deleted},
        ), at, scope=MSP_SCOPE)
    total = len(OWNED) + 1
    counts = Counts(total=total, processed=total, succeeded=total) if step.error is None \
        else run.counts
    if not run.terminal:
        run = await RunStore(storage).update(MSP_SCOPE, run.run_id, status=status.value,
                                             finished_at=step.at, counts=asdict(counts),
                                             error=step.error)
        await _notify(storage, run, step.at)
    log.info("offboarding run %s finished %s", run.run_id, run.status)
    return {"status": run.status}


async def _notify(storage: Storage, run: Run, at: str) -> None:
    note = notification_for(run, parse_iso(at), get_settings().portal_base_url)
    await NotificationStore(storage).publish(run.requested_by, note, parse_iso(at))
