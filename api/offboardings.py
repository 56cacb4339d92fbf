"""Offboarding a tenant (DESIGN §12): ``DELETE /api/tenants/{tenant_id}`` starts the run,
``GET /api/offboardings/{run_id}`` follows it — in the MSP's scope, because from the moment
the delete is accepted the tenant's own routes answer 403 like an unknown tenant's."""

import azure.durable_functions as df
import azure.functions as func

from api.handler import ApiCall, handle, json_response
from api.models.responses import OffboardingBody, StartedOffboarding
from api.routes import Access, Reply, route
from api.runs import RETRY_AFTER_SECONDS
from api.starts import DurableScheduler
from shared.offboarding.job import offboard_job, offboarded_tenant
from shared.platform.codes import ErrorCode
from shared.platform.errors import Forbidden, NotFound, ValidationFailed
from shared.platform.keys import is_guid, is_ulid
from shared.runs.model import Run, RunType
from shared.runs.starter import start_job
from shared.runs.store import RunStore
from shared.tenants.store import MSP_SCOPE, TenantStore

bp = df.Blueprint()


@bp.durable_client_input(client_name="client")
@route(bp, "DELETE", "tenants/{tenant_id}", summary="Offboard a tenant",
       description="Starts deleting everything PolicyVault holds of the tenant: backups, "
                   "runs, grants, notifications, schedules, audit, and its data key. From "
                   "now on the tenant's routes answer 403; follow the run at Location.",
       access=Access.PLATFORM_ADMIN,
       responses={202: Reply("The offboarding run (reused: true when one was already in "
                             "flight). Poll Location until it answers 200", StartedOffboarding,
                             headers=("Location",), optional_headers=("Retry-After",))})
async def delete_tenant(req: func.HttpRequest, client: df.DurableOrchestrationClient
                        ) -> func.HttpResponse:
    async def endpoint(call: ApiCall) -> func.HttpResponse:
        tenant_id = call.route("tenant_id")
        if not is_guid(tenant_id):
            raise ValidationFailed("tenant_id must be a GUID")
        tenant_id = tenant_id.lower()
        store = TenantStore(call.storage)
        if await store.get(tenant_id) is None:
            raise Forbidden("this tenant is not registered")
        job = offboard_job(tenant_id)
        run, reused = await start_job(job.request(call.principal.oid, path=job.route),
                                      storage=call.storage, scheduler=DurableScheduler(client))
        # Marked before the answer: from now on its routes answer 403 and starts 409. (Gone
        # meanwhile, the tenant is not marked: the run then finds nothing to delete.)
        await store.mark_offboarding(tenant_id, run.run_id)
        return _response(run, StartedOffboarding.of(run, tenant_id, reused=reused), 202)

    return await handle(req, endpoint)


@route(bp, "GET", "offboardings/{run_id}", summary="Get an offboarding",
       description="The offboarding run: 202 with Location and Retry-After while it runs, 200 "
                   "once it is terminal.",
       access=Access.PLATFORM_ADMIN,
       responses={200: Reply("The offboarding has finished", OffboardingBody,
                             optional_headers=("Location",)),
                  202: Reply("The offboarding is queued or running; poll again after "
                             "Retry-After", OffboardingBody, headers=("Location", "Retry-After"))},
       errors={404: (ErrorCode.NOT_FOUND,)})
async def get_offboarding(req: func.HttpRequest) -> func.HttpResponse:
    async def endpoint(call: ApiCall) -> func.HttpResponse:
        run_id = call.route("run_id")
        if not is_ulid(run_id):
            raise ValidationFailed("run_id is not a valid run id")
        run = await RunStore(call.storage).get(MSP_SCOPE, run_id.upper())
        if run is None or run.run_type != RunType.OFFBOARD:
            raise NotFound("no offboarding has this run id")
        return _response(run, OffboardingBody.of(run, offboarded_tenant(run)),
                         200 if run.terminal else 202)

    return await handle(req, endpoint)


def _response(run: Run, body: OffboardingBody, status: int) -> func.HttpResponse:
    headers = {"Location": run.api_path}
    if not run.terminal:
        headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return json_response(body, status=status, headers=headers)
