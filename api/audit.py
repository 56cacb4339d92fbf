"""`GET /api/tenants/{tenant_id}/audit`: a tenant's audit events, newest first (admins)."""

import azure.durable_functions as df
import azure.functions as func

from api.handler import ApiCall, handle, list_response
from shared.platform.paging import parse_top
from shared.tenants.audit import AuditLog
from shared.tenants.store import Role

bp = df.Blueprint()


@bp.route(route="tenants/{tenant_id}/audit", methods=["GET"])
async def list_audit(req: func.HttpRequest) -> func.HttpResponse:
    return await handle(req, _list, role=Role.ADMIN)


async def _list(call: ApiCall) -> func.HttpResponse:
    page = await AuditLog(call.storage).list(
        call.tenant_id, top=parse_top(call.req.params.get("top")),
        continuation=call.req.params.get("continuation"),
    )
    return list_response(page.value, page.continuation)
