"""Cross-tenant deployment (DESIGN §11): a deployment's mapping plan, and the mappings saved
per tenant pair.

A deployment itself starts at ``POST /api/tenants/{target}/restores`` with
``source_tenant_id`` (``api.restores``). ``GET …/runs/{run_id}/mapping`` serves the plan its
preview (or live run) persisted; ``GET``/``PUT …/mappings/{source_tenant_id}`` the registry the
next deployment from that source reuses (admin of the target; a change is audited).
"""

from __future__ import annotations

import azure.durable_functions as df
import azure.functions as func

from api.handler import ApiCall, handle, json_response
from api.models.deploy import MappingRowBody, SavedMappingBody
from api.models.requests import ListQuery, MappingsPut
from api.models.responses import ListBody
from api.routes import Access, Reply, route
from shared.deploy.store import MappingRegistry, PlanStore
from shared.platform.codes import ErrorCode
from shared.platform.errors import NotFound, ValidationFailed
from shared.platform.keys import is_guid, iso, stable_id, utc_now
from shared.runs.store import RunStore
from shared.tenants.audit import AuditEvent, AuditLog

bp = df.Blueprint()


@route(bp, "GET", "tenants/{tenant_id}/runs/{run_id}/mapping",
       summary="Get a deployment's mapping plan",
       description="Every reference a cross-tenant deployment's items carry, and the target "
                   "object each becomes: mapped, will_create, ambiguous, missing or dropped.",
       access=Access.READER, query=ListQuery,
       responses={200: Reply("The plan's rows", ListBody[MappingRowBody])},
       errors={404: (ErrorCode.NOT_FOUND,)})
async def get_mapping(req: func.HttpRequest) -> func.HttpResponse:
    return await handle(req, _get_mapping)


@route(bp, "GET", "tenants/{tenant_id}/mappings/{source_tenant_id}",
       summary="Get the saved mappings from a source tenant",
       description="Source object id → target object id, saved for deployments from that "
                   "tenant into this one and reused by the next.",
       access=Access.ADMIN, responses={200: Reply("The saved mappings",
                                                  ListBody[SavedMappingBody])})
async def get_mappings(req: func.HttpRequest) -> func.HttpResponse:
    return await handle(req, _get_mappings)


@route(bp, "PUT", "tenants/{tenant_id}/mappings/{source_tenant_id}",
       summary="Save the mappings from a source tenant",
       description="Replaces the saved mappings of the tenant pair. A saved target that no "
                   "longer exists is reported missing by the next plan, never used.",
       access=Access.ADMIN, body=MappingsPut,
       responses={200: Reply("The saved mappings", ListBody[SavedMappingBody])})
async def put_mappings(req: func.HttpRequest) -> func.HttpResponse:
    return await handle(req, _put_mappings)


async def _get_mapping(call: ApiCall) -> func.HttpResponse:
    run_id = call.route("run_id").upper()
    run = await RunStore(call.storage).get(call.tenant_id, run_id)
    assert run is not None  # the handler checked the run index
    if not run.parameters.get("source_tenant_id"):
        raise NotFound("this run is not a cross-tenant deployment")
    query = call.query()
    rows = await PlanStore(call.storage).rows(run_id)
    start = int(query.continuation) if (query.continuation or "").isdigit() else 0
    page = rows[start:start + query.top]
    more = str(start + query.top) if start + query.top < len(rows) else None
    return json_response(ListBody[MappingRowBody].of([r.to_dict() for r in page], more))


def _source(call: ApiCall) -> str:
    source = call.route("source_tenant_id")
    if not is_guid(source):
        raise ValidationFailed("source_tenant_id must be a GUID")
    return source.lower()


async def _saved(call: ApiCall, source: str) -> func.HttpResponse:
    saved = await MappingRegistry(call.storage).get(call.tenant_id, source)
    return json_response(ListBody[SavedMappingBody].of([m.__dict__ for m in saved]))


async def _get_mappings(call: ApiCall) -> func.HttpResponse:
    return await _saved(call, _source(call))


async def _put_mappings(call: ApiCall) -> func.HttpResponse:
    source = _source(call)
    body = call.body(MappingsPut)
    now = utc_now()
    await MappingRegistry(call.storage).save(
        call.tenant_id, source, {s: (t, None) for s, t in body.mappings.items()},
        at=iso(now), by=call.principal.oid, replace=True)
    await AuditLog(call.storage).record(AuditEvent(
        event_id=stable_id(call.tenant_id, "mappings.saved", source, iso(now),
                           call.principal.oid),
        tenant_id=call.tenant_id, actor=call.principal.oid, action="mappings.saved",
        target=f"tenant:{source}", outcome="succeeded", created_at=iso(now),
        details={"source_tenant_id": source, "count": len(body.mappings)}), now)
    return await _saved(call, source)
