"""The Durable extension's HTTP/RPC API under `/runtime/webhooks/durabletask/`.

The SDK's `DurableOrchestrationClient` calls these routes (its binding's `rpcBaseUrl` points
here); the management URLs of `create_check_status_response` point here too. Status codes are
the extension's: start 202 (+ management payload), 400 malformed input or unknown
orchestrator (body with `ExceptionMessage`, which the SDK raises), 409 duplicate start of an
active instance, 404 unknown instance, 410 instance already terminal, 412 purge of an active
instance. A refused request writes nothing.

Two mounts, as on Azure (issue 19, finding 1): the SDK's RPC calls go to a keyless listener
bound to loopback only (``RPC_PREFIX``, the Functions host's 127.0.0.1:17071 ``/durabletask/``),
since the SDK appends paths to ``rpcBaseUrl`` and a ``?code=`` could not travel with them; the
public ``/runtime/webhooks/durabletask/…`` on the app's port needs the extension's system key
as ``code`` or ``x-functions-key`` (401 without it), and the management URLs carry it.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from urllib.parse import quote

from aiohttp import web

from local.host.durable.client import ClientError, DurableClientOps, Query
from local.host.durable.history import RUNTIME_STATUSES, parse_time

PREFIX = "/runtime/webhooks/durabletask"
RPC_PREFIX = "/durabletask"
KEY_HEADER = "x-functions-key"
_BAD_ID = re.compile(r"[/\\#?\x00-\x1f\x7f-\x9f]")
MAX_ID = 256
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

log = logging.getLogger("local.host.durable")


def routes(ops: DurableClientOps, links: Callable[[str], dict[str, str]], *,
           prefix: str = PREFIX, key: str | None = None) -> list[web.RouteDef]:
    """Route table (visible here, not dispatched by name at run time). With ``key``, every
    route answers 401 unless the request carries it (``code`` or ``x-functions-key``)."""
    api = _Api(ops, links)

    def guard(handler: Handler) -> Handler:
        return handler if key is None else _keyed(key, handler)

    table: list[tuple[Callable[..., web.RouteDef], str, Handler]] = [
        (web.post, "/orchestrators/{name}", api.start),
        (web.post, "/orchestrators/{name}/{instance_id}", api.start),
        (web.get, "/instances", api.list),
        (web.get, "/instances/", api.list),
        (web.delete, "/instances", api.purge_by),
        (web.delete, "/instances/", api.purge_by),
        (web.get, "/instances/{instance_id}", api.status),
        (web.delete, "/instances/{instance_id}", api.purge),
        (web.post, "/instances/{instance_id}/raiseEvent/{event}", api.raise_event),
        (web.post, "/instances/{instance_id}/terminate", api.terminate),
        (web.post, "/instances/{instance_id}/{operation}", api.unsupported),
    ]
    return [method(prefix + path, guard(handler)) for method, path, handler in table]


def _keyed(key: str, handler: Handler) -> Handler:
    async def check(request: web.Request) -> web.StreamResponse:
        given = request.query.get("code") or request.headers.get(KEY_HEADER) or ""
        if not hmac.compare_digest(given.encode(), key.encode()):
            return web.Response(status=401)
        return await handler(request)
    return check


def error(status: int, message: str) -> web.Response:
    """The ASP.NET HttpError shape the extension answers with."""
    return web.json_response({"Message": message, "ExceptionMessage": message}, status=status)


def _guarded(handler: Handler) -> Handler:
    async def wrapper(self: _Api, request: web.Request) -> web.StreamResponse:
        try:
            return await handler(self, request)  # type: ignore[call-arg]
        except ClientError as exc:
            if exc.status == 404:
                return web.Response(status=404)
            return error(exc.status, str(exc))
        except Exception as exc:  # e.g. storage unreachable: a JSON 500, as the extension
            log.exception("durable management %s %s failed", request.method, request.path)
            return error(500, f"the operation failed ({type(exc).__name__})")
    return wrapper  # type: ignore[return-value]


class _Api:
    def __init__(self, ops: DurableClientOps, links: Callable[[str], dict[str, str]]) -> None:
        self.ops = ops
        self.links = links

    @_guarded
    async def start(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        instance_id = request.match_info.get("instance_id") or uuid.uuid4().hex
        _check_id(instance_id)
        body = await _json_body(request)
        await self.ops.start(name, instance_id, body, request.query.get("version", ""))
        links = self.links(instance_id)
        return web.json_response(links, status=202, headers={
            "Location": links["statusQueryGetUri"], "Retry-After": "10"})

    @_guarded
    async def status(self, request: web.Request) -> web.StreamResponse:
        instance_id = _check_id(request.match_info["instance_id"])
        q = request.query
        body = await self.ops.status(instance_id, _flag(q, "showHistory", False),
                                     _flag(q, "showHistoryOutput", False),
                                     _flag(q, "showInput", True))
        if body is None:
            return web.Response(status=404)
        state = body["runtimeStatus"]
        if state in ("Running", "Pending", "ContinuedAsNew", "Suspended"):
            return web.json_response(body, status=202, headers={
                "Location": str(request.url), "Retry-After": "5"})
        failed_500 = _flag(q, "returnInternalServerErrorOnFailure", False)
        return web.json_response(body, status=500 if state == "Failed" and failed_500 else 200)

    @_guarded
    async def list(self, request: web.Request) -> web.StreamResponse:
        q = request.query
        top = q.get("top")
        if top is not None and (not (top.isascii() and top.isdigit())
                                or not 0 < int(top) <= 1000):
            raise ClientError(400, "'top' must be an integer from 1 to 1000")
        query = Query(_date(q, "createdTimeFrom"), _date(q, "createdTimeTo"), _statuses(q),
                      q.get("instanceIdPrefix") or None, int(top or 100),
                      request.headers.get("x-ms-continuation-token") or None,
                      _flag(q, "showInput", False))
        found, token = await self.ops.query(query)
        headers = {"x-ms-continuation-token": token} if token else {}
        return web.json_response(found, headers=headers)

    @_guarded
    async def raise_event(self, request: web.Request) -> web.StreamResponse:
        instance_id = _check_id(request.match_info["instance_id"])
        if request.content_type != "application/json":
            raise ClientError(400, "Only application/json request content is supported")
        value = await _json_body(request)
        await self.ops.raise_event(instance_id, request.match_info["event"], value)
        return web.json_response(None, status=202)

    @_guarded
    async def terminate(self, request: web.Request) -> web.StreamResponse:
        instance_id = _check_id(request.match_info["instance_id"])
        await self.ops.terminate(instance_id, request.query.get("reason", ""))
        return web.json_response(None, status=202)

    @_guarded
    async def purge(self, request: web.Request) -> web.StreamResponse:
        instance_id = _check_id(request.match_info["instance_id"])
        return web.json_response({"instancesDeleted": await self.ops.purge(instance_id)})

    @_guarded
    async def purge_by(self, request: web.Request) -> web.StreamResponse:
        created_from = _date(request.query, "createdTimeFrom")
        if created_from is None:
            raise ClientError(400, "Please provide value for 'createdTimeFrom' parameter.")
        deleted = await self.ops.purge_by(created_from, _date(request.query, "createdTimeTo"),
                                          _statuses(request.query))
        if not deleted:
            return web.Response(status=404)
        return web.json_response({"instancesDeleted": deleted})

    @_guarded
    async def unsupported(self, request: web.Request) -> web.StreamResponse:
        instance_id = _check_id(request.match_info["instance_id"])
        if await self.ops.status(instance_id, show_input=False) is None:
            return web.Response(status=404)
        return error(501, f"'{request.match_info['operation']}' is not supported by the "
                          "local Durable runtime")


def management_links(base: str, hub: str, connection: str, instance_id: str,
                     key: str = "") -> dict[str, str]:
    """The `HttpManagementPayload` of an instance (placeholders kept as the extension does);
    with ``key``, each URL carries it as ``code``, as Azure's do."""
    prefix = f"{base}{PREFIX}/instances/{quote(instance_id, safe='')}"
    suffix = f"taskHub={quote(hub)}&connection={quote(connection)}"
    if key:
        suffix += f"&code={quote(key, safe='')}"
    return {
        "id": instance_id,
        "statusQueryGetUri": f"{prefix}?{suffix}",
        "sendEventPostUri": f"{prefix}/raiseEvent/{{eventName}}?{suffix}",
        "terminatePostUri": f"{prefix}/terminate?reason={{text}}&{suffix}",
        "rewindPostUri": f"{prefix}/rewind?reason={{text}}&{suffix}",
        "purgeHistoryDeleteUri": f"{prefix}?{suffix}",
        "restartPostUri": f"{prefix}/restart?{suffix}",
        "suspendPostUri": f"{prefix}/suspend?reason={{text}}&{suffix}",
        "resumePostUri": f"{prefix}/resume?reason={{text}}&{suffix}",
    }


def _check_id(instance_id: str) -> str:
    if not instance_id or len(instance_id) > MAX_ID or _BAD_ID.search(instance_id):
        raise ClientError(400, "Instance IDs must be 1-256 characters and must not contain "
                               "'/', '\\', '#', '?' or control characters.")
    return instance_id


async def _json_body(request: web.Request) -> str | None:
    """The body's JSON text (None when empty); 400 when it is not JSON."""
    try:
        raw = (await request.read()).decode("utf-8") if request.can_read_body else ""
        if not raw.strip():
            return None
        value = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # incl. UnicodeDecodeError; too deep
        raise ClientError(400, "Invalid JSON content") from exc
    # The Python SDK posts JSON text as a JSON string (json=df_dumps(x)): unwrap it once so the
    # history carries the JSON text the SDK decodes with df_loads.
    return value if isinstance(value, str) else json.dumps(value)


def _flag(query: Any, name: str, default: bool) -> bool:
    value = query.get(name)
    if value is None:
        return default
    return value.strip().lower() == "true"


def _date(query: Any, name: str) -> datetime | None:
    value = query.get(name)
    if value is None or value == "":
        return None
    try:
        return parse_time(value)
    except ValueError as exc:
        raise ClientError(400, f"'{name}' is not a valid date-time: {value!r}") from exc


def _statuses(query: Any) -> list[str] | None:
    values = [v.strip() for raw in query.getall("runtimeStatus", []) for v in raw.split(",")]
    values = [v for v in values if v]
    unknown = [v for v in values if v not in RUNTIME_STATUSES]
    if unknown:
        raise ClientError(400, f"unknown runtimeStatus value(s): {', '.join(unknown)}")
    return values or None
