"""`GET /api/tenants/{tenant_id}/audit`: a tenant's audit events, newest first (admins)."""

import azure.durable_functions as df
import azure.functions as func

from api.handler import ApiCall, handle, json_response
from api.models.requests import ListQuery
from api.models.responses import AuditEventBody, ListBody
from api.routes import Access, Reply, route
from shared.tenants.audit import AuditLog

bp = df.Blueprint()


@route(bp, "GET", "tenants/{tenant_id}/audit", summary="List audit events",
       description="The tenant's audit events (registrations, grants, live restores), newest "
                   "first.",
       access=Access.ADMIN, query=ListQuery,
       responses={200: Reply("The audit events", ListBody[AuditEventBody])})
async def list_audit(req: func.HttpRequest) -> func.HttpResponse:
    return await handle(req, _list)


async def _list(call: ApiCall) -> func.HttpResponse:
    query = call.query()
    page = await AuditLog(call.storage).list(
        call.tenant_id, top=query.top, continuation=query.continuation)
    return json_response(ListBody[AuditEventBody].of(page.value, page.continuation))
