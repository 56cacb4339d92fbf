"""End to end: HTTP into the local runtime serving function_app.py, Durable orchestrations,
Azurite underneath, Graph and Entra ID from the simulator over HTTPS.

One stack per session (the app's configuration is process-wide); every test gets the
simulator's seed data back and its own MSP engineer (a fresh ``oid``), who is Platform.Admin
unless the test says otherwise.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from local.api_client import PolicyVaultClient
from local.stack import Stack, running_stack
from tests.e2e.backup_support import RuntimeProcess
from tests.e2e.contract import ContractCheck


@pytest.fixture(scope="session")
def stack(storage_connection: str) -> Iterator[Stack]:
    """Every response the stack's clients get is checked against its OpenAPI document. The
    scheduler's and the repair sweep's timers are disabled (they still run when a test
    fires them), so no tick starts a tenant's scheduled backup, nor a sweep restarts a run a
    test left stuck on purpose, in the middle of another test."""
    with running_stack(tenants=3, storage_connection=storage_connection,
                       settings={"AzureWebJobs.schedule_tick.Disabled": "true",
                                 "AzureWebJobs.purge_tick.Disabled": "true",
                                 "AzureWebJobs.repair_sweep.Disabled": "true"}) as running:
        document = httpx.get(f"{running.base_url}/api/openapi.json", timeout=30).json()
        running.check = ContractCheck(document)
        yield running


@pytest.fixture
def sim(stack: Stack):
    stack.sim.reset()
    yield stack.sim
    stack.sim.clear_faults()


@pytest.fixture
def admin(stack: Stack, sim) -> Iterator[PolicyVaultClient]:
    """A Platform.Admin engineer; all simulator tenants are registered."""
    with stack.api(f"admin-{uuid.uuid4().hex[:8]}", ["Platform.Admin"]) as client:
        for n, tenant_id in enumerate(sim.tenant_ids):
            client.register_tenant(tenant_id, f"Customer {n + 1}")
        yield client


@pytest.fixture
def tenant_id(sim) -> str:
    return sim.tenant_ids[0]


@pytest.fixture
def runtimes(stack: Stack, sim, storage_prefix: str,
             tmp_path: Path) -> Iterator[Callable[[], RuntimeProcess]]:
    """Start runtimes as child processes (``python -m local.host``) on the test's own storage
    prefix and task hub, to be killed and restarted; every one still alive is stopped at the
    end, and the simulator's latency set back."""
    started: list[RuntimeProcess] = []

    def launch() -> RuntimeProcess:
        runtime = RuntimeProcess(sim, stack.storage_connection, storage_prefix,
                                 tmp_path / "runtime.log")
        started.append(runtime)
        return runtime

    yield launch
    sim.set_latency(0)
    for runtime in started:
        runtime.stop()
