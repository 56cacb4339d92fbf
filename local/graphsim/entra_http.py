"""HTTP handlers for Entra ID: OpenID metadata, JWKS, the token endpoint, caller keys."""

from __future__ import annotations

from aiohttp import web

from .entra import (
    EntraError,
    caller_jwks,
    graph_jwks,
    issue_app_token,
    openid_configuration,
    tenant_not_found,
)
from .responses import STATE_KEY, Dropped, apply_fault, drop, ids, json_response, latency


async def openid_config(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    rid, crid = ids(request)
    await latency(state)
    name = request.match_info["tenant"]
    tenant = state.store.lookup(name)
    path = request.path
    rule = state.faults.match(tenant.id if tenant else name, request.method, path, "entra")
    try:
        faulted = await apply_fault(state, rule, request, rid, crid)
    except Dropped:
        state.record(tenant=name, method="GET", path=path, query="", status=0, is_write=False,
                     kind="entra")
        return drop(request)
    if faulted is not None:
        response = faulted
    elif tenant is None:
        err = tenant_not_found(name)
        response = json_response(err.status, err.body(), rid, crid,
                                  content_type="application/json")
    else:
        response = json_response(200, openid_configuration(state.base_url, tenant.id), rid, crid,
                                  content_type="application/json")
    state.record(tenant=tenant.id if tenant else name, method="GET", path=path, query="",
                 status=response.status, is_write=False, kind="entra")
    return response


async def tenant_keys(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    rid, crid = ids(request)
    return json_response(200, graph_jwks(state.keys), rid, crid, content_type="application/json")


async def token(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    rid, crid = ids(request)
    await latency(state)
    name = request.match_info["tenant"]
    tenant = state.store.lookup(name)
    tenant_id = tenant.id if tenant else name
    path = request.path
    form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
    rule = state.faults.match(tenant_id, request.method, path, "entra")
    try:
        faulted = await apply_fault(state, rule, request, rid, crid)
    except Dropped:
        state.record(tenant=tenant_id, method="POST", path=path, query="", status=0,
                     is_write=False, kind="entra")
        return drop(request)
    if faulted is not None:
        response = faulted
    else:
        try:
            if tenant is None:
                raise tenant_not_found(name)
            body = issue_app_token(state.token_context, tenant.id, tenant.consented, name, form,
                                   tenant.app_roles)
            response = json_response(200, body, rid, crid, content_type="application/json")
        except EntraError as err:
            response = json_response(err.status, err.body(), rid, crid,
                                      content_type="application/json")
    state.record(tenant=tenant_id, method="POST", path=path, query="", status=response.status,
                 is_write=False, kind="entra")
    return response


async def pv_keys(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    rid, crid = ids(request)
    return json_response(200, caller_jwks(state.keys), rid, crid, content_type="application/json")


async def pv_openid(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    rid, crid = ids(request)
    issuer = f"{state.base_url}/pv-issuer"
    return json_response(200, {"issuer": issuer, "jwks_uri": f"{issuer}/discovery/keys",
                                "id_token_signing_alg_values_supported": ["RS256"]},
                          rid, crid, content_type="application/json")
