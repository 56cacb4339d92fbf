"""The HTTPS front: route table and TLS. Handlers live in entra_http, graph_http, control."""

from __future__ import annotations

import ssl

from aiohttp import web

from . import control
from .entra_http import openid_config, pv_keys, pv_openid, tenant_keys, token
from .graph_http import batch, graph
from .odata import GraphError
from .responses import STATE_KEY, graph_error_response, ids
from .state import SimState


async def unknown_version(request: web.Request) -> web.Response:
    rid, crid = ids(request)
    first = request.path.strip("/").split("/", 1)[0]
    return graph_error_response(GraphError(404, "ResourceNotFound",
                                            f"Invalid version: {first.lower()}"), rid, crid)


def build_app(state: SimState) -> web.Application:
    app = web.Application(client_max_size=8 * 1024 * 1024)
    app[STATE_KEY] = state
    control.add_routes(app, STATE_KEY)
    app.router.add_get("/pv-issuer/discovery/keys", pv_keys)
    app.router.add_get("/pv-issuer/.well-known/openid-configuration", pv_openid)
    app.router.add_get("/{tenant}/v2.0/.well-known/openid-configuration", openid_config)
    app.router.add_get("/{tenant}/discovery/v2.0/keys", tenant_keys)
    app.router.add_post("/{tenant}/oauth2/v2.0/token", token)
    app.router.add_post("/{version:v1\\.0|beta}/$batch", batch)
    app.router.add_route("*", "/{version:v1\\.0|beta}/{path:.*}", graph)
    app.router.add_route("*", "/{tail:.*}", unknown_version)
    return app


def ssl_context(state: SimState) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(state.leaf_cert_file), str(state.leaf_key_file))
    return ctx
