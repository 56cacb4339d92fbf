"""kill -9 of the runtime in the middle of a tenant backup, then a restart: the run
completes, every item is recorded exactly once and the counters equal the rows.

The runtime runs as a child process (`python -m local.host`) on its own storage prefix and
task hub; the simulator is the session's, Azurite the session's.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest

from local.api_client import PolicyVaultClient
from local.stack import API_AUDIENCE
from tests.e2e.backup_support import estate, rows, wait_until

pytestmark = pytest.mark.slow
OID = "crash-admin"


@pytest.fixture
def big_tenant(sim) -> Iterator[str]:
    """A tenant of about 200 policies (ten batches); seed counts restored afterwards."""
    sim.reset(counts={"deviceConfigurations": 150})
    try:
        yield sim.tenant_ids[1]
    finally:
        sim.reset(counts={})


def test_backup_survives_kill_9_of_the_runtime_and_records_every_item_once(
        stack, sim, runtimes, storage_prefix, big_tenant):
    tenant_id = big_tenant
    expected = estate(sim, tenant_id)
    sim.set_latency(200)  # a backup of the tenant takes seconds: time to kill it mid-way
    token = sim.mint_token(oid=OID, roles=["Platform.Admin"], audience=API_AUDIENCE)

    def progress(api: PolicyVaultClient) -> dict:
        run = api.run(tenant_id, run_id).json()
        return {"status": run["status"], **run["counts"]}

    first = runtimes()
    with PolicyVaultClient(first.base_url, token) as api:
        api.register_tenant(tenant_id, "Customer 2")
        started = api.backup(tenant_id)
        assert started.status_code == 202, started.text
        run_id = started.json()["run_id"]
        at_kill = wait_until(lambda: (lambda p: p if 0 < p["processed"] < len(expected)
                                      else None)(progress(api)), 120,
                             "the backup to be part-way through")
    first.kill()
    assert at_kill["status"] == "running"

    second = runtimes()
    with PolicyVaultClient(second.base_url, token) as api:
        # Kill it again once the restarted runtime has made progress, if it is still going.
        again = wait_until(lambda: (lambda p: p if p["processed"] > at_kill["processed"]
                                    or p["status"] != "running" else None)(progress(api)),
                           240, "the restarted runtime to make progress")
    if again["status"] == "running" and again["processed"] < len(expected):
        second.kill()
        second = runtimes()

    with PolicyVaultClient(second.base_url, token) as api:
        run = api.wait(api.run(tenant_id, run_id), timeout=240)
        items = api.items(tenant_id, run_id)
        backup_set = api.backup_set(tenant_id, run["backup_set_id"])

    assert run["status"] == "succeeded", run
    ids = [i["item_id"] for i in items]
    assert len(ids) == len(set(ids)) == len(expected)
    assert {(i["policy_type"], i["policy_id"]) for i in items} == set(expected)
    assert Counter(i["status"] for i in items) == {"succeeded": len(expected)}
    assert run["counts"] == {"total": len(expected), "processed": len(expected),
                             "succeeded": len(expected), "failed": 0, "skipped": 0}
    assert backup_set["item_count"] == len(backup_set["items"]) == len(expected)
    # A retried capture rewrites its rows: one version per policy, one set for the run.
    versions = Counter(r["PartitionKey"] for r in
                       rows(stack.storage_connection, f"{storage_prefix}versions"))
    assert len(versions) == len(expected) and set(versions.values()) == {1}
    sets = rows(stack.storage_connection, f"{storage_prefix}backupsets", tenant_id)
    assert [s["run_id"] for s in sets] == [run_id]
    notes = [r["status"] for r in rows(stack.storage_connection,
                                       f"{storage_prefix}notifications", OID)
             if r["run_id"] == run_id]
    assert sorted(notes) == ["running", "succeeded"]
