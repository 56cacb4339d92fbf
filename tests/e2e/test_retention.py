"""Retention end to end (DESIGN §12): backups over HTTP against the simulator, then the daily
purge orchestration on the runtime with a ``now`` of the test's choosing.

One tenant keeps 7 days and at least one set. Exactly these survive: the pinned baseline (and
the default one), the newest set, sets younger than the retention and the set a running
restore reads — until that restore is over. The blobs of purged sets are marked, deleted
only once the grace has passed, and a backup that stores a marked blob's content again in
between keeps it. A purge repeated at the same time changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import azure.durable_functions as df
import pytest
from azure.storage.blob import BlobServiceClient

from api.starts import DurableScheduler
from local.host.durable.extension import DurableExtension
from shared.platform.keys import parse_iso, utc_now
from shared.platform.storage import expand_connection_string
from shared.retention.orphans import MARK
from shared.retention.start import purge_instance_id, start_purge
from tests.e2e.backup_support import wait_until
from tests.e2e.restore_support import collection

pytestmark = pytest.mark.slow
TYPE = "deviceConfigurations"
GRACE = timedelta(hours=24)
TERMINAL = ("Completed", "Failed", "Terminated")


def _client(stack) -> df.DurableOrchestrationClient:
    durable = next(e for e in stack.host.host.extensions if isinstance(e, DurableExtension))
    return df.DurableOrchestrationClient(durable.input_binding_value({}))


def _purge(stack, tenant_id: str, now: datetime, tag: str) -> dict:
    """Run the day's purge of ``tenant_id`` at ``now`` to its end; the tenant's summary."""
    def client() -> df.DurableOrchestrationClient:
        return _client(stack)

    instance = f"pv-purge-test-{tag}-{tenant_id[:8]}-{now:%Y%m%d%H%M%S}"

    async def start() -> str | None:
        return await start_purge(DurableScheduler(client()), now, GRACE,
                                 tenant_ids=[tenant_id], instance_id=instance)

    async def status():
        return await client().get_status(instance)

    assert stack.host.call(start()) == instance
    final = wait_until(lambda: (lambda s: s if s.runtime_status and s.runtime_status.name
                                in TERMINAL else None)(stack.host.call(status())),
                       120, "the purge to finish", poll_s=0.2)
    assert final.runtime_status.name == "Completed", final.output
    assert stack.host.call(start()) is None  # that day's purge ran: it is not started again
    output = final.output
    assert output["failed"] == []
    return output["tenants"][tenant_id]


class Blobs:
    """The tenant's snapshot blobs as the SDK sees them: exists, and marked."""

    def __init__(self, stack) -> None:
        service = BlobServiceClient.from_connection_string(
            expand_connection_string(stack.storage_connection))
        self.box = service.get_container_client(stack.storage_prefix + "snapshots")

    def state(self, path: str) -> str:
        blob = self.box.get_blob_client(path)
        if not blob.exists():
            return "gone"
        return "marked" if MARK in (blob.get_blob_properties().metadata or {}) else "kept"


def _backup(admin, tenant_id: str, policy_types: list[str] | None) -> dict:
    run = admin.wait(admin.backup(tenant_id, policy_types))
    assert run["status"] == "succeeded", run
    return admin.backup_set(tenant_id, run["backup_set_id"])


def _item(backup_set: dict, policy_id: str) -> dict:
    [item] = [i for i in backup_set["items"] if i["policy_id"] == policy_id]
    return item


def _remaining(admin, tenant_id: str) -> set[str]:
    return {s["backup_set_id"] for s in admin.pages(f"/api/tenants/{tenant_id}/backups")}


@pytest.fixture
def tenant_id(admin, sim) -> Iterator[str]:
    """A simulator tenant whose retention, pin and faults are put back afterwards."""
    tenant_id = sim.tenant_ids[2]
    yield tenant_id
    sim.clear_faults()
    admin.pin_baseline(tenant_id, None)
    admin.ok("PUT", f"/api/tenants/{tenant_id}", json={"retention_days": 90, "keep_min_sets": 7})


def test_purge_keeps_exactly_what_it_must_and_deletes_orphan_blobs_after_the_grace(
        admin, stack, sim, tenant_id) -> None:
    settings = admin.ok("PUT", f"/api/tenants/{tenant_id}",
                        json={"retention_days": 7, "keep_min_sets": 1})
    assert (settings["retention_days"], settings["keep_min_sets"]) == (7, 1)
    admin.pin_baseline(tenant_id, None)
    default = admin.baseline(tenant_id)  # the newest eligible full backup of earlier tests
    default_ids = {default.json()["backup_set_id"]} if default.status_code == 200 else set()
    policy_id = sim.objects(tenant_id, collection(TYPE))[0]["id"]

    def drift(text: str) -> None:
        sim.drift(tenant_id, collection(TYPE), policy_id, patch={"description": text})

    pinned = _backup(admin, tenant_id, [TYPE])
    assert admin.pin_baseline(tenant_id, pinned["backup_set_id"]).status_code == 200
    restored = _backup(admin, tenant_id, [TYPE])
    drift("retention v3")
    third = _backup(admin, tenant_id, [TYPE])
    drift("retention v4")
    fourth = _backup(admin, tenant_id, [TYPE])
    drift("retention v5")
    fifth = _backup(admin, tenant_id, [TYPE])
    newest = _backup(admin, tenant_id, [TYPE])
    v3, v4, v5 = (_item(s, policy_id) for s in (third, fourth, fifth))
    assert len({v3["sha256"], v4["sha256"], v5["sha256"]}) == 3
    blobs = Blobs(stack)
    path_of = {s["backup_set_id"]: {i["item_id"]: i for i in
                                    admin.backup_set(tenant_id, s["backup_set_id"])["items"]}
               for s in (pinned, restored, fifth, newest)}

    # A restore preview of `restored` stays in flight while the first purge runs.
    sim.add_fault("slow", tenant=tenant_id, delay_ms=20_000)
    preview = admin.restore(tenant_id, restored["backup_set_id"], dry_run=True)
    assert preview.status_code == 202, preview.text

    # `fifth` is exactly 7 days old: everything before it is past the retention.
    first_now = parse_iso(fifth["created_at"]) + timedelta(days=7)
    first = _purge(stack, tenant_id, first_now, "first")

    kept = {pinned["backup_set_id"], restored["backup_set_id"], fifth["backup_set_id"],
            newest["backup_set_id"]} | default_ids
    assert _remaining(admin, tenant_id) == kept
    assert {third["backup_set_id"], fourth["backup_set_id"]} <= set(first["purged"])
    assert first["kept"][restored["backup_set_id"]] == "in_use"
    assert first["kept"][pinned["backup_set_id"]] == "baseline"
    assert admin.request("GET", f"/api/tenants/{tenant_id}/backups/"
                                f"{third['backup_set_id']}").status_code == 404
    # The purged sets' own content is marked; what a remaining set holds is not.
    content_path = {v["sha256"]: f"{tenant_id}/{TYPE}/{policy_id}/{v['sha256']}.json"
                    for v in (v3, v4, v5)}
    assert blobs.state(content_path[v3["sha256"]]) == "marked"
    assert blobs.state(content_path[v4["sha256"]]) == "marked"
    for set_id, items in path_of.items():
        for item_id in items:
            assert admin.snapshot(tenant_id, set_id, item_id)  # still readable
    # The same purge again changes nothing.
    again = _purge(stack, tenant_id, first_now, "again")
    assert again["purged"] == [] and again["counts"].get("blobs_deleted", 0) == 0
    assert _remaining(admin, tenant_id) == kept
    assert admin.run(tenant_id, preview.json()["run_id"]).json()["status"] in (
        "queued", "running")  # (the restore was in flight through both purges)
    # Versions: those of purged content are gone, the rest point at sets that remain.
    versions = list(admin.pages(f"/api/tenants/{tenant_id}/policies/{TYPE}/{policy_id}"
                                "/versions"))
    held = {i["sha256"] for set_id in kept for i in admin.backup_set(tenant_id, set_id)["items"]
            if i["policy_id"] == policy_id}
    assert {v["sha256"] for v in versions} == held and v5["sha256"] in held
    assert {v["backup_set_id"] for v in versions} <= kept

    sim.clear_faults()
    admin.wait(preview, timeout=300)

    # An hour later the restore is over and `fifth` is past the retention: both go, but
    # no blob yet — the grace still holds.
    later = _purge(stack, tenant_id, first_now + timedelta(hours=1), "later")
    assert set(later["purged"]) == {restored["backup_set_id"], fifth["backup_set_id"]}
    assert later["counts"].get("blobs_deleted", 0) == 0
    assert blobs.state(content_path[v3["sha256"]]) == "marked"
    assert blobs.state(content_path[v5["sha256"]]) == "kept"  # `newest` holds it

    # A backup stores v4's content again while its blob is marked: the blob is reclaimed.
    drift("retention v4")
    reused = _backup(admin, tenant_id, [TYPE])
    assert _item(reused, policy_id)["sha256"] == v4["sha256"]
    assert blobs.state(content_path[v4["sha256"]]) == "kept"

    mine = [n for n in admin.notifications() if n["tenant_id"] == tenant_id]
    assert mine and admin.items(tenant_id, reused["run_id"])

    # Past the grace: v3 goes, v4 stays readable, `newest` is no longer the newest. Every
    # run and notification here is now past the retention too.
    final_now = first_now + GRACE + timedelta(hours=1)
    final = _purge(stack, tenant_id, final_now, "final")

    assert blobs.state(content_path[v3["sha256"]]) == "gone"
    assert blobs.state(content_path[v4["sha256"]]) == "kept"
    item_id = _item(reused, policy_id)["item_id"]
    assert admin.snapshot(tenant_id, reused["backup_set_id"], item_id)["id"] == policy_id
    assert _remaining(admin, tenant_id) == (
        {pinned["backup_set_id"], reused["backup_set_id"]} | default_ids)
    assert final["purged"] == [newest["backup_set_id"]]
    assert blobs.state(content_path[v5["sha256"]]) == "marked"  # no set holds it any more
    assert [n for n in admin.notifications() if n["tenant_id"] == tenant_id] == []
    for run_id in (reused["run_id"], preview.json()["run_id"], pinned["run_id"]):
        assert admin.items(tenant_id, run_id) == []
        assert admin.run(tenant_id, run_id).status_code == 200  # the run itself stays
    audit = [e for e in admin.pages(f"/api/tenants/{tenant_id}/audit")
             if e["action"] == "retention.purged"]
    assert len(audit) >= 3 and audit[0]["details"]["blobs_deleted"] >= 1


def test_put_tenant_retention_below_seven_days_is_400_and_changes_nothing(admin, sim) -> None:
    path = f"/api/tenants/{sim.tenant_ids[0]}"
    before = admin.ok("GET", path)

    for body in ({"retention_days": 6}, {"retention_days": "30"}, {"keep_min_sets": 0}):
        refused = admin.request("PUT", path, json=body)
        assert refused.status_code == 400, body
        assert refused.json()["code"] == "validation_failed"
        assert next(iter(body)) in refused.json()["detail"]
    assert admin.ok("GET", path) == before


def test_new_tenant_gets_the_default_retention(admin) -> None:
    path = "/api/tenants/0f0f0f0f-0000-4000-8000-00000000000f"
    registered = admin.ok("PUT", path, json={"display_name": "Retention defaults"})
    changed = admin.ok("PUT", path, json={"keep_min_sets": 3})
    assert (registered["retention_days"], registered["keep_min_sets"]) == (90, 7)
    assert (changed["retention_days"], changed["keep_min_sets"]) == (90, 3)
    assert admin.ok("GET", path)["keep_min_sets"] == 3


def test_purge_timer_starts_the_day_s_purge_of_every_tenant_once(admin, stack, sim) -> None:
    instance = purge_instance_id(utc_now())

    async def status():
        return await _client(stack).get_status(instance)

    stack.fire_timer("purge_tick")
    stack.fire_timer("purge_tick")  # a repeated tick finds the day's purge started

    final = wait_until(lambda: (lambda s: s if s.runtime_status and s.runtime_status.name
                                in TERMINAL else None)(stack.host.call(status())),
                       120, "the purge to finish", poll_s=0.2)
    assert final.runtime_status.name == "Completed", final.output
    assert set(sim.tenant_ids) <= set(final.output["tenants"])
    assert final.output["failed"] == []
    # Nothing here is older than a retention: every set is still there.
    for tenant_id in sim.tenant_ids:
        assert final.output["tenants"][tenant_id]["purged"] == []
