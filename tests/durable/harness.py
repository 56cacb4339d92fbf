"""Test harness: the durable extension on a stand-in host, driven from synchronous tests.

One event loop thread serves every test (the SDK keeps one aiohttp session per process, bound
to the loop that created it); each test gets its own host, storage prefix and task hub.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Coroutine
from typing import Any

import requests
from azure.durable_functions import DurableOrchestrationClient

from local.host.durable.extension import DurableExtension
from local.host.durable.standalone import StandaloneHost

RPC = "/runtime/webhooks/durabletask"
ACTIVE = {"Pending", "Running", "ContinuedAsNew"}


class LoopThread:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float = 120) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


class Hub:
    """A running host with the test app, and helpers to drive it over HTTP."""

    def __init__(self, loop: LoopThread, host: StandaloneHost) -> None:
        self.loop = loop
        self.host = host
        self.http = requests.Session()

    @property
    def base(self) -> str:
        return self.host.base_url

    @property
    def ext(self) -> DurableExtension:
        return self.host.durable

    def start(self, name: str, payload: Any = None, instance_id: str | None = None
              ) -> requests.Response:
        params = {"instance_id": instance_id} if instance_id else {}
        return self.http.post(f"{self.base}/api/start/{name}", params=params,
                              data=json.dumps(payload) if payload is not None else b"")

    def start_id(self, name: str, payload: Any = None, instance_id: str | None = None) -> str:
        response = self.start(name, payload, instance_id)
        assert response.status_code == 202, response.text
        return response.json()["id"]

    def rpc(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """The public management API, with the extension's system key (as on Azure)."""
        headers = {"x-functions-key": self.ext.system_key, **kwargs.pop("headers", {})}
        return self.http.request(method, f"{self.base}{RPC}{path}", headers=headers, **kwargs)

    def status(self, instance_id: str, **params: Any) -> dict[str, Any] | None:
        response = self.rpc("GET", f"/instances/{instance_id}", params=params)
        return response.json() if response.status_code in (200, 202) else None

    def wait(self, instance_id: str, timeout: float = 60, **params: Any) -> dict[str, Any]:
        """Poll (bounded) until the instance leaves Pending/Running/ContinuedAsNew."""
        deadline = time.monotonic() + timeout
        while True:
            body = self.status(instance_id, **params)
            if body and body["runtimeStatus"] not in ACTIVE:
                return body
            if time.monotonic() > deadline:
                raise AssertionError(f"{instance_id} still {body and body['runtimeStatus']}")
            time.sleep(0.05)

    def wait_for(self, predicate: Any, timeout: float = 30, what: str = "condition") -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}")

    def client(self) -> DurableOrchestrationClient:
        binding = {"type": "durableClient", "name": "client", "direction": "in"}
        return DurableOrchestrationClient(self.ext.input_binding_value(binding))

    def call(self, coro: Coroutine[Any, Any, Any]) -> Any:
        """Run an SDK client coroutine on the host's loop."""
        return self.loop.run(coro)

    def history(self, instance_id: str) -> list[dict[str, Any]]:
        """The committed history events (engine view) of the current execution."""
        async def load() -> list[dict[str, Any]]:
            state = await self.ext.orchestrations.load(instance_id)
            assert state is not None
            if not state.history and state.terminal:
                from local.host.durable.state import from_row
                row = await self.ext.storage.read_instance(instance_id)
                state = await from_row(self.ext.storage, row)
            return state.history
        return self.loop.run(load())

    def count_rows(self) -> tuple[int, int]:
        """(instance rows, history rows) in the hub's tables."""
        async def count() -> tuple[int, int]:
            storage = self.ext.storage
            instances = [r async for r in storage.instances.list_entities()]
            history = [r async for r in storage.history.list_entities()]
            return len(instances), len(history)
        return self.loop.run(count())
