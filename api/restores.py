"""`POST /api/tenants/{tenant_id}/restores`: preview or restore a backup set (DESIGN §3, §8).

Operators may preview (``dry_run: true``, the default); a live restore needs the tenant's
``admin`` role and the tenant's live-restore lock (409 ``restore_in_progress``). The backup set
is looked up inside the path's tenant (absent: 404); unknown item ids are a 400 naming them.
With ``source_tenant_id`` it is a cross-tenant deployment (DESIGN §11,
:mod:`shared.deploy.start`): the set is the source's.
"""

from __future__ import annotations

import azure.durable_functions as df
import azure.functions as func

from api.handler import ApiCall, handle
from api.models.requests import RestoreStart
from api.routes import Access, route
from api.runs import RUN_STARTED, run_response
from api.starts import job_request, start
from shared.backups.sets import BackupSetStore
from shared.deploy.build import Deployment
from shared.deploy.start import check_plan, check_source
from shared.platform.codes import ErrorCode
from shared.platform.errors import NotFound, ValidationFailed
from shared.platform.keys import utc_now
from shared.restore.lock import claim_live_restore, release_live_restore
from shared.runs.jobs import Job, restore_job
from shared.runs.starter import reused_run
from shared.tenants.store import Role, TenantStore, require_role

bp = df.Blueprint()
_SHOWN_UNKNOWN = 20


@bp.durable_client_input(client_name="client")
@route(bp, "POST", "tenants/{tenant_id}/restores", summary="Restore a backup set",
       description="Starts a preview (dry_run, the default; needs operator) or a live restore "
                   "(needs admin; one at a time per tenant) of a backup set or some of its "
                   "items. With source_tenant_id, deploys another tenant's set (needs reader "
                   "there): its mapping plan is served at …/runs/{run_id}/mapping.",
       access=Access.OPERATOR, body=RestoreStart, idempotency_key=True,
       responses={202: RUN_STARTED},
       errors={404: (ErrorCode.NOT_FOUND,), 409: (ErrorCode.RESTORE_IN_PROGRESS,),
               422: (ErrorCode.MAPPING_INVALID, ErrorCode.MAPPING_UNRESOLVED)})
async def start_restore(req: func.HttpRequest, client: df.DurableOrchestrationClient
                        ) -> func.HttpResponse:
    async def endpoint(call: ApiCall) -> func.HttpResponse:
        body = call.body(RestoreStart)
        if not body.dry_run:
            await require_role(TenantStore(call.storage), call.principal, call.tenant_id,
                               Role.ADMIN)
        if body.source_tenant_id is None:
            await _check_selection(call, body, call.tenant_id)
            job = restore_job(call.tenant_id, **body.model_dump())
        else:
            job = await _deployment_job(call, body)
        request = job_request(call, job)
        # A deployment's plan reads the target's Graph: not again for a retry the run in
        # flight answers (a refused plan never recorded one). Its orchestration checks it again.
        if body.source_tenant_id is not None and await reused_run(
                request, storage=call.storage) is None:
            await check_plan(call.storage, Deployment.of_run(
                call.tenant_id, body.backup_set_id, job.parameters), live=not body.dry_run)
        live = not body.dry_run
        if live:
            await claim_live_restore(call.storage, call.tenant_id, request.key, utc_now())
        try:
            run, reused = await start(call, client, request)
        except Exception:
            if live:  # a refused start (e.g. 422) leaves the tenant unlocked; a run it
                # recorded keeps the lock (release checks)
                await release_live_restore(call.storage, call.tenant_id, request.key)
            raise
        if live and run.terminal:
            await release_live_restore(call.storage, call.tenant_id, request.key)
        return run_response(run, reused=reused)

    return await handle(req, endpoint)


async def _deployment_job(call: ApiCall, body: RestoreStart) -> Job:
    """A cross-tenant deployment's job, once both tenants and its selection are checked."""
    assert body.source_tenant_id is not None
    checked = await check_source(call.storage, call.principal, call.tenant_id,
                                 body.source_tenant_id, body.ca_state)
    await _check_selection(call, body, checked.source_tenant_id)
    return restore_job(call.tenant_id, **body.model_dump(), copy_secrets=checked.copy_secrets)


async def _check_selection(call: ApiCall, body: RestoreStart, tenant_id: str) -> None:
    """The set must be ``tenant_id``'s (the path tenant's, or a deployment's source: 404
    otherwise) and hold every item asked for."""
    store = BackupSetStore(call.storage)
    if await store.get(tenant_id, body.backup_set_id) is None:
        raise NotFound("no such backup set in this tenant")
    if body.item_ids is None:
        return
    known = {item.item_id for item in await store.items(body.backup_set_id)}
    unknown = [i for i in body.item_ids if i not in known]
    if unknown:
        shown = ", ".join(unknown[:_SHOWN_UNKNOWN])
        more = (f" (and {len(unknown) - _SHOWN_UNKNOWN} more)"
                if len(unknown) > _SHOWN_UNKNOWN else "")
        raise ValidationFailed(f"item_ids not in the backup set: {shown}{more}")
