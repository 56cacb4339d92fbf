"""Cross-tenant deployment activities (DESIGN §11): the run's mapping plan.

``plan_deployment`` builds the plan from the run's recorded source tenant and set (never from
item data) and persists one row per reference, rewriting its own rows when retried. A live
run's plan must be complete: otherwise it returns the ``mapping_unresolved`` error and the
orchestrator writes nothing. A live run saves the references it mapped by override in the
tenant pair's registry, for the next deployment.
"""

from __future__ import annotations

from dataclasses import asdict

from activities.blueprint import ActivityBlueprint
from activities.contracts.deploy import DeploymentPlanned, PlanDeployment
from shared.deploy.build import Deployment, build_plan
from shared.deploy.plan import Status, Via, unresolved_summary
from shared.deploy.store import MappingRegistry, PlanStore
from shared.platform.codes import ErrorCode
from shared.platform.storage import get_storage
from shared.runs.store import RunStore
from shared.tenants import gate

bp = ActivityBlueprint()


@bp.activity_trigger(input_name="payload")
async def plan_deployment(payload: dict) -> dict:
    step = PlanDeployment.from_payload(payload)
    storage = get_storage()
    run = await RunStore(storage).get(step.tenant_id, step.run_id)
    assert run is not None and run.backup_set_id is not None
    deployment = Deployment.of_run(run.tenant_id, run.backup_set_id, run.parameters)
    resolution = await build_plan(storage, deployment, tenant_values=True)
    # The plan read the target's Graph (minutes, when throttled): a tenant marked meanwhile
    # gets no plan rows and no registry entry (DESIGN §12).
    await gate.require_open(storage, run.tenant_id, deployment.source_tenant_id,
                            refusal="nothing more is deployed")
    await PlanStore(storage).put(run.run_id, resolution.rows)
    unresolved = unresolved_summary(resolution.rows)
    error = None
    if not run.dry_run and (unresolved or resolution.invalid):
        error = {"code": ErrorCode.MAPPING_UNRESOLVED,
                 "message": f"{len(unresolved) + len(resolution.invalid)} reference(s) of the "
                            "mapping plan are unresolved in the target; nothing was written"}
    elif not run.dry_run:
        chosen = {r.source_id: (r.target_id, r.kind) for r in resolution.rows
                  if r.via == Via.OVERRIDE and r.status == Status.MAPPED and r.target_id}
        if chosen:
            await MappingRegistry(storage).save(run.tenant_id, deployment.source_tenant_id,
                                                chosen, at=step.at, by=run.requested_by)
    return asdict(DeploymentPlanned(rows=len(resolution.rows), unresolved=len(unresolved),
                                    error=error))
