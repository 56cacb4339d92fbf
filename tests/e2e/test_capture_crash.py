"""kill -9 of the runtime while a capture's one activity (``capture_run``) reads Graph, then
a restart: the capture is done again from its start and the run ends with one item, one
backup set, one version and one notification per state.

The runtime runs as a child process (`python -m local.host`) on its own storage prefix and
task hub; the simulator is the session's, Azurite the session's.
"""

from __future__ import annotations

import pytest

from local.api_client import PolicyVaultClient
from local.stack import API_AUDIENCE
from tests.e2e.backup_support import rows, wait_until

pytestmark = pytest.mark.slow
OID = "capture-crash-admin"
TYPE = "deviceCompliancePolicies"


def test_a_capture_killed_mid_activity_is_done_again_once(stack, sim, runtimes,
                                                           storage_prefix):
    tenant_id = sim.tenant_ids[0]
    policy_id = sim.objects(tenant_id, TYPE)[0]["id"]
    token = sim.mint_token(oid=OID, roles=["Platform.Admin"], audience=API_AUDIENCE)
    sim.set_latency(1500)  # the activity waits on Graph long enough to be killed there
    since = sim.request_cursor()

    first = runtimes()
    with PolicyVaultClient(first.base_url, token) as api:
        api.register_tenant(tenant_id, "Customer 1")
        started = api.capture(tenant_id, TYPE, policy_id)
        assert started.status_code == 202, started.text
        run_id = started.json()["run_id"]
        wait_until(lambda: api.run(tenant_id, run_id).json()["status"] == "running", 60,
                   "the capture to start")
        wait_until(lambda: any(policy_id in r["path"] for r in sim.requests(since)), 60,
                   "the capture to read its policy")
    first.kill()
    sim.set_latency(0)

    second = runtimes()
    with PolicyVaultClient(second.base_url, token) as api:
        run = api.wait(api.run(tenant_id, run_id), timeout=240)
        items = api.items(tenant_id, run_id)

    assert run["status"] == "succeeded", run
    assert [(i["policy_id"], i["status"]) for i in items] == [(policy_id, "succeeded")]
    assert run["counts"]["succeeded"] == run["counts"]["total"] == 1
    sets = rows(stack.storage_connection, f"{storage_prefix}backupsets", tenant_id)
    assert [s["run_id"] for s in sets] == [run_id]
    versions = [r for r in rows(stack.storage_connection, f"{storage_prefix}versions")
                if r["PartitionKey"].endswith(f"|{TYPE}|{policy_id}")]
    assert len(versions) == 1
    notes = [r["status"] for r in rows(stack.storage_connection,
                                       f"{storage_prefix}notifications", OID)
             if r["run_id"] == run_id]
    assert sorted(notes) == ["running", "succeeded"]
    reads = [r for r in sim.requests(since) if r["path"].endswith(f"/{TYPE}/{policy_id}")]
    assert len(reads) >= 2  # read before the kill, and again by the restarted runtime
