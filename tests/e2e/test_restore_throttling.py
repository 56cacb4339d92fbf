"""A live restore under Intune-style write throttling and injected faults completes, and once
Graph has answered 429 the restore keeps its write rate within the limit."""

from __future__ import annotations

import collections

import pytest

from local.graphsim import Limits
from tests.e2e.restore_support import backup, live, restore

OBJECTS = 24
# The documented shape (writes per app per tenant per window), shrunk so the test is short.
WINDOW_S, APP_WRITES = 4.0, 10
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


@pytest.mark.slow
def test_live_restore_under_write_throttling_and_faults_completes_within_the_limit(
        admin, sim, tenant_id):
    sim.reset(counts={"deviceConfigurations": OBJECTS})
    source = backup(admin, tenant_id, ["deviceConfigurations"])
    originals = live(sim, tenant_id, "deviceConfigurations")
    for policy in originals:
        sim.drift(tenant_id, "deviceConfigurations", policy["id"], op="delete")
    sim.set_limits(Limits(window_s=WINDOW_S, app_writes=APP_WRITES, tenant_writes=2 * APP_WRITES,
                          app_requests=50 * APP_WRITES, tenant_requests=100 * APP_WRITES))
    sim.add_fault("503", path_prefix="/beta/deviceManagement/deviceConfigurations",
                  method="POST", count=3)
    sim.add_fault("drop", path_prefix="/beta/deviceManagement/deviceConfigurations",
                  method="POST", count=1)
    cursor = sim.request_cursor()

    run = restore(admin, tenant_id, source["backup_set_id"], dry_run=False)

    assert run["status"] == "succeeded", run
    names = collections.Counter(o["displayName"]
                                for o in live(sim, tenant_id, "deviceConfigurations"))
    assert names == collections.Counter(o["displayName"] for o in originals)
    log = [e for e in sim.requests(cursor)
           if e["kind"] == "graph" and e["method"] in WRITE_METHODS]
    throttled = [e for e in log if e["status"] == 429]
    assert throttled, "the limit is low enough that the restore meets it"
    after = [e for e in log if e["time"] >= throttled[0]["time"]]
    accepted = [e for e in after if e["is_write"]]
    # Writes Graph accepted after the first 429: never more than the bucket allows (the
    # window's allowance plus what refilled), and later 429s stay rare: the client waits
    # out Retry-After and narrows its concurrency instead of hammering.
    span = max(e["time"] for e in after) - throttled[0]["time"]
    assert len(accepted) <= APP_WRITES * (1 + span / WINDOW_S)
    print(f"writes {len([e for e in log if e['is_write']])}, 429s {len(throttled)}, "
          f"span after first 429 {span:.1f}s")
    assert len(throttled) <= len(accepted) // 2
