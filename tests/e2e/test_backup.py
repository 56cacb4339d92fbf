"""Backing up whole tenants: every object of every type, complete and equal to Graph, one
backup set per run, counters that match the item rows, versions, notifications.

The backups of every simulator tenant run once per module (concurrently, as a nightly
estate backup would) and each test checks one thing a user would notice about them.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from azure.storage.blob import BlobServiceClient, ContainerClient

from local.stack import Stack
from shared.graph import CATALOG, comparable, supported_type
from shared.graph.secrets import redact
from shared.platform.storage import expand_connection_string
from tests.e2e.backup_support import (
    RuntimeProcess,
    estate,
    private_runtime,
    register_tenants,
    run_events,
)

ZERO = {"total": 0, "processed": 0, "succeeded": 0, "failed": 0, "skipped": 0}


@dataclass
class TenantBackup:
    tenant_id: str
    run: dict[str, Any]
    items: list[dict[str, Any]]
    backup_set: dict[str, Any]
    expected: dict[tuple[str, str], dict[str, Any]]
    changed: tuple[str, str]  # renamed just before the backup: content no set holds yet


@pytest.fixture(scope="module")
def runtime(stack: Stack, tmp_path_factory) -> Iterator[RuntimeProcess]:
    """The module's own runtime and storage prefix: what it stores never meets other tests."""
    stack.sim.reset()
    with private_runtime(stack.sim, stack.storage_connection,
                         tmp_path_factory.mktemp("backup")) as running:
        yield running


@pytest.fixture(scope="module")
def estate_admin(stack: Stack, runtime: RuntimeProcess):
    """A Platform.Admin with every simulator tenant registered, on the seed data."""
    with runtime.client(f"estate-{uuid.uuid4().hex[:8]}") as client:
        register_tenants(client, stack.sim)
        yield client


@pytest.fixture(scope="module")
def backups(stack: Stack, estate_admin) -> dict[str, TenantBackup]:
    """One backup of every simulator tenant, started together, each waited for. One policy
    per tenant is renamed first, so its content is certainly new to the versions."""
    changed = {}
    for tenant_id in stack.sim.tenant_ids:
        policy = stack.sim.objects(tenant_id, "configurationPolicies")[0]
        stack.sim.drift(tenant_id, "configurationPolicies", policy["id"], op="modify",
                        patch={"name": f"Nightly {uuid.uuid4().hex[:8]}"})
        changed[tenant_id] = ("configurationPolicies", policy["id"])
    started = {t: estate_admin.backup(t, label="nightly") for t in stack.sim.tenant_ids}
    out = {}
    for tenant_id, response in started.items():
        assert response.status_code == 202, response.text
        run = estate_admin.wait(response)
        out[tenant_id] = TenantBackup(
            tenant_id=tenant_id, run=run, items=estate_admin.items(tenant_id, run["run_id"]),
            backup_set=estate_admin.backup_set(tenant_id, run["backup_set_id"]),
            expected=estate(stack.sim, tenant_id), changed=changed[tenant_id])
    return out


def test_backup_of_every_tenant_succeeds_with_every_object_of_every_type(backups):
    for backup in backups.values():
        assert backup.run["status"] == "succeeded", backup.run
        assert backup.run["error"] is None
        stored = {(i["policy_type"], i["policy_id"]) for i in backup.backup_set["items"]}
        assert stored == set(backup.expected)
        assert {t for t, _ in stored} == {rtype.key for rtype in CATALOG}


def test_backup_documents_equal_the_graph_objects_once_normalized(backups, estate_admin):
    for backup in backups.values():
        for item in backup.backup_set["items"]:
            rtype = supported_type(item["policy_type"])
            stored = estate_admin.snapshot(backup.tenant_id, backup.run["backup_set_id"],
                                           item["item_id"])
            live = backup.expected[(item["policy_type"], item["policy_id"])]
            assert comparable(rtype, stored) == comparable(rtype, redact(rtype, live)), \
                item["item_id"]  # the API shows every secret as "<secret>"
            assert item["display_name"] == live.get(rtype.name_field)


def test_backup_keeps_settings_beyond_the_first_page_assignments_and_compliance_actions(
        backups, estate_admin):
    backup = next(iter(backups.values()))

    def stored(policy_type: str, policy_id: str) -> dict[str, Any]:
        return estate_admin.snapshot(backup.tenant_id, backup.run["backup_set_id"],
                                     f"{policy_type}.{policy_id}")

    big = max((o for (t, _), o in backup.expected.items() if t == "configurationPolicies"),
              key=lambda o: len(o["settings"]))
    assert len(big["settings"]) > 25  # Graph pages settings at 25
    doc = stored("configurationPolicies", big["id"])
    assert len(doc["settings"]) == len(big["settings"])
    assert len(doc["assignments"]) == len(big["assignments"]) > 0
    compliance = [o for (t, _), o in backup.expected.items() if t == "deviceCompliancePolicies"]
    assert compliance
    for policy in compliance:
        doc = stored("deviceCompliancePolicies", policy["id"])
        actions = [c for rule in doc["scheduledActionsForRule"]
                   for c in rule["scheduledActionConfigurations"]]
        assert actions
        assert len(actions) == sum(len(r["scheduledActionConfigurations"])
                                   for r in policy["scheduledActionsForRule"])


def test_backup_counters_equal_the_item_rows_with_no_duplicates(backups):
    for backup in backups.values():
        ids = [i["item_id"] for i in backup.items]
        assert len(ids) == len(set(ids)) == len(backup.expected)
        by_status = Counter(i["status"] for i in backup.items)
        assert backup.run["counts"] == {**ZERO, "total": len(ids), "processed": len(ids),
                                        "succeeded": by_status["succeeded"]}
        # Content an earlier run already stored is "unchanged"; new content "captured".
        assert {i["action"] for i in backup.items} <= {"captured", "unchanged"}
        changed = next(i for i in backup.items
                       if (i["policy_type"], i["policy_id"]) == backup.changed)
        assert changed["action"] == "captured"


def test_backup_makes_one_backup_set_per_run_with_its_item_count(backups, estate_admin):
    for backup in backups.values():
        sets = list(estate_admin.pages(f"/api/tenants/{backup.tenant_id}/backups"))
        mine = [s for s in sets if s["run_id"] == backup.run["run_id"]]
        assert len(mine) == 1
        assert mine[0]["backup_set_id"] == backup.run["backup_set_id"]
        assert mine[0]["label"] == "nightly"
        assert mine[0]["item_count"] == len(backup.backup_set["items"]) == len(backup.expected)
        ids = [i["item_id"] for i in backup.backup_set["items"]]
        assert len(ids) == len(set(ids))


def test_backup_records_a_version_of_every_policy(backups, estate_admin):
    backup = next(iter(backups.values()))
    for item in backup.backup_set["items"]:
        versions = list(estate_admin.pages(
            f"/api/tenants/{backup.tenant_id}/policies/{item['policy_type']}/"
            f"{item['policy_id']}/versions"))
        hashes = [v["sha256"] for v in versions]
        assert item["sha256"] in hashes  # recorded by this backup or an earlier capture
        assert len(hashes) == len(set(hashes))  # one row per distinct content


def test_backup_makes_new_content_the_newest_version(backups, estate_admin):
    for backup in backups.values():
        policy_type, policy_id = backup.changed
        versions = list(estate_admin.pages(
            f"/api/tenants/{backup.tenant_id}/policies/{policy_type}/{policy_id}/versions"))
        assert versions[0]["backup_set_id"] == backup.run["backup_set_id"]
        assert versions[0]["display_name"] == backup.expected[backup.changed]["name"]


def test_backup_stores_each_document_once_under_its_content_hash(backups, runtime):
    blobs = {b.name for b in _container(runtime, "snapshots").list_blobs()}
    for backup in backups.values():
        for item in backup.backup_set["items"]:
            path = (f"{backup.tenant_id}/{item['policy_type']}/{item['policy_id']}/"
                    f"{item['sha256']}.json")
            assert path in blobs


def test_backup_notifies_the_requester_of_each_status_and_publishes_run_events(
        backups, estate_admin, runtime):
    events = run_events(runtime.connection, f"{runtime.prefix}run-events")
    notes = estate_admin.notifications()
    for backup in backups.values():
        run_id = backup.run["run_id"]
        mine = [n for n in notes if n["run_id"] == run_id]
        assert sorted(n["status"] for n in mine) == ["running", "succeeded"]
        final = next(n for n in mine if n["status"] == "succeeded")
        assert final["counts"] == backup.run["counts"]
        assert final["link"] == f"/api/tenants/{backup.tenant_id}/runs/{run_id}"
        published = {e["status"] for e in events if e["run_id"] == run_id}
        assert published == {"running", "succeeded"}


def test_a_second_backup_marks_unchanged_policies_and_adds_no_versions(
        backups, estate_admin, runtime):
    backup = next(iter(backups.values()))
    versions_before = len(runtime.rows("versions"))
    blobs_before = len(list(_container(runtime, "snapshots").list_blobs()))

    again = estate_admin.wait(estate_admin.backup(backup.tenant_id))

    assert again["status"] == "succeeded"
    assert again["run_id"] != backup.run["run_id"]
    assert again["backup_set_id"] != backup.run["backup_set_id"]
    items = estate_admin.items(backup.tenant_id, again["run_id"])
    assert {i["action"] for i in items} == {"unchanged"}
    assert len(items) == len(backup.expected)
    assert len(runtime.rows("versions")) == versions_before
    assert len(list(_container(runtime, "snapshots").list_blobs())) == blobs_before


def _container(runtime: RuntimeProcess, name: str) -> ContainerClient:
    service = BlobServiceClient.from_connection_string(
        expand_connection_string(runtime.connection))
    return service.get_container_client(runtime.prefix + name)


def test_a_backup_after_drift_stores_only_the_changed_policy_and_every_document_reads_back(
        backups, estate_admin, runtime, stack):
    """The latest-content index lets unchanged objects skip storage, never correctness:
    the changed policy gets a new blob and version, every other item points at the content
    stored before, and every document of the new set equals Graph's object."""
    backup = list(backups.values())[1]
    tenant, sim = backup.tenant_id, stack.sim
    victim = sim.objects(tenant, "deviceConfigurations")[0]["id"]
    sim.drift(tenant, "deviceConfigurations", victim, op="modify",
              patch={"description": f"changed in the portal {uuid.uuid4().hex[:6]}"})
    versions_before = len(runtime.rows("versions"))
    blobs_before = len(list(_container(runtime, "snapshots").list_blobs()))

    again = estate_admin.wait(estate_admin.backup(tenant))

    items = estate_admin.items(tenant, again["run_id"])
    assert Counter(i["action"] for i in items) == {"unchanged": len(items) - 1, "captured": 1}
    assert [i["policy_id"] for i in items if i["action"] == "captured"] == [victim]
    assert len(runtime.rows("versions")) == versions_before + 1
    assert len(list(_container(runtime, "snapshots").list_blobs())) == blobs_before + 1
    live = estate(sim, tenant)
    for item in estate_admin.backup_set(tenant, again["backup_set_id"])["items"]:
        rtype = supported_type(item["policy_type"])
        stored = estate_admin.snapshot(tenant, again["backup_set_id"], item["item_id"])
        assert comparable(rtype, stored) == comparable(
            rtype, redact(rtype, live[(item["policy_type"], item["policy_id"])])), item["item_id"]
