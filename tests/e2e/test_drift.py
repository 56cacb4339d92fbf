"""Drift checks (DESIGN §10): the baseline, the four actions and their diffs, no new blobs for
an unchanged tenant, one alert per check with drift, and remediation as a normal restore.

The end-to-end stack shares its storage across the session, so each test drops any pin it
may find and makes the backups it compares with.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
from azure.storage.blob import BlobServiceClient

from shared.graph import supported_type, to_create_payload
from shared.platform.storage import expand_connection_string
from tests.e2e.restore_support import (
    backup,
    collection,
    create_in_graph,
    live,
    name_reused_by_another_kind,
    restore,
)

TYPES = ["roleScopeTags", "configurationPolicies", "deviceConfigurations",
         "deviceCompliancePolicies"]
ACTIONS = ("in_sync", "drifted", "added", "removed")


def _check(admin, tenant_id: str, **options: Any) -> dict[str, Any]:
    started = admin.drift_check(tenant_id, **options)
    assert started.status_code == 202, started.text
    run = admin.wait(started)
    assert run["run_type"] == "drift_check"
    return run


def _unpinned(admin, tenant_id: str) -> None:
    assert admin.pin_baseline(tenant_id, None).status_code in (204, 404)


def _add_scope_tag(sim, tenant_id: str, name: str, description: str = "made by hand"
                   ) -> dict[str, Any]:
    """Create an object through Graph, as an admin in the portal would."""
    response = httpx.post(f"{sim.base_url}/beta/{collection('roleScopeTags')}",
                          json={"displayName": name, "description": description},
                          headers={"Authorization": f"Bearer {sim.graph_token(tenant_id)}"})
    assert response.status_code == 201, response.text
    return response.json()


ALICE = {"upn": "alice@contoso.example", "type": "user"}  # a customer admin in the portal
TECHNICIAN = {"upn": "tech@msp.example", "type": "partner"}  # a GDAP technician


def _drift(sim, tenant_id: str) -> dict[str, dict[str, Any]]:
    """One change of each kind: a description, an assignment, a deletion (by people, in the
    portal), a new object (by an app, through Graph)."""
    described = live(sim, tenant_id, "configurationPolicies")[0]
    sim.drift(tenant_id, "configurationPolicies", described["id"],
              patch={"description": "changed in the portal"}, actor=ALICE)
    reassigned = live(sim, tenant_id, "deviceConfigurations")[0]
    sim.drift(tenant_id, "deviceConfigurations", reassigned["id"], op="reassign",
              actor=TECHNICIAN)
    deleted = live(sim, tenant_id, "deviceCompliancePolicies")[0]
    sim.drift(tenant_id, "deviceCompliancePolicies", deleted["id"], op="delete", actor=ALICE)
    added = _add_scope_tag(sim, tenant_id, f"Added {uuid.uuid4().hex[:6]}")
    return {"described": described, "reassigned": reassigned, "deleted": deleted,
            "added": added}


def _by_action(items: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {action: [] for action in ACTIONS}
    for item in items:
        out[item["action"]].append(item)
    return out


def _blob_names(stack) -> set[str]:
    service = BlobServiceClient.from_connection_string(
        expand_connection_string(stack.storage_connection))
    with service:
        box = service.get_container_client(stack.storage_prefix + "snapshots")
        return {b.name for b in box.list_blobs()} if box.exists() else set()


def _drift_events(stack, run_id: str) -> list[dict[str, Any]]:
    events = [json.loads(m) for m in stack.drain_queue("run-events")]
    return [e for e in events if e["run_id"] == run_id and e["status"] == "drift_detected"]


def test_drift_check_reports_every_action_with_the_diff_a_preview_shows(admin, sim, tenant_id):
    _unpinned(admin, tenant_id)
    source = backup(admin, tenant_id)  # every type: the default baseline
    changed = _drift(sim, tenant_id)

    run = _check(admin, tenant_id)

    assert run["status"] == "succeeded", run
    assert run["backup_set_id"] == source["backup_set_id"]
    items = admin.items(tenant_id, run["run_id"])
    found = _by_action(items)
    assert {a: len(found[a]) for a in ACTIONS if a != "in_sync"} == {
        "drifted": 2, "added": 1, "removed": 1}
    assert run["drift"] == {a: len(found[a]) for a in ACTIONS}
    assert run["counts"]["total"] == run["counts"]["succeeded"] == len(items)
    assert {i["status"] for i in items} == {"succeeded"}
    drifted = {i["policy_id"]: i for i in found["drifted"]}
    assert drifted[changed["described"]["id"]]["diff"] == [
        {"path": "description", "change": "changed"}]
    reassignment = drifted[changed["reassigned"]["id"]]["diff"]
    assert reassignment and all(d["path"].startswith("assignments") for d in reassignment)
    [removed] = found["removed"]
    assert (removed["policy_type"], removed["policy_id"]) == (
        "deviceCompliancePolicies", changed["deleted"]["id"])
    [added] = found["added"]
    assert (added["policy_type"], added["policy_id"]) == ("roleScopeTags", changed["added"]["id"])
    assert all(i["diff"] == [] for i in found["in_sync"])
    who = {i["policy_id"]: i["changed_by"] for i in items if i["action"] != "in_sync"}
    assert {k: (v["actor"], v["actor_type"]) for k, v in who.items()} == {
        changed["described"]["id"]: ("alice@contoso.example", "user"),
        changed["reassigned"]["id"]: ("tech@msp.example", "partner"),
        changed["deleted"]["id"]: ("alice@contoso.example", "user"),
        changed["added"]["id"]: ("PolicyVault", "app")}
    assert all(v["at"] >= source["started_at"] and v["activity"] for v in who.values())
    assert all(i["changed_by"] is None for i in found["in_sync"])
    preview = restore(admin, tenant_id, source["backup_set_id"],
                      item_ids=[i["item_id"] for i in found["drifted"]])
    previewed = {i["item_id"]: i["diff"] for i in admin.items(tenant_id, preview["run_id"])}
    assert previewed == {i["item_id"]: i["diff"] for i in found["drifted"]}


def test_drift_check_without_the_audit_log_says_who_changed_it_is_unknown(admin, sim,
                                                                          tenant_id):
    source = backup(admin, tenant_id, ["deviceConfigurations"])
    changed = live(sim, tenant_id, "deviceConfigurations")[0]
    sim.drift(tenant_id, "deviceConfigurations", changed["id"], patch={"description": "x"},
              actor=ALICE)
    # The app may not read Intune's audit log (no permission, or no licence for it).
    sim.add_fault("status", tenant=tenant_id, status=403,
                  path_prefix="/beta/deviceManagement/auditEvents")

    run = _check(admin, tenant_id, baseline_backup_set_id=source["backup_set_id"],
                 policy_types=["deviceConfigurations"])

    assert run["status"] == "succeeded", run
    [drifted] = [i for i in admin.items(tenant_id, run["run_id"]) if i["action"] == "drifted"]
    assert drifted["changed_by"] is None
    assert [w["code"] for w in drifted["warnings"]] == ["audit_log_unavailable"]
    assert "intune" in drifted["warnings"][0]["message"]


def test_drift_check_of_a_recreated_policy_matches_it_by_its_unique_name(admin, sim, tenant_id):
    source = backup(admin, tenant_id, ["roleScopeTags"])
    tag = next(t for t in live(sim, tenant_id, "roleScopeTags") if t["id"] != "0")
    sim.drift(tenant_id, "roleScopeTags", tag["id"], op="delete")
    again = _add_scope_tag(sim, tenant_id, tag["displayName"], tag.get("description") or "")

    run = _check(admin, tenant_id, baseline_backup_set_id=source["backup_set_id"])

    [item] = [i for i in admin.items(tenant_id, run["run_id"])
              if i["item_id"] == f"roleScopeTags.{tag['id']}"]
    assert again["id"] != tag["id"]
    assert (item["policy_id"], item["action"], item["diff"]) == (again["id"], "in_sync", [])
    assert run["drift"]["added"] == run["drift"]["removed"] == run["drift"]["drifted"] == 0


def test_drift_check_never_pairs_a_recreated_name_with_an_object_of_another_kind(
        admin, sim, tenant_id):
    policy_type = "deviceConfigurations"
    source = backup(admin, tenant_id, [policy_type])
    gone, made = name_reused_by_another_kind(sim, tenant_id, policy_type)

    run = _check(admin, tenant_id, baseline_backup_set_id=source["backup_set_id"])
    # Then the deleted profile is made again, beside the namesake of the other platform.
    again = create_in_graph(sim, tenant_id, policy_type,
                            to_create_payload(supported_type(policy_type), gone))
    rerun = _check(admin, tenant_id, baseline_backup_set_id=source["backup_set_id"])

    actions = {i["item_id"]: i["action"] for i in admin.items(tenant_id, run["run_id"])}
    assert actions[f"{policy_type}.{gone['id']}"] == "removed"
    assert actions[f"{policy_type}.{made['id']}"] == "added"
    assert (run["drift"]["removed"], run["drift"]["added"], run["drift"]["drifted"]) == (
        1, 1, 0)
    items = {i["item_id"]: i for i in admin.items(tenant_id, rerun["run_id"])}
    assert (items[f"{policy_type}.{gone['id']}"]["policy_id"],
            items[f"{policy_type}.{gone['id']}"]["action"]) == (again["id"], "in_sync")
    assert items[f"{policy_type}.{made['id']}"]["action"] == "added"
    assert (rerun["drift"]["removed"], rerun["drift"]["added"]) == (0, 1)


def test_drift_check_without_a_baseline_is_409_no_baseline(admin, sim, tenant_id):
    newcomer = str(uuid.uuid4())
    admin.register_tenant(newcomer, "New customer")
    tag = live(sim, tenant_id, "roleScopeTags")[0]
    capture = admin.wait(admin.capture(tenant_id, "roleScopeTags", tag["id"]))

    refused = admin.drift_check(newcomer)
    shown = admin.baseline(newcomer)
    other = admin.drift_check(newcomer, baseline_backup_set_id=capture["backup_set_id"])
    pinned_capture = admin.pin_baseline(tenant_id, capture["backup_set_id"])

    assert (refused.status_code, refused.json()["code"]) == (409, "no_baseline")
    assert (shown.status_code, shown.json()["code"]) == (409, "no_baseline")
    assert (other.status_code, other.json()["code"]) == (404, "not_found")
    assert (pinned_capture.status_code, pinned_capture.json()["code"]) == (
        400, "validation_failed")
    assert not [r for r in admin.pages(f"/api/tenants/{newcomer}/runs")
                if r["run_type"] == "drift_check"]


def test_pinned_baseline_is_used_until_the_pin_is_dropped(admin, sim, tenant_id):
    _unpinned(admin, tenant_id)
    older = backup(admin, tenant_id, TYPES)
    policy = live(sim, tenant_id, "configurationPolicies")[0]
    sim.drift(tenant_id, "configurationPolicies", policy["id"],
              patch={"description": "after the older backup"})
    newest = backup(admin, tenant_id)

    pinned = admin.pin_baseline(tenant_id, older["backup_set_id"])
    shown = admin.baseline(tenant_id).json()
    against_pin = _check(admin, tenant_id)

    assert pinned.status_code == 200, pinned.text
    assert (shown["backup_set_id"], shown["pinned"]) == (older["backup_set_id"], True)
    assert shown["since"] == older["started_at"]
    assert shown["policy_types"] == sorted(TYPES)
    assert against_pin["backup_set_id"] == older["backup_set_id"]
    assert against_pin["drift"]["drifted"] == 1
    assert {i["policy_type"] for i in admin.items(tenant_id, against_pin["run_id"])} == set(
        TYPES)

    assert admin.pin_baseline(tenant_id, None).status_code == 204
    shown = admin.baseline(tenant_id).json()
    against_newest = _check(admin, tenant_id)

    assert (shown["backup_set_id"], shown["pinned"]) == (newest["backup_set_id"], False)
    assert shown["backup_set"]["all_types"] is True
    assert shown["backup_set"]["run_status"] == "succeeded"
    assert against_newest["backup_set_id"] == newest["backup_set_id"]
    assert against_newest["drift"]["drifted"] == 0


def test_drift_check_of_an_unchanged_tenant_stores_no_blob_and_reads_no_more_than_a_backup(
        admin, stack, sim, tenant_id):
    _unpinned(admin, tenant_id)
    cursor = sim.request_cursor()
    source = backup(admin, tenant_id)
    backup_requests = len(sim.requests(cursor))
    blobs = _blob_names(stack)
    cursor = sim.request_cursor()

    run = _check(admin, tenant_id)

    assert run["status"] == "succeeded", run
    assert run["backup_set_id"] == source["backup_set_id"]
    assert _blob_names(stack) == blobs
    assert sim.writes(cursor) == []
    assert len(sim.requests(cursor)) <= backup_requests
    assert run["drift"]["in_sync"] == run["counts"]["total"] > 0
    assert run["drift"]["drifted"] == run["drift"]["added"] == run["drift"]["removed"] == 0


def test_one_alert_per_check_with_drift_and_none_without(admin, stack, sim, tenant_id):
    source = backup(admin, tenant_id, TYPES)
    stack.drain_queue("run-events")

    quiet = _check(admin, tenant_id, baseline_backup_set_id=source["backup_set_id"])

    assert quiet["drift"]["in_sync"] == quiet["counts"]["total"]
    quiet_notes = [n for n in admin.notifications() if n["run_id"] == quiet["run_id"]]
    assert sorted(n["status"] for n in quiet_notes) == ["running", "succeeded"]
    assert _drift_events(stack, quiet["run_id"]) == []

    _drift(sim, tenant_id)
    loud = _check(admin, tenant_id, baseline_backup_set_id=source["backup_set_id"])

    notes = [n for n in admin.notifications() if n["run_id"] == loud["run_id"]]
    assert sorted(n["status"] for n in notes) == ["drift_detected", "running", "succeeded"]
    [alert] = [n for n in notes if n["status"] == "drift_detected"]
    assert alert["link"].endswith(f"/api/tenants/{tenant_id}/runs/{loud['run_id']}")
    assert alert["drift"] == loud["drift"]
    [event] = _drift_events(stack, loud["run_id"])
    assert event["event_id"] == alert["notification_id"]


def test_restoring_the_drifted_and_removed_items_of_a_check_brings_the_tenant_back(
        admin, sim, tenant_id):
    source = backup(admin, tenant_id, TYPES)
    _drift(sim, tenant_id)
    run = _check(admin, tenant_id, baseline_backup_set_id=source["backup_set_id"])
    found = _by_action(admin.items(tenant_id, run["run_id"]))
    fix = sorted(i["item_id"] for i in found["drifted"] + found["removed"])

    preview = restore(admin, tenant_id, source["backup_set_id"], item_ids=fix)
    planned = {i["item_id"]: i["action"] for i in admin.items(tenant_id, preview["run_id"])}
    fixed = restore(admin, tenant_id, source["backup_set_id"], item_ids=fix, dry_run=False)
    after = _check(admin, tenant_id, baseline_backup_set_id=source["backup_set_id"])
    added_refused = admin.restore(tenant_id, source["backup_set_id"],
                                  item_ids=[found["added"][0]["item_id"]])

    assert planned == {i["item_id"]: "would_update" for i in found["drifted"]} | {
        i["item_id"]: "would_create" for i in found["removed"]}
    assert fixed["status"] == "succeeded", fixed
    assert after["drift"]["drifted"] == after["drift"]["removed"] == 0
    assert after["drift"]["added"] == 1  # not in the baseline: nothing to restore it from
    assert added_refused.status_code == 400


def test_what_graph_will_not_serve_is_reported_never_called_removed(admin, sim, tenant_id):
    source = backup(admin, tenant_id, ["deviceHealthScripts", "windowsDriverUpdateProfiles"])
    victim = live(sim, tenant_id, "deviceHealthScripts")[0]["id"]
    sim.add_fault("503", retry_after=0, method="GET",
                  path_prefix=f"/deviceManagement/deviceHealthScripts/{victim}")
    sim.add_fault("status", status=403, method="GET", tenant=tenant_id,
                  path_prefix="/deviceManagement/windowsDriverUpdateProfiles")

    run = _check(admin, tenant_id, baseline_backup_set_id=source["backup_set_id"])

    assert run["status"] == "partial", run
    items = admin.items(tenant_id, run["run_id"])
    assert sorted((i["policy_type"], i["policy_id"], i["status"], i["error"]["code"])
                  for i in items if i["status"] != "succeeded") == [
        ("deviceHealthScripts", victim, "failed", "graph_unavailable"),
        ("windowsDriverUpdateProfiles", "*", "skipped", "consent_missing")]
    assert run["drift"]["removed"] == run["drift"]["added"] == run["drift"]["drifted"] == 0
    assert run["drift"]["in_sync"] == len(live(sim, tenant_id, "deviceHealthScripts")) - 1
