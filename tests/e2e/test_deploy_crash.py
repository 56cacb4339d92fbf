"""kill -9 during a live cross-tenant deployment that creates 30 objects in the target,
restart: the run completes, the target holds each object exactly once, with its references
mapped, and the source got no write (DESIGN §8, §11)."""

from __future__ import annotations

import collections
import uuid

import pytest

from tests.e2e.backup_support import RuntimeProcess, wait_until
from tests.e2e.deploy_support import BASELINE_TYPES, POLICY, source_writes
from tests.e2e.restore_support import backup, live

OBJECTS = 30


def _creates(sim, cursor: int, tenant_id: str) -> int:
    return sum(1 for e in sim.requests(cursor)
               if e["method"] == "POST" and (e.get("tenant") or "").lower() == tenant_id
               and e["path"].rstrip("/").endswith("/deviceConfigurations"))


@pytest.mark.slow
def test_kill_9_mid_deployment_then_restart_creates_each_object_once_in_the_target(
        stack, sim, storage_connection, tmp_path):
    sim.reset(counts={POLICY: OBJECTS})
    source, target = sim.tenant_ids[:2]
    for policy in live(sim, target, POLICY):  # a new, empty target
        sim.drift(target, POLICY, policy["id"], op="delete")
    prefix, oid = "pvd" + uuid.uuid4().hex[:8], str(uuid.uuid4())
    runtimes = [RuntimeProcess(sim, storage_connection, prefix, tmp_path / "runtime.log")]
    try:
        with runtimes[0].client(oid) as api:
            api.register_tenant(source, "Template")
            api.register_tenant(target, "New customer")
            baseline = backup(api, source, BASELINE_TYPES)
            policies = [f"{POLICY}.{p['id']}" for p in live(sim, source, POLICY)]
            sim.set_latency(100)  # writes take a moment, so the kill lands mid-deployment
            cursor = sim.request_cursor()
            started = api.restore(target, baseline["backup_set_id"], source_tenant_id=source,
                                  item_ids=policies, dry_run=False)
            assert started.status_code == 202, started.text
            wait_until(lambda: _creates(sim, cursor, target) >= 8, 120, "the first creates")
        runtimes[0].kill()
        at_kill = _creates(sim, cursor, target)
        assert at_kill < OBJECTS
        sim.set_latency(0)

        runtimes.append(RuntimeProcess(sim, storage_connection, prefix,
                                       tmp_path / "runtime.log"))
        with runtimes[1].client(oid) as api:
            run = api.wait(started, timeout=240)
            items = api.items(target, run["run_id"])
    finally:
        sim.set_latency(0)
        for runtime in runtimes:
            runtime.stop()

    assert run["status"] == "succeeded", run
    assert collections.Counter(i["action"] for i in items) == {"created": OBJECTS}
    copies = live(sim, target, POLICY)
    names = collections.Counter(o["displayName"] for o in copies)
    assert names == collections.Counter(o["displayName"] for o in live(sim, source, POLICY))
    assert max(names.values()) == 1
    target_groups = {g["id"] for g in live(sim, target, "groups")}
    assert {a["target"]["groupId"] for o in copies for a in o["assignments"]
            if a["target"].get("groupId")} <= target_groups
    assert source_writes(sim, cursor, source) == []
    print(f"creates before the kill: {at_kill}, in all: {_creates(sim, cursor, target)}")
