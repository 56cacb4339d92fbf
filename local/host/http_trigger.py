"""HTTP triggers: aiohttp requests in, `func.HttpRequest` to the function, its response out.

Behaviour chosen to match the Functions host:
- No route for the path, or the route exists but not for this method: **404, empty body**
  (the host answers 404 for a wrong method, azure-functions-host#10098; HEAD is not implied
  by GET, #11625).
- A function that raises (or returns something that is not a response): **500, empty
  body**; the traceback goes to the log only.
- Request headers and query values that repeat are joined with "," like ASP.NET does.
"""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING, Any

import azure.functions as func
from aiohttp import web
from multidict import CIMultiDict

from local.host.errors import HostConfigError
from local.host.extensions import NoInputBindings
from local.host.http_routes import RouteTemplate, RouteTemplateError, sort_key

if TYPE_CHECKING:
    from local.host.app_loader import FunctionSpec
    from local.host.function_host import FunctionHost

log = logging.getLogger("local.host.http")

_HOP_BY_HOP = {"content-length", "transfer-encoding", "connection", "keep-alive"}
ALL_METHODS = frozenset({"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE"})


class HttpRoute:
    """One HTTP-triggered function: its template, methods and response binding name."""

    def __init__(self, spec: FunctionSpec, route_prefix: str) -> None:
        self.spec = spec
        route = str(spec.trigger.get("route") or spec.name).strip("/")
        self.template_text = "/".join(p for p in (route_prefix, route) if p)
        try:
            self.template = RouteTemplate.parse(self.template_text)
        except RouteTemplateError as exc:
            raise HostConfigError(f"function '{spec.name}': route '{route}': {exc}") from exc
        methods = spec.trigger.get("methods") or []
        self.methods = frozenset(str(m).upper() for m in methods) or ALL_METHODS
        http_out = [b for b in spec.output_bindings() if b["type"] == "http"]
        self.response_name = http_out[0]["name"] if http_out else "$return"


def _joined(items: Any) -> dict[str, str]:
    joined: dict[str, str] = {}
    for key, value in items:
        joined[key] = f"{joined[key]},{value}" if key in joined else value
    return joined


def _to_aiohttp(result: Any) -> web.Response:
    """Translate what the function returned into the wire response, unchanged."""
    if isinstance(result, func.HttpResponse):
        headers: CIMultiDict[str] = CIMultiDict()
        for name, value in result.headers.items():
            if name.lower() not in _HOP_BY_HOP:
                headers.add(name, value)
        if "Content-Type" not in headers:
            mimetype = result.mimetype
            headers["Content-Type"] = (
                f"{mimetype}; charset={result.charset}" if mimetype.startswith("text/")
                else mimetype
            )
        return web.Response(status=result.status_code, body=result.get_body(), headers=headers)
    if isinstance(result, str):
        return web.Response(status=200, body=result.encode(), content_type="text/plain",
                            charset="utf-8")
    if isinstance(result, bytes | bytearray):
        return web.Response(status=200, body=bytes(result),
                            content_type="application/octet-stream")
    if result is None:
        return web.Response(status=204)
    raise TypeError(f"unsupported HTTP function result type {type(result).__name__}")


class HttpExtension(NoInputBindings):
    """Serves `httpTrigger` under `/{routePrefix}` with a catch-all aiohttp route."""

    trigger_types = frozenset({"httpTrigger"})

    def __init__(self) -> None:
        self.routes: list[HttpRoute] = []
        self._host: FunctionHost | None = None

    def describe(self, trigger: dict[str, Any]) -> str:
        route = next((r for r in self.routes if r.spec.trigger is trigger), None)
        if route is None:
            return "httpTrigger"
        methods = "*" if route.methods == ALL_METHODS else ",".join(sorted(route.methods))
        return f"{methods} {self._host.base_url if self._host else ''}/{route.template_text}"

    async def start(self, host: FunctionHost) -> None:
        self._host = host
        prefix = host.host_config.route_prefix
        self.routes = sorted(
            (HttpRoute(spec, prefix) for spec in host.functions_for(self.trigger_types)),
            key=lambda r: sort_key(r.template),
        )
        mount = f"/{prefix}" if prefix else ""
        host.web_app.router.add_route("*", mount or "/", self._handle)
        # [\s\S]: a path segment may carry an encoded newline (%0A), which `.` would not match
        # (aiohttp matches the decoded path); the route templates decide, as on Azure.
        if mount:
            host.web_app.router.add_route("*", mount + r"/{tail:[\s\S]*}", self._handle)
        else:
            host.web_app.router.add_route("*", r"/{tail:[\s\S]+}", self._handle)

    async def stop(self) -> None:
        self.routes = []

    def match(self, method: str, raw_path: str) -> tuple[HttpRoute, dict[str, str]] | None:
        """The first route (by precedence) matching path and method."""
        for route in self.routes:
            params = route.template.match(raw_path)
            if params is not None and method in route.methods:
                return route, params
        return None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        assert self._host is not None
        found = self.match(request.method.upper(), request.raw_path.split("?", 1)[0])
        if found is None:
            return web.Response(status=404)
        route, route_params = found
        http_request = func.HttpRequest(
            method=request.method,
            url=str(request.url),
            headers=_joined(request.headers.items()),
            params=_joined(request.query.items()),
            route_params=route_params,
            body=await request.read(),
        )
        invocation = str(uuid.uuid4())
        try:
            result = await self._host.invoke_with_outputs(
                route.spec, {route.spec.trigger["name"]: http_request}
            )
            value = (
                result.return_value if route.response_name == "$return"
                else result.outputs.get(route.response_name)
            )
            return _to_aiohttp(value)
        except Exception:
            log.exception(
                "Executed 'Functions.%s' (Failed, Id=%s)", route.spec.name, invocation
            )
            return web.Response(status=500)
