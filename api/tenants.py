"""Tenants and access grants (DESIGN §3). Registration and grant changes are audited."""

import azure.durable_functions as df
import azure.functions as func

from api.handler import ApiCall, handle, json_response
from api.models.requests import AccessPut, TenantPut
from api.models.responses import GrantBody, ListBody, SchedulesBody, TenantBody
from api.routes import Access, Reply, route
from shared.backups.tenant_keys import TenantKeys
from shared.platform.codes import ErrorCode
from shared.platform.errors import NotFound, TenantOffboarding, ValidationFailed
from shared.platform.keys import is_guid, iso, stable_id, utc_now
from shared.tenants.audit import AuditEvent, AuditLog
from shared.tenants.store import Grant, Role, Tenant, TenantStore

bp = df.Blueprint()


@route(bp, "PUT", "tenants/{tenant_id}", summary="Register or update a tenant",
       description="Registers a customer tenant, or updates it; an absent field is left "
                   "unchanged.",
       access=Access.PLATFORM_ADMIN, body=TenantPut,
       responses={201: Reply("The tenant was registered", TenantBody),
                  200: Reply("The tenant was updated", TenantBody)},
       errors={409: (ErrorCode.TENANT_OFFBOARDING,)})
async def put_tenant(req: func.HttpRequest) -> func.HttpResponse:
    return await handle(req, _put_tenant)


@route(bp, "GET", "tenants", summary="List tenants",
       description="The tenants the caller may see, by display name.", access=Access.CALLER,
       responses={200: Reply("The tenants", ListBody[TenantBody])})
async def list_tenants(req: func.HttpRequest) -> func.HttpResponse:
    return await handle(req, _list_tenants)


@route(bp, "GET", "tenants/{tenant_id}", summary="Get a tenant", access=Access.READER,
       responses={200: Reply("The tenant", TenantBody)})
async def get_tenant(req: func.HttpRequest) -> func.HttpResponse:
    return await handle(req, _get_tenant)


@route(bp, "GET", "tenants/{tenant_id}/access", summary="List the tenant's access grants",
       access=Access.ADMIN, responses={200: Reply("The grants", ListBody[GrantBody])})
async def list_access(req: func.HttpRequest) -> func.HttpResponse:
    return await handle(req, _list_access)


@route(bp, "PUT", "tenants/{tenant_id}/access/{principal_id}", summary="Grant a role",
       description="Grants a principal a role on the tenant, replacing the one it had.",
       access=Access.ADMIN, body=AccessPut, responses={200: Reply("The grant", GrantBody)})
async def put_access(req: func.HttpRequest) -> func.HttpResponse:
    return await handle(req, _put_access)


@route(bp, "DELETE", "tenants/{tenant_id}/access/{principal_id}", summary="Revoke a grant",
       access=Access.ADMIN, responses={204: Reply("The grant was revoked")},
       errors={404: (ErrorCode.NOT_FOUND,)})
async def delete_access(req: func.HttpRequest) -> func.HttpResponse:
    return await handle(req, _delete_access)


async def _put_tenant(call: ApiCall) -> func.HttpResponse:
    """Register (201) or update (200) a tenant: what the body leaves out stays as it is."""
    tenant_id = call.route("tenant_id")
    if not is_guid(tenant_id):
        raise ValidationFailed("tenant_id must be a GUID")
    body = call.body(TenantPut)
    store, now = TenantStore(call.storage), utc_now()
    tenant_id = tenant_id.lower()
    existing = await store.get(tenant_id)
    if existing is not None and existing.offboarding:
        raise TenantOffboarding("this tenant is being offboarded; register it again once "
                                "its offboarding has finished")
    if existing is None and body.display_name is None:
        raise ValidationFailed("display_name: registering a tenant needs a display name")
    current = existing or Tenant(tenant_id, "", iso(now), iso(now))
    assert current.schedules is not None
    tenant = Tenant(tenant_id, body.display_name or current.display_name, current.created_at,
                    iso(now), current.schedules.changed(
                        body.schedules.changes() if body.schedules else {}, now),
                    retention_days=_given(body.retention_days, current.retention_days),
                    keep_min_sets=_given(body.keep_min_sets, current.keep_min_sets))
    await store.put(tenant)
    await TenantKeys(call.storage).current(tenant_id)  # its data key, at registration (§12)
    details = {"display_name": tenant.display_name}
    if body.schedules is not None:
        details["schedules"] = body.schedules.changes()
    for name in ("retention_days", "keep_min_sets"):
        if getattr(body, name) is not None:
            details[name] = getattr(body, name)
    await _audit(call, tenant_id, "tenant.registered" if existing is None else "tenant.updated",
                 target=tenant_id, details=details)
    return json_response(_body(tenant), status=200 if existing else 201)


def _body(tenant: Tenant) -> TenantBody:
    assert tenant.schedules is not None
    return TenantBody(tenant_id=tenant.tenant_id, display_name=tenant.display_name,
                      created_at=tenant.created_at, updated_at=tenant.updated_at,
                      schedules=SchedulesBody(**tenant.schedules.view()),
                      retention_days=tenant.retention_days, keep_min_sets=tenant.keep_min_sets)


def _given(value: int | None, current: int) -> int:
    return current if value is None else value


async def _list_tenants(call: ApiCall) -> func.HttpResponse:
    store = TenantStore(call.storage)
    if call.principal.platform_admin:
        tenants = await store.all()
    else:
        grants = await store.grants_for_principal(call.principal.oid)
        found = [await store.get(g.tenant_id) for g in grants]
        tenants = [t for t in found if t is not None and not t.offboarding]
    tenants.sort(key=lambda t: t.display_name.lower())
    return json_response(ListBody[TenantBody].of(_body(t) for t in tenants))


async def _get_tenant(call: ApiCall) -> func.HttpResponse:
    assert call.tenant is not None
    return json_response(_body(call.tenant))


async def _list_access(call: ApiCall) -> func.HttpResponse:
    grants = await TenantStore(call.storage).grants_for_tenant(call.tenant_id)
    return json_response(ListBody[GrantBody].of(g.__dict__ for g in grants))


def _principal_id(call: ApiCall) -> str:
    principal_id = call.route("principal_id")
    if not is_guid(principal_id):
        raise ValidationFailed("principal_id must be a GUID (an Entra object id)")
    return principal_id.lower()


async def _put_access(call: ApiCall) -> func.HttpResponse:
    principal_id = _principal_id(call)
    role = Role.parse(call.body(AccessPut).role)
    grant = Grant(call.tenant_id, principal_id, role.label, call.principal.oid, iso(utc_now()))
    await TenantStore(call.storage).grant(grant)
    await _audit(call, call.tenant_id, "access.granted", target=principal_id,
                 details={"role": role.label})
    return json_response(GrantBody.model_validate(grant.__dict__))


async def _delete_access(call: ApiCall) -> func.HttpResponse:
    principal_id = _principal_id(call)
    if not await TenantStore(call.storage).revoke(call.tenant_id, principal_id):
        raise NotFound("this principal has no access to the tenant")
    await _audit(call, call.tenant_id, "access.revoked", target=principal_id, details={})
    return func.HttpResponse(status_code=204)


async def _audit(call: ApiCall, tenant_id: str, action: str, *, target: str,
                 details: dict) -> None:
    now = utc_now()
    event = AuditEvent(
        event_id=stable_id(tenant_id, action, target, iso(now), call.principal.oid),
        tenant_id=tenant_id, actor=call.principal.oid, action=action, target=target,
        outcome="succeeded", created_at=iso(now), details=details,
    )
    await AuditLog(call.storage).record(event, now)
