"""The nightly timer backs up every registered tenant once, without doubling a backup an
engineer already started."""

from __future__ import annotations

import json
import time

SCHEDULER = "system:scheduled-backups"


def _scheduled_runs(admin, tenant_id: str) -> list[dict]:
    return [r for r in admin.pages(f"/api/tenants/{tenant_id}/runs", run_type="backup")
            if r["requested_by"] == SCHEDULER]


def _wait_for_orchestration(stack, prefix: str, timeout: float = 300) -> dict:
    """The output of the task hub instance whose id starts with ``prefix``, once completed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = [r for r in stack.entities("PolicyVaultInstances")
                if r["PartitionKey"].startswith(prefix)]
        if rows and rows[0]["RuntimeStatus"] in ("Completed", "Failed", "Terminated"):
            assert rows[0]["RuntimeStatus"] == "Completed", rows[0]
            return json.loads(rows[0]["Output"])
        time.sleep(0.2)
    raise TimeoutError(f"{prefix} did not finish")


def test_the_nightly_timer_backs_up_every_registered_tenant_once(admin, stack, sim):
    tenants = sim.tenant_ids
    sim.add_fault("slow", tenant=tenants[0], delay_ms=100)  # keeps this backup in flight
    manual = admin.backup(tenants[0])  # already running when the timer fires
    assert manual.status_code == 202

    stack.fire_timer("nightly_backups")
    stack.fire_timer("nightly_backups")  # a second firing the same day starts nothing new
    outcome = _wait_for_orchestration(stack, "scheduled-backups-")

    assert outcome["tenants"] >= len(tenants)
    assert outcome["waves_with_failures"] == 0
    assert outcome["already_running"] == 1
    assert _scheduled_runs(admin, tenants[0]) == []  # the engineer's run was reused
    assert admin.wait(manual)["status"] == "succeeded"
    for tenant_id in tenants[1:]:
        [run] = _scheduled_runs(admin, tenant_id)
        assert run["status"] == "succeeded", run
        backup_set = admin.backup_set(tenant_id, run["backup_set_id"])
        assert backup_set["label"].startswith("nightly ")
        assert backup_set["item_count"] == run["counts"]["succeeded"] > 0
