"""The /_sim control API (no auth): the same operations as SimState's methods, over HTTP.

GET  /_sim/info                         base URL, app credentials, cert and CA paths
GET  /_sim/tenants                      [{"id","display_name","domain","client_id","client_secret"}]
PUT  /_sim/tenants/{tenant}/consent     {"consented": bool, "roles"?: [str]}: roles are the
                                        application permissions in the app's tokens
PUT  /_sim/tenants/{tenant}/licences/{sku}  {"held": bool}: give or take a SKU (licences.SKUS)
POST /_sim/tokens                       caller token for PolicyVault's API
GET|POST|DELETE /_sim/faults            list / add (returns the rule with its id) / clear
DELETE /_sim/faults/{id}                remove one rule
GET|PUT /_sim/limits                    throttling limits ({"preset": "intune"|"off", ...})
PUT  /_sim/latency                      {"latency_ms", "jitter_ms"}
GET|DELETE /_sim/requests               request log (?since=<seq>) / clear
GET  /_sim/stats                        per tenant: requests, writes, throttled, errors
POST /_sim/reset                        regenerate from the seed ({"tenants","counts"} optional)
POST /_sim/drift                        {"tenant_id","collection","id","op","patch"?,"actor"?}
                                        actor {"upn","type":"user"|"partner"}: who the audit
                                        log names (default admin@<tenant domain>)
GET  /_sim/objects/{tenant}/{path}      stored objects with their navigations inline
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web


def _ok(body: Any, status: int = 200) -> web.Response:
    return web.json_response(body, status=status)


def _problem(status: int, message: str) -> web.Response:
    return web.json_response({"error": {"code": "SimulatorControl", "message": message}},
                             status=status)


async def _json(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    if not raw.strip():
        return {}
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("a JSON object is expected")
    return data


def add_routes(app: web.Application, key: web.AppKey) -> None:
    def handler(fn):
        async def wrapped(request: web.Request) -> web.Response:
            try:
                return await fn(request, request.app[key])
            except (ValueError, TypeError) as exc:
                return _problem(400, str(exc))
            except KeyError as exc:
                return _problem(404, str(exc.args[0] if exc.args else exc))
        return wrapped

    async def info(request, state):
        return _ok(state.info())

    async def tenants(request, state):
        return _ok(state.tenants())

    async def consent(request, state):
        body = await _json(request)
        roles = body.get("roles")
        state.set_consent(request.match_info["tenant"], bool(body.get("consented", True)),
                          None if roles is None else tuple(str(r) for r in roles))
        return _ok({"ok": True})

    async def licence(request, state):
        body = await _json(request)
        state.set_licence(request.match_info["tenant"], request.match_info["sku"],
                          bool(body.get("held", True)))
        return _ok({"ok": True})

    async def tokens(request, state):
        return _ok(state.mint_token(await _json(request)))

    async def faults_get(request, state):
        return _ok(state.list_faults())

    async def faults_add(request, state):
        return _ok(state.add_fault(await _json(request)), 201)

    async def faults_clear(request, state):
        return _ok({"removed": state.clear_faults(request.match_info.get("rule_id"))})

    async def limits_get(request, state):
        return _ok(state.throttler.limits.to_dict())

    async def limits_put(request, state):
        return _ok(state.set_limits(await _json(request)))

    async def latency_put(request, state):
        body = await _json(request)
        state.set_latency(float(body.get("latency_ms", 0)), float(body.get("jitter_ms", 0)))
        return _ok({"latency_ms": state.config.latency_ms, "jitter_ms": state.config.jitter_ms})

    async def requests_get(request, state):
        return _ok(state.requests(int(request.query.get("since", "0"))))

    async def requests_clear(request, state):
        state.clear_requests()
        return web.Response(status=204)

    async def stats(request, state):
        return _ok(state.get_stats())

    async def reset(request, state):
        return _ok(state.reset(await _json(request)))

    async def drift(request, state):
        return _ok({"object": state.drift(await _json(request))})

    async def objects(request, state):
        return _ok({"value": state.objects(request.match_info["tenant"],
                                           request.match_info["path"])})

    r = app.router
    r.add_get("/_sim/info", handler(info))
    r.add_get("/_sim/tenants", handler(tenants))
    r.add_put("/_sim/tenants/{tenant}/consent", handler(consent))
    r.add_put("/_sim/tenants/{tenant}/licences/{sku}", handler(licence))
    r.add_post("/_sim/tokens", handler(tokens))
    r.add_get("/_sim/faults", handler(faults_get))
    r.add_post("/_sim/faults", handler(faults_add))
    r.add_delete("/_sim/faults", handler(faults_clear))
    r.add_delete("/_sim/faults/{rule_id}", handler(faults_clear))
    r.add_get("/_sim/limits", handler(limits_get))
    r.add_put("/_sim/limits", handler(limits_put))
    r.add_put("/_sim/latency", handler(latency_put))
    r.add_get("/_sim/requests", handler(requests_get))
    r.add_delete("/_sim/requests", handler(requests_clear))
    r.add_get("/_sim/stats", handler(stats))
    r.add_post("/_sim/reset", handler(reset))
    r.add_post("/_sim/drift", handler(drift))
    r.add_get("/_sim/objects/{tenant}/{path:.*}", handler(objects))
