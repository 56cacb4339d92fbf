"""Capturing one policy, and the versions captures and backups recorded for it (DESIGN §3)."""

import re

import azure.durable_functions as df
import azure.functions as func

from api.handler import ApiCall, handle, json_response
from api.models.responses import ListBody, VersionBody
from api.runs import run_response
from api.starts import job_request, start
from shared.backups.versions import VersionStore
from shared.graph.catalog import supported_type
from shared.platform.errors import ValidationFailed
from shared.runs.jobs import capture_job
from shared.tenants.store import Role

bp = df.Blueprint()
# Graph ids: GUIDs, integers (scope tags), or GUID_suffix (enrollment configurations).
_POLICY_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


@bp.route(route="tenants/{tenant_id}/policies/{policy_type}/{policy_id}/snapshot",
          methods=["POST"])
@bp.durable_client_input(client_name="client")
async def capture_policy(req: func.HttpRequest, client: df.DurableOrchestrationClient
                         ) -> func.HttpResponse:
    async def endpoint(call: ApiCall) -> func.HttpResponse:
        policy_type, policy_id = policy_from_route(call)
        if call.json_body():
            raise ValidationFailed("this request takes no body")
        job = capture_job(call.tenant_id, policy_type, policy_id)
        run, reused = await start(call, client, job_request(call, job))
        return run_response(run, reused=reused)

    return await handle(req, endpoint, role=Role.OPERATOR)


@bp.route(route="tenants/{tenant_id}/policies/{policy_type}/{policy_id}/versions",
          methods=["GET"])
async def list_policy_versions(req: func.HttpRequest) -> func.HttpResponse:
    async def endpoint(call: ApiCall) -> func.HttpResponse:
        policy_type, policy_id = policy_from_route(call)
        query = call.query()
        page = await VersionStore(call.storage).list(
            call.tenant_id, policy_type, policy_id, top=query.top,
            continuation=query.continuation,
        )
        return json_response(ListBody[VersionBody].of(page.value, page.continuation))

    return await handle(req, endpoint, role=Role.READER)


def policy_from_route(call: ApiCall) -> tuple[str, str]:
    policy_type = supported_type(call.route("policy_type")).key
    policy_id = call.route("policy_id")
    if not _POLICY_ID_RE.match(policy_id):
        raise ValidationFailed("policy_id is not a valid Graph object id")
    return policy_type, policy_id
