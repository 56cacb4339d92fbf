"""HTTP handlers for Graph: one pipeline (latency → token → faults → throttling → engine)
for plain requests and for every `$batch` entry."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from aiohttp import web

from . import audit
from .graph import GraphRequest, GraphResponse
from .odata import GraphError, error_body, new_request_id
from .responses import (
    GRAPH_JSON,
    STATE_KEY,
    WRITE_METHODS,
    Dropped,
    apply_fault,
    drop,
    fault_result,
    graph_error_response,
    ids,
    internal_error,
    is_write,
    json_response,
    latency,
)
from .state import SimState

MAX_BATCH = 20


async def _authenticate(state: SimState, request: web.Request) -> dict[str, Any]:
    return state.verifier.verify(request.headers.get("Authorization"))


def _parse_body(raw: bytes) -> Any:
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise GraphError(400, "BadRequest", "Unable to read JSON request payload. Please ensure "
                         "Content-Type header is set and payload is of valid JSON format."
                         ) from exc


def run_graph(state: SimState, claims: dict[str, Any], method: str, version: str, path: str,
              query: list[tuple[str, str]], body: Any) -> GraphResponse:
    """Throttle then dispatch one Graph call (a top-level request or a $batch entry)."""
    tenant = state.store.lookup(claims["tid"])
    if tenant is None:
        raise GraphError(401, "InvalidAuthenticationToken", "The tenant of the token does not "
                                                             "exist.")
    retry = state.throttler.check(tenant.id, claims.get("appid", ""), is_write(method, path))
    if retry is not None:
        raise _ThrottledError(tenant.id, claims.get("appid", ""), retry)
    roles = tuple(r for r in claims.get("roles") or () if isinstance(r, str))
    return audit.handle(state.engine, tenant,
                        GraphRequest(method, version, path, query, body, roles),
                        audit.Actor.app(claims.get("appid", "")), write=is_write(method, path))


class _ThrottledError(GraphError):
    def __init__(self, tenant: str, app: str, retry_after: int):
        super().__init__(429, "TooManyRequests",
                         f"Too many requests from Identifier:{tenant}+{app} under category: "
                         f"intune_limits. Retry after {retry_after} seconds.",
                         {"Retry-After": str(retry_after)})


async def graph(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    rid, crid = ids(request)
    await latency(state)
    version = request.match_info["version"]
    path = request.match_info["path"]
    method = request.method.upper()
    tenant_id: str | None = None
    writes = is_write(method, path)
    try:
        claims = await _authenticate(state, request)
        tenant_id = claims["tid"]
        rule = state.faults.match(tenant_id, method, request.path)
        faulted = await apply_fault(state, rule, request, rid, crid)
        if faulted is not None:
            response = faulted
        else:
            body = _parse_body(await request.read()) if method in WRITE_METHODS else None
            result = run_graph(state, claims, method, version, path,
                               parse_qsl(request.query_string, keep_blank_values=True), body)
            response = json_response(result.status, result.body, rid, crid, result.headers)
    except Dropped:
        state.record(tenant=tenant_id, method=method, path=request.path,
                     query=request.query_string, status=0, is_write=writes, kind="graph")
        return drop(request)
    except GraphError as err:
        response = graph_error_response(err, rid, crid)
    except Exception as exc:  # a simulator bug: answer in Graph's shape, keep the traceback
        response = internal_error(exc, rid, crid)
    state.record(tenant=tenant_id, method=method, path=request.path, query=request.query_string,
                 status=response.status, is_write=writes and response.status < 400,
                 kind="graph")
    return response


async def batch(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    rid, crid = ids(request)
    await latency(state)
    version = request.match_info["version"]
    tenant_id: str | None = None
    try:
        claims = await _authenticate(state, request)
        tenant_id = claims["tid"]
        rule = state.faults.match(tenant_id, "POST", request.path)
        faulted = await apply_fault(state, rule, request, rid, crid)
        if faulted is not None:
            response = faulted
        else:
            payload = _parse_body(await request.read())
            entries = _validate_batch(payload)
            responses = []
            statuses: dict[str, int] = {}
            for entry in entries:
                out = await _batch_entry(state, claims, version, entry, statuses,
                                         request.headers.get("Authorization"))
                statuses[out["id"]] = out["status"]
                responses.append(out)
            response = json_response(200, {"responses": responses}, rid, crid)
    except Dropped:
        state.record(tenant=tenant_id, method="POST", path=request.path, query="", status=0,
                     is_write=False, kind="batch")
        return drop(request)
    except GraphError as err:
        response = graph_error_response(err, rid, crid)
    except Exception as exc:  # a simulator bug: answer in Graph's shape, keep the traceback
        response = internal_error(exc, rid, crid)
    state.record(tenant=tenant_id, method="POST", path=request.path, query="",
                 status=response.status, is_write=False, kind="batch")
    return response


def _validate_batch(payload: Any) -> list[dict[str, Any]]:
    if not isinstance(payload, dict) or not isinstance(payload.get("requests"), list):
        raise GraphError(400, "BadRequest", "Invalid batch payload: 'requests' array expected.")
    entries = payload["requests"]
    if not entries:
        raise GraphError(400, "BadRequest", "Invalid batch payload: no requests.")
    if len(entries) > MAX_BATCH:
        raise GraphError(400, "BadRequest", f"The number of requests in the batch ("
                         f"{len(entries)}) exceeds the limit of {MAX_BATCH}.")
    seen: set[str] = set()
    for entry in entries:
        # Graph takes a numeric id as its string form (IntuneCD sends 1, 2, … against
        # production Graph and reads the answers' ids back with int()); answers carry strings.
        if isinstance(entry, dict) and isinstance(entry.get("id"), int) and not isinstance(
                entry.get("id"), bool):
            entry["id"] = str(entry["id"])
        if not isinstance(entry, dict) or not all(isinstance(entry.get(k), str)
                                                  for k in ("id", "method", "url")):
            raise GraphError(400, "BadRequest", "Each batch request needs string 'id', 'method' "
                                                "and 'url'.")
        if entry["id"] in seen:
            raise GraphError(400, "BadRequest", f"Batch request id '{entry['id']}' is "
                                                "duplicated.")
        seen.add(entry["id"])
    return entries


async def _batch_entry(state: SimState, claims: dict[str, Any], version: str,
                       entry: dict[str, Any], statuses: dict[str, int],
                       authorization: str | None) -> dict[str, Any]:
    sub_rid = new_request_id()
    method = entry["method"].upper()
    url = entry["url"]
    tenant_id = claims["tid"]
    split = urlsplit(url)
    path = split.path.lstrip("/")
    full_path = f"/{version}/{path}"
    status: int
    body: Any = None
    headers: dict[str, str] = {}
    try:
        if split.scheme or split.netloc:
            raise GraphError(400, "BadRequest", "Batch request URLs must be relative.")
        if path.split("/", 1)[0] in ("v1.0", "beta") or path == "$batch":
            raise GraphError(400, "BadRequest", f"Invalid batch request URL '{url}'.")
        for dep in entry.get("dependsOn") or []:
            if dep not in statuses:
                raise GraphError(400, "BadRequest", f"dependsOn '{dep}' must name an earlier "
                                                    "request.")
            if statuses[dep] >= 400:
                raise GraphError(424, "FailedDependency", "The dependent request failed.")
        req_headers = {k.lower(): v for k, v in (entry.get("headers") or {}).items()}
        sub_body = entry.get("body")
        if sub_body is not None and "content-type" not in req_headers:
            raise GraphError(400, "BadRequest", "Content-Type header must be specified for a "
                                                "batch request with a body.")
        rule = state.faults.match(tenant_id, method, full_path)
        fault = None
        if rule is not None and rule.kind == "slow":
            await asyncio.sleep(rule.delay_ms / 1000.0)
        elif rule is not None and rule.kind in ("drop", "malformed"):
            raise Dropped() if rule.kind == "drop" else GraphError(
                502, "BadGateway", "Injected malformed upstream response.")
        elif rule is not None:
            fault = fault_result(state, rule, authorization, sub_rid, "", entry.get("body"))
        if fault is not None:
            status, body, headers = fault
        else:
            result = run_graph(state, claims, method, version, path,
                               parse_qsl(split.query, keep_blank_values=True), sub_body)
            # Snapshot now: a later entry of the same batch may change the stored object.
            body = json.loads(json.dumps(result.body)) if result.body is not None else None
            status, headers = result.status, dict(result.headers)
    except GraphError as err:
        status, headers = err.status, dict(err.headers)
        body = error_body(err.code, err.message, sub_rid, "")
    headers.setdefault("Content-Type", GRAPH_JSON) if body is not None else None
    headers["request-id"] = sub_rid
    state.record(tenant=tenant_id, method=method, path=full_path, query=split.query,
                 status=status, is_write=is_write(method, path) and status < 400,
                 kind="graph", batch=True)
    out: dict[str, Any] = {"id": entry["id"], "status": status, "headers": headers}
    if body is not None:
        out["body"] = body
    return out
