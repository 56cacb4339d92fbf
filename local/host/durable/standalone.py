"""A minimal function host for running `DurableExtension` without `local.host`.

Used by the benchmark and the durable test suite: discovers a DFApp's functions, serves its
HTTP triggers under `/api/`, fills `durableClient` bindings and calls functions the way the
Python worker does (coroutines on the loop, plain functions on a thread pool). It is not the
product runtime (`python -m local.host` is).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import json
import socket
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import azure.functions as func
from aiohttp import web

from local.host.durable.extension import DurableExtension


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    trigger: dict[str, Any]
    bindings: list[dict[str, Any]]
    function: Any = field(repr=False, compare=False)

    @property
    def user_function(self) -> Any:
        return self.function.get_user_function()


_DISCOVERED: dict[int, list[FunctionSpec]] = {}


def discover(app: Any) -> list[FunctionSpec]:
    """The app's functions (memoised: an app validates its function names only once)."""
    if id(app) in _DISCOVERED:
        return _DISCOVERED[id(app)]
    specs = []
    for function in app.get_functions():
        bindings = json.loads(function.get_function_json())["bindings"]
        for binding in bindings:
            binding["direction"] = str(binding.get("direction", "in")).lower()
        trigger = next(b for b in bindings if b["name"] == function.get_trigger().name)
        specs.append(FunctionSpec(function.get_function_name(), trigger, bindings, function))
    _DISCOVERED[id(app)] = specs
    return specs


class StandaloneHost:
    """`start()` / `stop()` on one event loop; `base_url` is known once started."""

    def __init__(self, app: Any, *, storage_connection: str, storage_prefix: str = "",
                 hub_name: str = "TestHubName", max_activities: int = 16,
                 max_orchestrations: int = 8, durable: DurableExtension | None = None,
                 port: int = 0, threads: int = 16) -> None:
        self.functions = discover(app)
        self.storage_connection = storage_connection
        self.storage_prefix = storage_prefix
        self.host_config = SimpleNamespace(durable_task=SimpleNamespace(
            hub_name=hub_name, max_concurrent_activity_functions=max_activities,
            max_concurrent_orchestrator_functions=max_orchestrations, raw={}))
        self.durable = durable or DurableExtension()
        self.web_app = web.Application(client_max_size=100 * 1024 * 1024)
        self.base_url = ""
        self._port = port
        self._executor = ThreadPoolExecutor(threads, thread_name_prefix="function")
        self._runner: web.AppRunner | None = None
        for spec in self.functions:
            if spec.trigger["type"] == "httpTrigger":
                route = "/api/" + str(spec.trigger.get("route") or spec.name).lstrip("/")
                methods = spec.trigger.get("methods") or ["GET", "POST"]
                for method in methods:
                    self.web_app.router.add_route(str(method).upper(), route,
                                                  functools.partial(self._http, spec))

    async def invoke(self, spec: FunctionSpec, trigger_kwargs: dict[str, Any]) -> Any:
        kwargs = dict(trigger_kwargs)
        for binding in spec.bindings:
            if binding["type"] == "durableClient":
                kwargs[binding["name"]] = self.durable.input_binding_value(binding)
        function = spec.user_function
        if inspect.iscoroutinefunction(function):
            return await function(**kwargs)
        call = functools.partial(contextvars.copy_context().run, function, **kwargs)
        result = await asyncio.get_running_loop().run_in_executor(self._executor, call)
        return await result if inspect.isawaitable(result) else result

    async def _http(self, spec: FunctionSpec, request: web.Request) -> web.Response:
        body = await request.read()
        req = func.HttpRequest(request.method, str(request.url), headers=dict(request.headers),
                               params=dict(request.query), route_params=dict(request.match_info),
                               body=body)
        try:
            response = await self.invoke(spec, {spec.trigger["name"]: req})
        except Exception as exc:  # like the Functions host: an unhandled error is a 500
            return web.json_response({"error": f"{type(exc).__name__}: {exc}"}, status=500)
        if not isinstance(response, func.HttpResponse):
            return web.Response(status=204)
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
        return web.Response(status=response.status_code, body=response.get_body(),
                            headers=headers)

    async def start(self) -> None:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self._port))
        self.base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        await self.durable.start(self)
        self._runner = web.AppRunner(self.web_app, access_log=None)
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self.durable.stop()
        self._executor.shutdown(wait=False, cancel_futures=True)
