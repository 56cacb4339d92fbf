"""Capturing one policy, and the versions captures and backups recorded for it (DESIGN §3)."""

import re

import azure.durable_functions as df
import azure.functions as func

from api.handler import ApiCall, handle, list_response
from api.starts import start
from shared.backups.sets import VersionStore
from shared.graph.catalog import supported_type
from shared.platform.errors import ValidationFailed
from shared.platform.paging import parse_top
from shared.runs.model import RunType
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
        return await start(
            call, client, run_type=RunType.CAPTURE_SNAPSHOT, orchestrator="capture_snapshot",
            derived_key=f"{call.tenant_id}|capture|{policy_type}|{policy_id}",
            canonical_body={}, produces_backup_set=True,
            parameters={"policy_type": policy_type, "policy_id": policy_id},
        )

    return await handle(req, endpoint, role=Role.OPERATOR)


@bp.route(route="tenants/{tenant_id}/policies/{policy_type}/{policy_id}/versions",
          methods=["GET"])
async def list_policy_versions(req: func.HttpRequest) -> func.HttpResponse:
    async def endpoint(call: ApiCall) -> func.HttpResponse:
        policy_type, policy_id = policy_from_route(call)
        page = await VersionStore(call.storage).list(
            call.tenant_id, policy_type, policy_id, top=parse_top(call.req.params.get("top")),
            continuation=call.req.params.get("continuation"),
        )
        return list_response(page.value, page.continuation)

    return await handle(req, endpoint, role=Role.READER)


def policy_from_route(call: ApiCall) -> tuple[str, str]:
    policy_type = supported_type(call.route("policy_type")).key
    policy_id = call.route("policy_id")
    if not _POLICY_ID_RE.match(policy_id):
        raise ValidationFailed("policy_id is not a valid Graph object id")
    return policy_type, policy_id
