"""Audit events, newest first: ``GET /api/tenants/{tenant_id}/audit`` a tenant's (its
admins), ``GET /api/audit`` the MSP's own, such as ``tenant_offboarded`` (Platform.Admin)."""

import azure.durable_functions as df
import azure.functions as func

from api.handler import ApiCall, handle, json_response
from api.models.requests import ListQuery
from api.models.responses import AuditEventBody, ListBody
from api.routes import Access, Reply, route
from shared.tenants.audit import AuditLog
from shared.tenants.store import MSP_SCOPE

bp = df.Blueprint()


@route(bp, "GET", "tenants/{tenant_id}/audit", summary="List audit events",
       description="The tenant's audit events (registrations, grants, live restores), newest "
                   "first.",
       access=Access.ADMIN, query=ListQuery,
       responses={200: Reply("The audit events", ListBody[AuditEventBody])})
async def list_audit(req: func.HttpRequest) -> func.HttpResponse:
    return await handle(req, _list)


@route(bp, "GET", "audit", summary="List the MSP audit events",
       description="The MSP's own audit events (tenant offboardings), newest first; they "
                   "outlive the tenants they are about.",
       access=Access.PLATFORM_ADMIN, query=ListQuery,
       responses={200: Reply("The audit events", ListBody[AuditEventBody])})
async def list_msp_audit(req: func.HttpRequest) -> func.HttpResponse:
    return await handle(req, _list)


async def _list(call: ApiCall) -> func.HttpResponse:
    """The path's tenant's events, or the MSP's on a route without a tenant."""
    query = call.query()
    scope = call.tenant_id if call.tenant is not None else MSP_SCOPE
    page = await AuditLog(call.storage).list(
        scope, top=query.top, continuation=query.continuation)
    return json_response(ListBody[AuditEventBody].of(page.value, page.continuation))
