"""What every simulated endpoint shares: ids, Graph-shaped answers, faults, latency."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from aiohttp import web

from .faults import FaultRule
from .odata import GraphError, error_body, new_request_id
from .state import SimState

log = logging.getLogger("graphsim")
STATE_KEY = web.AppKey("graphsim_state", SimState)
GRAPH_JSON = ("application/json;odata.metadata=minimal;odata.streaming=true;"
              "IEEE754Compatible=false;charset=utf-8")
WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})
# POST actions that only read (``directoryObjects/getByIds``): not writes in the request log
# nor against the write limits.
READ_ACTIONS = frozenset({"getbyids"})


def is_write(method: str, path: str) -> bool:
    """Whether a request changes anything (a read-only POST action does not)."""
    return method in WRITE_METHODS and path.rstrip("/").rsplit("/", 1)[-1].lower() \
        not in READ_ACTIONS
_FAULT_CODES = {500: "UnknownError", 502: "BadGateway", 503: "serviceNotAvailable",
                504: "GatewayTimeout"}


class Dropped(Exception):
    """Raised when a fault rule says to close the connection without an answer."""


def ids(request: web.Request) -> tuple[str, str]:
    return new_request_id(), request.headers.get("client-request-id") or new_request_id()


def json_response(status: int, body: Any, request_id: str, client_request_id: str,
                   headers: dict[str, str] | None = None,
                   content_type: str = GRAPH_JSON) -> web.Response:
    all_headers = {"request-id": request_id, "client-request-id": client_request_id,
                   "x-ms-ags-diagnostic": '{"ServerInfo":{"DataCenter":"graphsim"}}',
                   **(headers or {})}
    if status == 204 or body is None:
        return web.Response(status=status, headers=all_headers)
    all_headers["Content-Type"] = content_type
    return web.Response(status=status, body=json.dumps(body).encode(), headers=all_headers)


def graph_error_response(err: GraphError, rid: str, crid: str) -> web.Response:
    return json_response(err.status, error_body(err.code, err.message, rid, crid), rid, crid,
                          err.headers)


def internal_error(exc: Exception, rid: str, crid: str) -> web.Response:
    log.error("graphsim internal error (request-id %s)", rid, exc_info=exc)
    return json_response(500, error_body("InternalServerError",
                                          f"graphsim internal error: {type(exc).__name__}",
                                          rid, crid), rid, crid)


def fault_result(state: SimState, rule: FaultRule, authorization: str | None,
                 rid: str, crid: str, body: Any = None) -> tuple[int, Any, dict[str, str]] | None:
    """(status, body, headers) for a status-like fault; None for kinds handled elsewhere."""
    if rule.kind in ("500", "502", "503", "504", "status"):
        status = rule.http_status
        headers: dict[str, str] = {}
        if status in (503, 429) or rule.retry_after is not None:
            headers["Retry-After"] = str(rule.retry_after if rule.retry_after is not None else 1)
        code = _FAULT_CODES.get(status, "TooManyRequests" if status == 429 else "Fault")
        return status, error_body(code, f"Injected fault ({status}).", rid, crid), headers
    if rule.kind == "echo_auth":
        message = (f"Internal error while processing request. Authorization: {authorization}; "
                   f"client_secret={state.client_secret}")
        return 500, error_body("UnknownError", message, rid, crid), {}
    if rule.kind == "echo_body":
        message = f"Unable to process the request payload: {json.dumps(body)[:2000]}"
        return 400, error_body("BadRequest", message, rid, crid), {}
    return None


async def apply_fault(state: SimState, rule: FaultRule | None, request: web.Request,
                       rid: str, crid: str) -> web.Response | None:
    if rule is None:
        return None
    if rule.kind == "slow":
        await asyncio.sleep(rule.delay_ms / 1000.0)
        return None
    if rule.kind == "drop":
        raise Dropped()
    if rule.kind == "malformed":
        return web.Response(status=200, body=b'{"value": [{"id": "truncated', headers={
            "Content-Type": GRAPH_JSON, "request-id": rid, "client-request-id": crid})
    sent = None
    if rule.kind == "echo_body":
        raw = await request.read()
        sent = json.loads(raw) if raw.strip() else None
    status, body, headers = fault_result(state, rule, request.headers.get("Authorization"),
                                         rid, crid, sent)
    return json_response(status, body, rid, crid, headers)


def drop(request: web.Request) -> web.Response:
    if request.transport is not None:
        request.transport.abort()
    raise asyncio.CancelledError()


async def latency(state: SimState) -> None:
    delay = state.latency_s()
    if delay > 0:
        await asyncio.sleep(delay)
