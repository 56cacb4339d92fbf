"""kill -9 during a live restore that recreates 30 objects, restart: the run completes and the
tenant holds each object exactly once (intent recorded before every create, DESIGN §8)."""

from __future__ import annotations

import collections
import uuid

import pytest

from tests.e2e.backup_support import RuntimeProcess, wait_until
from tests.e2e.restore_support import backup, live

OBJECTS = 30


def _creates(sim, cursor: int) -> int:
    return sum(1 for e in sim.requests(cursor)
               if e["method"] == "POST" and e["path"].rstrip("/").endswith(
                   "/deviceConfigurations"))


@pytest.mark.slow
def test_kill_9_mid_restore_then_restart_recreates_each_object_once(
        stack, sim, storage_connection, tmp_path):
    sim.reset(counts={"deviceConfigurations": OBJECTS})
    tenant_id = sim.tenant_ids[0]
    prefix, oid = "pvk" + uuid.uuid4().hex[:8], str(uuid.uuid4())
    runtimes = [RuntimeProcess(sim, storage_connection, prefix, tmp_path / "runtime.log")]
    try:
        with runtimes[0].client(oid) as api:
            api.register_tenant(tenant_id, "Crash customer")
            source = backup(api, tenant_id, ["deviceConfigurations"])
            originals = live(sim, tenant_id, "deviceConfigurations")
            assert len(originals) == OBJECTS
            for policy in originals:
                sim.drift(tenant_id, "deviceConfigurations", policy["id"], op="delete")
            sim.set_latency(100)  # writes take a moment, so the kill lands mid-restore
            cursor = sim.request_cursor()
            started = api.restore(tenant_id, source["backup_set_id"], dry_run=False)
            assert started.status_code == 202
            wait_until(lambda: _creates(sim, cursor) >= 8, 120, "the first creates")
        runtimes[0].kill()
        at_kill = _creates(sim, cursor)
        assert at_kill < OBJECTS
        sim.set_latency(0)

        runtimes.append(RuntimeProcess(sim, storage_connection, prefix,
                                       tmp_path / "runtime.log"))
        with runtimes[1].client(oid) as api:
            run = api.wait(started, timeout=240)
            items = api.items(tenant_id, run["run_id"])
    finally:
        sim.set_latency(0)
        for runtime in runtimes:
            runtime.stop()

    assert run["status"] == "succeeded", run
    assert collections.Counter(i["action"] for i in items) == {"created": OBJECTS}
    names = collections.Counter(o["displayName"]
                                for o in live(sim, tenant_id, "deviceConfigurations"))
    assert names == collections.Counter(o["displayName"] for o in originals)
    assert max(names.values()) == 1
    print(f"creates before the kill: {at_kill}, in all: {_creates(sim, cursor)}")
    assert _creates(sim, cursor) >= OBJECTS
