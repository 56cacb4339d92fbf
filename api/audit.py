"""`GET /api/tenants/{tenant_id}/audit`: a tenant's audit events, newest first (admins)."""

import azure.durable_functions as df
import azure.functions as func

from api.handler import ApiCall, handle, json_response
from api.models.responses import AuditEventBody, ListBody
from shared.tenants.audit import AuditLog
from shared.tenants.store import Role

bp = df.Blueprint()


@bp.route(route="tenants/{tenant_id}/audit", methods=["GET"])
async def list_audit(req: func.HttpRequest) -> func.HttpResponse:
    return await handle(req, _list, role=Role.ADMIN)


async def _list(call: ApiCall) -> func.HttpResponse:
    query = call.query()
    page = await AuditLog(call.storage).list(
        call.tenant_id, top=query.top, continuation=query.continuation)
    return json_response(ListBody[AuditEventBody].of(page.value, page.continuation))
