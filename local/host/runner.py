"""Run a `FunctionHost` in-process on a background event-loop thread (tests, demo, bench).

    with running_host("function_app:app", script_root=Path("."), port=0) as running:
        requests.get(f"{running.base_url}/api/health")
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator, MutableMapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from local.host.extensions import TriggerExtension
from local.host.function_host import FunctionHost
from local.host.startup import prepare_host
from local.host.storage_probe import probe_storage

T = TypeVar("T")


@dataclass(frozen=True)
class RunningHost:
    host: FunctionHost
    loop: asyncio.AbstractEventLoop

    @property
    def base_url(self) -> str:
        return self.host.base_url

    def call(self, coroutine: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        """Run a coroutine on the host's loop from another thread and wait for it."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)


@contextmanager
def host_in_thread(host: FunctionHost, *, check_storage: bool = False) -> Iterator[RunningHost]:
    """Start `host` on a fresh loop in a daemon thread; stop it when the block exits."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="local-host", daemon=True)
    thread.start()
    running = RunningHost(host, loop)

    async def start() -> None:
        if check_storage:
            await probe_storage(host.storage_connection)
        await host.start()

    try:
        running.call(start())
        yield running
    finally:
        try:
            running.call(host.stop())
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(10)
            loop.close()


@contextmanager
def running_host(
    app_ref: str = "function_app:app",
    *,
    script_root: Path | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    extensions: Sequence[TriggerExtension] | None = None,
    environ: MutableMapping[str, str] | None = None,
    check_storage: bool = False,
) -> Iterator[RunningHost]:
    """`prepare_host(...)` then `host_in_thread(...)`; port 0 picks a free port."""
    function_host = prepare_host(
        app_ref, script_root=script_root, host=host, port=port, extensions=extensions,
        environ=environ,
    )
    with host_in_thread(function_host, check_storage=check_storage) as running:
        yield running
