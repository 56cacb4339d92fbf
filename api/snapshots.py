"""Capturing one policy, and the versions captures and backups recorded for it (DESIGN §3)."""

import azure.durable_functions as df
import azure.functions as func

from api.handler import ApiCall, handle, json_response
from api.models.requests import ListQuery
from api.models.responses import ListBody, VersionBody
from api.routes import POLICY_ID_RE, Access, Reply, route
from api.runs import RUN_STARTED, run_response
from api.starts import job_request, start
from shared.backups.versions import VersionStore
from shared.graph.catalog import supported_type
from shared.platform.errors import ValidationFailed
from shared.runs.jobs import capture_job

bp = df.Blueprint()


@bp.durable_client_input(client_name="client")
@route(bp, "POST", "tenants/{tenant_id}/policies/{policy_type}/{policy_id}/snapshot",
       summary="Capture a policy",
       description="Starts a capture of one policy into a new backup set; takes no body.",
       access=Access.OPERATOR, idempotency_key=True, responses={202: RUN_STARTED})
async def capture_policy(req: func.HttpRequest, client: df.DurableOrchestrationClient
                         ) -> func.HttpResponse:
    async def endpoint(call: ApiCall) -> func.HttpResponse:
        policy_type, policy_id = policy_from_route(call)
        if call.json_body():
            raise ValidationFailed("this request takes no body")
        job = capture_job(call.tenant_id, policy_type, policy_id)
        run, reused = await start(call, client, job_request(call, job))
        return run_response(run, reused=reused)

    return await handle(req, endpoint)


@route(bp, "GET", "tenants/{tenant_id}/policies/{policy_type}/{policy_id}/versions",
       summary="List a policy's versions",
       description="The distinct captured versions of the policy, newest first.",
       access=Access.READER, query=ListQuery,
       responses={200: Reply("The versions", ListBody[VersionBody])})
async def list_policy_versions(req: func.HttpRequest) -> func.HttpResponse:
    async def endpoint(call: ApiCall) -> func.HttpResponse:
        policy_type, policy_id = policy_from_route(call)
        query = call.query()
        page = await VersionStore(call.storage).list(
            call.tenant_id, policy_type, policy_id, top=query.top,
            continuation=query.continuation,
        )
        return json_response(ListBody[VersionBody].of(page.value, page.continuation))

    return await handle(req, endpoint)


def policy_from_route(call: ApiCall) -> tuple[str, str]:
    policy_type = supported_type(call.route("policy_type")).key
    policy_id = call.route("policy_id")
    if not POLICY_ID_RE.fullmatch(policy_id):
        raise ValidationFailed("policy_id is not a valid Graph object id")
    return policy_type, policy_id
