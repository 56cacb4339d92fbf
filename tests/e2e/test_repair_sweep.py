"""The repair sweep's timer on the local stack (issue 19, finding 5): it runs through the
real timer and Durable client, and for a tenant with nothing to repair it writes nothing.
(Other tests' runs share the stack, so only this tenant's rows are compared.) Its decisions
are tests/shared/test_run_repair.py."""

from __future__ import annotations

from local.stack import Stack
from tests.e2e.storage_state import State, StorageState


def _tenants_rows(state: State, tenant_id: str) -> State:
    return {name: {key: etag for key, etag in rows.items() if tenant_id in key}
            for name, rows in state.items() if name.startswith("table:")}


def test_repair_sweep_with_nothing_to_repair_writes_nothing(stack: Stack, admin, tenant_id):
    admin.register_tenant(tenant_id, "Swept customer")
    admin.request("GET", f"/api/tenants/{tenant_id}/runs")  # the tables exist, as deployed
    state = StorageState(stack)
    before = _tenants_rows(state.wait_quiet(), tenant_id)

    stack.fire_timer("repair_sweep")

    assert _tenants_rows(state.now(), tenant_id) == before
