"""Whole-tenant backups and the backup sets captures and backups produced (DESIGN §3)."""

import azure.durable_functions as df
import azure.functions as func

from api.handler import ApiCall, handle, json_response, list_response
from api.starts import start
from shared.backups.sets import BackupSetStore
from shared.backups.snapshots import SnapshotStore
from shared.graph.catalog import CATALOG, supported_type
from shared.platform.errors import NotFound, ValidationFailed
from shared.platform.keys import is_ulid
from shared.platform.paging import parse_top
from shared.runs.model import RunType
from shared.tenants.store import Role

bp = df.Blueprint()
MAX_LABEL = 200


@bp.route(route="tenants/{tenant_id}/backups", methods=["POST"])
@bp.durable_client_input(client_name="client")
async def start_backup(req: func.HttpRequest, client: df.DurableOrchestrationClient
                       ) -> func.HttpResponse:
    async def endpoint(call: ApiCall) -> func.HttpResponse:
        body = call.json_body()
        unknown = set(body) - {"policy_types", "label"}
        if unknown:
            raise ValidationFailed(f"unknown fields: {', '.join(sorted(unknown))}")
        requested = body.get("policy_types")
        if requested is not None and (
            not isinstance(requested, list) or not requested
            or not all(isinstance(t, str) for t in requested)
        ):
            raise ValidationFailed("policy_types must be a non-empty list of type keys")
        types = sorted({supported_type(t).key for t in requested}) if requested else None
        label = body.get("label")
        if label is not None and (not isinstance(label, str) or len(label) > MAX_LABEL):
            raise ValidationFailed(f"label must be a string of at most {MAX_LABEL} characters")
        return await start(
            call, client, run_type=RunType.BACKUP, orchestrator="backup_tenant",
            derived_key=f"{call.tenant_id}|backup|{','.join(types) if types else '*'}",
            canonical_body={"policy_types": types, "label": label},
            produces_backup_set=True,
            parameters={"policy_types": types or [entry.key for entry in CATALOG],
                        "label": label},
        )

    return await handle(req, endpoint, role=Role.OPERATOR)


@bp.route(route="tenants/{tenant_id}/backups", methods=["GET"])
async def list_backup_sets(req: func.HttpRequest) -> func.HttpResponse:
    async def endpoint(call: ApiCall) -> func.HttpResponse:
        page = await BackupSetStore(call.storage).list(
            call.tenant_id, top=parse_top(call.req.params.get("top")),
            continuation=call.req.params.get("continuation"),
        )
        return list_response([s.to_api() for s in page.value], page.continuation)

    return await handle(req, endpoint, role=Role.READER)


@bp.route(route="tenants/{tenant_id}/backups/{backup_set_id}", methods=["GET"])
async def get_backup_set(req: func.HttpRequest) -> func.HttpResponse:
    async def endpoint(call: ApiCall) -> func.HttpResponse:
        store = BackupSetStore(call.storage)
        backup_set = await store.get(call.tenant_id, _backup_set_id(call))
        if backup_set is None:
            raise NotFound("no such backup set in this tenant")
        body = backup_set.to_api()
        body["items"] = [i.to_api() for i in await store.items(backup_set.backup_set_id)]
        return json_response(body)

    return await handle(req, endpoint, role=Role.READER)


@bp.route(route="tenants/{tenant_id}/backups/{backup_set_id}/items/{item_id}", methods=["GET"])
async def get_backup_item(req: func.HttpRequest) -> func.HttpResponse:
    async def endpoint(call: ApiCall) -> func.HttpResponse:
        store = BackupSetStore(call.storage)
        backup_set = await store.get(call.tenant_id, _backup_set_id(call))
        item = backup_set and await store.item(backup_set.backup_set_id, call.route("item_id"))
        if not item:
            raise NotFound("no such item in this tenant's backup set")
        return json_response(await SnapshotStore(call.storage).get(item.blob_path))

    return await handle(req, endpoint, role=Role.READER)


def _backup_set_id(call: ApiCall) -> str:
    backup_set_id = call.route("backup_set_id").upper()
    if not is_ulid(backup_set_id):
        raise ValidationFailed("backup_set_id is not a valid backup set id")
    return backup_set_id
