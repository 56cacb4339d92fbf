"""Fixtures of the durable suite: one loop thread per session, one hub per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from local.host.durable.extension import DurableExtension
from local.host.durable.standalone import StandaloneHost
from tests.durable.app.function_app import app
from tests.durable.harness import Hub, LoopThread


@pytest.fixture(scope="session")
def durable_loop() -> Iterator[LoopThread]:
    loop = LoopThread()
    yield loop
    loop.close()


@pytest.fixture
def hub(durable_loop: LoopThread, storage_connection: str, storage_prefix: str) -> Iterator[Hub]:
    host = StandaloneHost(app, storage_connection=storage_connection,
                          storage_prefix=storage_prefix, hub_name="ConformanceHub",
                          max_activities=16, max_orchestrations=8,
                          durable=DurableExtension(visibility_timeout=5))
    durable_loop.run(host.start())
    yield Hub(durable_loop, host)
    durable_loop.run(host.stop())
