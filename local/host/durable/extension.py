"""`DurableExtension`: the Durable Functions extension of the local runtime.

Serves `orchestrationTrigger` and `activityTrigger`, supplies the `durableClient` input binding
and mounts the extension's HTTP/RPC API on the host's web app. Entities are not implemented:
`entityTrigger` stays unclaimed (the host lists such functions as not supported) and
`call_entity` / `signal_entity` fail the orchestration. State lives in Azure Storage under
`host.storage_prefix` + the hub name, so a killed process loses nothing: restart it and every
in-flight orchestration finishes.

The client API is served twice (``http_api``): keyless to the SDK on a loopback-only
listener of its own (``rpcBaseUrl``), and on the app's port behind the extension's system key
(the host setting ``DURABLE_SYSTEM_KEY``, else a random key per process: ``system_key``).

Wiring: `DurableExtension()` in the host's extension list; nothing else.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import weakref
from collections.abc import Coroutine
from typing import Any
from urllib.parse import quote

import aiohttp
from aiohttp import web
from azure.durable_functions.models.utils import http_utils

from local.host.durable.activities import ActivityDispatcher
from local.host.durable.client import DurableClientOps
from local.host.durable.http_api import PREFIX, RPC_PREFIX, management_links, routes
from local.host.durable.names import TaskHubNames
from local.host.durable.orchestrations import OrchestrationDispatcher
from local.host.durable.queues import Leases
from local.host.durable.storage import TaskHubStorage

log = logging.getLogger("local.host.durable")
CONNECTION_NAME = "Storage"
KEY_SETTING = "DURABLE_SYSTEM_KEY"


def _durable_settings(host: Any) -> dict[str, Any]:
    """hub, concurrency and partitions from whichever shape the host's config has."""
    config = getattr(host, "host_config", None)
    section = getattr(config, "durable_task", None) or getattr(config, "durable", None)
    raw = dict(getattr(section, "raw", None) or {})

    def pick(*names: str, default: Any) -> Any:
        for name in names:
            value = getattr(section, name, None) if section is not None else None
            if value is None:
                value = raw.get(name)
            if value is not None:
                return value
        return default

    hub = str(pick("hub_name", "hubName", default="TestHubName"))
    if "%" in hub and callable(getattr(host, "resolve", None)):
        hub = host.resolve(hub, "host.json extensions.durableTask.hubName")
    provider = raw.get("storageProvider") or {}
    return {
        "hub": hub,
        "activities": int(pick("max_concurrent_activity_functions", "max_concurrent_activities",
                               "maxConcurrentActivityFunctions", default=10)),
        "orchestrations": int(pick("max_concurrent_orchestrator_functions",
                                   "max_concurrent_orchestrations",
                                   "maxConcurrentOrchestratorFunctions", default=10)),
        "partitions": int(provider.get("partitionCount") or 4),
    }


_sdk_sessions: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aiohttp.ClientSession] = (
    weakref.WeakKeyDictionary()
)


async def _loop_session() -> aiohttp.ClientSession:
    """The SDK's client keeps one module-global aiohttp session, bound to the loop that made
    it — right for the Functions worker (one loop per process), wrong for a process that runs
    several hosts, each on its own loop (tests, the demo). Here each loop gets its own."""
    loop = asyncio.get_running_loop()
    session = _sdk_sessions.get(loop)
    if session is None or session.closed:
        session = _sdk_sessions[loop] = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=240, sock_connect=10))
    return session


async def _forget_loop_session() -> None:
    session = _sdk_sessions.pop(asyncio.get_running_loop(), None)
    if session is not None and not session.closed:
        await session.close()


http_utils._get_session = _loop_session
http_utils._handle_request_error = _forget_loop_session
http_utils._close_session = _forget_loop_session


async def _release_sdk_session() -> None:
    """Close this loop's SDK session when the host stops."""
    await _forget_loop_session()


class DurableExtension:
    """Durable Task engine + client API for one function app."""

    def __init__(self, *, visibility_timeout: float = 30.0, partitions: int | None = None,
                 max_concurrent_activities: int | None = None,
                 max_concurrent_orchestrations: int | None = None,
                 system_key: str | None = None, orchestrations: bool = True,
                 activities: bool = True) -> None:
        """`visibility_timeout` bounds how long a killed process's messages stay hidden;
        the `max_…` and `partitions` arguments override host.json (benchmarks, tests).

        `orchestrations=False` makes an activity worker: it only takes activity work items
        (a competing consumer of the work-item queue, like a scaled-out instance on Azure)
        and serves no client API. `activities=False` leaves activities to such workers."""
        if not (orchestrations or activities):
            raise ValueError("a DurableExtension must run orchestrations, activities or both")
        self.runs_orchestrations = orchestrations
        self.runs_activities = activities
        self.trigger_types = frozenset(
            (["orchestrationTrigger"] if orchestrations else [])
            + ["activityTrigger"])  # claimed even when left to workers: they are served
        self.input_binding_types = frozenset(["durableClient"] if orchestrations else [])
        self.system_key = system_key or ""
        self.rpc_base_url = ""
        self._rpc_runner: web.AppRunner | None = None
        self._visibility = visibility_timeout
        self._overrides = {"partitions": partitions, "activities": max_concurrent_activities,
                           "orchestrations": max_concurrent_orchestrations}
        self.host: Any = None
        self.names: TaskHubNames | None = None
        self.storage: TaskHubStorage | None = None
        self.orchestrations: OrchestrationDispatcher | None = None
        self.activities: ActivityDispatcher | None = None
        self.ops: DurableClientOps | None = None
        self._renewers: list[asyncio.Task[None]] = []
        self._pollers: list[asyncio.Task[None]] = []

    async def start(self, host: Any) -> None:
        self.host = host
        settings = _durable_settings(host)
        settings.update({k: v for k, v in self._overrides.items() if v is not None})
        self.names = TaskHubNames.build(host.storage_prefix, settings["hub"],
                                        settings["partitions"])
        self.storage = TaskHubStorage(host.storage_connection, self.names)
        await self.storage.create()
        orchestrators, activities = self._registry(host)
        renewers: list[Coroutine[Any, Any, None]] = []
        pollers: list[Coroutine[Any, Any, None]] = []
        if self.runs_activities:
            work = Leases(self.storage, self._visibility)
            self.activities = ActivityDispatcher(self.storage, work, activities, host.invoke,
                                                 settings["activities"])
            renewers.append(work.renew_forever())
            pollers.append(self.activities.poll())
        if self.runs_orchestrations:
            control = Leases(self.storage, self._visibility)
            self.orchestrations = OrchestrationDispatcher(
                self.storage, control, orchestrators, host.invoke, settings["orchestrations"])
            self.ops = DurableClientOps(self.storage, self.orchestrations, set(orchestrators))
            settings_of = getattr(host, "settings", None) or {}
            self.system_key = (self.system_key or settings_of.get(KEY_SETTING)
                               or secrets.token_urlsafe(32))
            host.web_app.add_routes(routes(self.ops, self._links, key=self.system_key))
            await self._serve_rpc()
            recovered = await self.orchestrations.recover()
            if recovered:
                log.info("durable: re-sent the outbox of %d instance(s)", recovered)
            renewers.append(control.renew_forever())
            pollers += [self.orchestrations.poll(p) for p in range(self.names.partitions)]
        self._renewers = [asyncio.ensure_future(c) for c in renewers]
        self._pollers = [asyncio.ensure_future(c) for c in pollers]

    async def _serve_rpc(self) -> None:
        """The SDK's keyless listener, on loopback only (ephemeral port: several hosts may
        share the machine)."""
        assert self.ops is not None
        rpc = web.Application(client_max_size=100 * 1024 * 1024)
        rpc.add_routes(routes(self.ops, self._links, prefix=RPC_PREFIX))
        self._rpc_runner = web.AppRunner(rpc, access_log=None)
        await self._rpc_runner.setup()
        site = web.TCPSite(self._rpc_runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.rpc_base_url = f"http://127.0.0.1:{port}{RPC_PREFIX}/"

    @staticmethod
    def _registry(host: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        """Functions by name (and by the trigger's `orchestration`/`activity` alias)."""
        orchestrators: dict[str, Any] = {}
        activities: dict[str, Any] = {}
        wanted = {"orchestrationTrigger", "activityTrigger"}
        specs = (host.functions_for(wanted) if callable(getattr(host, "functions_for", None))
                 else [s for s in host.functions if s.trigger.get("type") in wanted])
        for spec in specs:
            kind = spec.trigger.get("type")
            table = orchestrators if kind == "orchestrationTrigger" else activities
            table[spec.name] = spec
            alias = spec.trigger.get("orchestration" if table is orchestrators else "activity")
            if alias:
                table.setdefault(alias, spec)
        return orchestrators, activities

    async def stop(self) -> None:
        """Stop polling, let running episodes and activities finish (bounded), then make every
        message still held visible again so the next process resumes at once."""
        if self.storage is None:
            return
        dispatchers = [d for d in (self.orchestrations, self.activities) if d is not None]
        for dispatcher in dispatchers:
            dispatcher.stopping = True
        if self._rpc_runner is not None:
            runner, self._rpc_runner = self._rpc_runner, None
            await runner.cleanup()
        for task in self._pollers:  # lease renewal goes on while running work finishes
            task.cancel()
        if self.activities is not None:
            self.activities.freed.set()
            await self.activities.drain(timeout=20)
        if self.orchestrations is not None:
            if self.orchestrations.tasks:
                await asyncio.wait(list(self.orchestrations.tasks), timeout=20)
            await self.orchestrations.clear_dirty()
        for dispatcher in dispatchers:
            await dispatcher.leases.release_all()
        tasks = self._pollers + self._renewers
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.storage.close()
        await _release_sdk_session()

    def input_binding_value(self, binding: dict[str, Any]) -> Any:
        """The `durableClient` JSON string the Functions host passes to the SDK."""
        assert self.names is not None, "DurableExtension.start() was not called"
        base = f"{self.host.base_url}{PREFIX}"
        hub = self.hub_name
        links = self._links("INSTANCEID")
        code = f"code={quote(self.system_key, safe='')}"
        return json.dumps({
            "taskHubName": hub,
            "creationUrls": {
                "createNewInstancePostUri":
                    f"{base}/orchestrators/{{functionName}}[/{{instanceId}}]?{code}",
                "createAndWaitOnNewInstancePostUri":
                    f"{base}/orchestrators/{{functionName}}[/{{instanceId}}]"
                    f"?timeout={{timeoutInSeconds}}&pollingInterval={{intervalInSeconds}}&{code}",
            },
            "managementUrls": links,
            "baseUrl": base,
            "requiredQueryStringParameters": code,
            "rpcBaseUrl": self.rpc_base_url,
            "httpBaseUrl": "",
            "connectionName": binding.get("connectionName") or CONNECTION_NAME,
            "maxGrpcMessageSizeInBytes": 0,
            "grpcHttpClientTimeout": "00:01:40",
        })

    @property
    def hub_name(self) -> str:
        assert self.names is not None
        return f"{self.names.prefix}{self.names.hub}"

    def _links(self, instance_id: str) -> dict[str, str]:
        return management_links(self.host.base_url, self.hub_name, CONNECTION_NAME, instance_id,
                                self.system_key)

    def describe(self, trigger: dict[str, Any]) -> str:
        kind = str(trigger.get("type"))
        if kind == "activityTrigger" and not self.runs_activities:
            return f"{kind} (in activity workers)"
        return kind
