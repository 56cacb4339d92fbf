"""Whole-tenant backups and the backup sets captures and backups produced (DESIGN §3)."""

import azure.durable_functions as df
import azure.functions as func

from api.handler import ApiCall, handle, json_response
from api.models.requests import ITEM_ID_RE, BackupStart, ListQuery
from api.models.responses import BackupSetBody, BackupSetWithItems, ListBody
from api.routes import Access, Reply, route
from api.runs import RUN_STARTED, run_response
from api.starts import job_request, start
from shared.backups.sets import BackupSetStore
from shared.backups.snapshots import SnapshotStore
from shared.graph import supported_type
from shared.graph.secrets import redact
from shared.platform.codes import ErrorCode
from shared.platform.errors import NotFound, ValidationFailed
from shared.platform.keys import is_ulid
from shared.runs.jobs import backup_job

bp = df.Blueprint()


@bp.durable_client_input(client_name="client")
@route(bp, "POST", "tenants/{tenant_id}/backups", summary="Back up a tenant",
       description="Starts a backup of the given policy types, or of every supported type.",
       access=Access.OPERATOR, body=BackupStart, idempotency_key=True,
       responses={202: RUN_STARTED})
async def start_backup(req: func.HttpRequest, client: df.DurableOrchestrationClient
                       ) -> func.HttpResponse:
    async def endpoint(call: ApiCall) -> func.HttpResponse:
        body = call.body(BackupStart)
        job = backup_job(call.tenant_id, body.policy_types, body.label)
        run, reused = await start(call, client, job_request(call, job))
        return run_response(run, reused=reused)

    return await handle(req, endpoint)


@route(bp, "GET", "tenants/{tenant_id}/backups", summary="List backup sets",
       description="The backup sets captures and backups produced, newest first.",
       access=Access.READER, query=ListQuery,
       responses={200: Reply("The backup sets", ListBody[BackupSetBody])})
async def list_backup_sets(req: func.HttpRequest) -> func.HttpResponse:
    async def endpoint(call: ApiCall) -> func.HttpResponse:
        query = call.query()
        page = await BackupSetStore(call.storage).list(
            call.tenant_id, top=query.top, continuation=query.continuation)
        return json_response(ListBody[BackupSetBody].of(
            [s.to_api() for s in page.value], page.continuation))

    return await handle(req, endpoint)


@route(bp, "GET", "tenants/{tenant_id}/backups/{backup_set_id}", summary="Get a backup set",
       description="The backup set with its items.", access=Access.READER,
       responses={200: Reply("The backup set", BackupSetWithItems)},
       errors={404: (ErrorCode.NOT_FOUND,)})
async def get_backup_set(req: func.HttpRequest) -> func.HttpResponse:
    async def endpoint(call: ApiCall) -> func.HttpResponse:
        store = BackupSetStore(call.storage)
        backup_set = await store.get(call.tenant_id, _backup_set_id(call))
        if backup_set is None:
            raise NotFound("no such backup set in this tenant")
        items = [i.to_api() for i in await store.items(backup_set.backup_set_id)]
        return json_response(BackupSetWithItems.model_validate(
            {**backup_set.to_api(), "items": items}))

    return await handle(req, endpoint)


@route(bp, "GET", "tenants/{tenant_id}/backups/{backup_set_id}/items/{item_id}",
       summary="Get a snapshot",
       description="The complete, normalized Graph object the item captured, with its "
                   "sub-collections inline; every secret value reads \"<secret>\".",
       access=Access.READER, responses={200: Reply("The snapshot document", document=True)},
       errors={404: (ErrorCode.NOT_FOUND,)})
async def get_backup_item(req: func.HttpRequest) -> func.HttpResponse:
    async def endpoint(call: ApiCall) -> func.HttpResponse:
        store = BackupSetStore(call.storage)
        backup_set = await store.get(call.tenant_id, _backup_set_id(call))
        item_id = call.route("item_id")
        if not ITEM_ID_RE.fullmatch(item_id):
            raise ValidationFailed("item_id is not an item id of a backup set")
        item = backup_set and await store.item(backup_set.backup_set_id, item_id)
        if not item:
            raise NotFound("no such item in this tenant's backup set")
        document = await SnapshotStore(call.storage).get(item.blob_path,
                                                         tenant_id=call.tenant_id)
        return json_response(redact(supported_type(item.policy_type), document))

    return await handle(req, endpoint)


def _backup_set_id(call: ApiCall) -> str:
    backup_set_id = call.route("backup_set_id").upper()
    if not is_ulid(backup_set_id):
        raise ValidationFailed("backup_set_id is not a valid backup set id")
    return backup_set_id
