"""Restore preview (dry run): read-only in Graph, planned action and field diff per item."""

from __future__ import annotations

from tests.e2e.restore_support import backup, by_policy, create_in_graph, live, restore

TYPES = ["configurationPolicies", "deviceConfigurations", "assignmentFilters"]


def test_preview_after_drift_reports_exact_diffs_and_writes_nothing(admin, sim, tenant_id):
    source = backup(admin, tenant_id, TYPES)
    policy = live(sim, tenant_id, "configurationPolicies")[2]
    assert len(policy["settings"]) >= 1
    setting = policy["settings"][0]["settingInstance"]
    value_key = next(k for k in setting if k.endswith("SettingValue"))
    setting[value_key]["value"] = "changed by a customer admin"
    sim.drift(tenant_id, "configurationPolicies", policy["id"],
              patch={"description": "drifted", "settings": policy["settings"]})
    deleted = live(sim, tenant_id, "deviceConfigurations")[0]
    sim.drift(tenant_id, "deviceConfigurations", deleted["id"], op="delete")
    cursor = sim.request_cursor()

    run = restore(admin, tenant_id, source["backup_set_id"])

    assert sim.writes(cursor) == []
    assert run["status"] == "succeeded", run
    assert run["dry_run"] is True and run["run_type"] == "restore"
    assert run["backup_set_id"] == source["backup_set_id"]
    assert run["pre_restore_backup_set_id"] is None
    items = by_policy(admin.items(tenant_id, run["run_id"]))
    total = len(admin.backup_set(tenant_id, source["backup_set_id"])["items"])
    assert run["counts"] == {"total": total, "processed": total, "succeeded": total,
                             "failed": 0, "skipped": 0}
    changed = items[policy["id"]]
    assert (changed["action"], changed["status"]) == ("would_update", "succeeded")
    assert sorted(changed["diff"], key=lambda d: d["path"]) == [
        {"path": "description", "change": "changed"},
        {"path": f"settings[0].settingInstance.{value_key}.value", "change": "changed"},
    ]
    assert items[deleted["id"]]["action"] == "would_create"
    assert {"path": "displayName", "change": "added"} in items[deleted["id"]]["diff"]
    others = [i for pid, i in items.items() if pid not in (policy["id"], deleted["id"])]
    assert others and all((i["action"], i["diff"]) == ("no_change", []) for i in others)


def test_preview_of_reassigned_policy_names_the_assignment_change(admin, sim, tenant_id):
    source = backup(admin, tenant_id, ["deviceConfigurations"])
    policy = live(sim, tenant_id, "deviceConfigurations")[1]
    sim.drift(tenant_id, "deviceConfigurations", policy["id"], op="reassign")

    run = restore(admin, tenant_id, source["backup_set_id"],
                  item_ids=[f"deviceConfigurations.{policy['id']}"])

    [item] = admin.items(tenant_id, run["run_id"])
    assert item["action"] == "would_update"
    assert item["diff"] and all(d["path"].startswith("assignments") for d in item["diff"])
    ignoring = restore(admin, tenant_id, source["backup_set_id"], include_assignments=False,
                       item_ids=[f"deviceConfigurations.{policy['id']}"])
    [item] = admin.items(tenant_id, ignoring["run_id"])
    assert (item["action"], item["diff"]) == ("no_change", [])


def test_preview_skips_an_ambiguous_name_match(admin, sim, tenant_id):
    source = backup(admin, tenant_id, ["deviceConfigurations"])
    first = live(sim, tenant_id, "deviceConfigurations")[0]
    sim.drift(tenant_id, "deviceConfigurations", first["id"], op="delete")
    # two of its kind (a name matches only within one kind) named as it was, as a customer
    # admin might have made them by hand
    for _ in range(2):
        create_in_graph(sim, tenant_id, "deviceConfigurations", {
            "@odata.type": first["@odata.type"], "displayName": first["displayName"]})

    run = restore(admin, tenant_id, source["backup_set_id"],
                  item_ids=[f"deviceConfigurations.{first['id']}"])

    [item] = admin.items(tenant_id, run["run_id"])
    assert (item["action"], item["status"]) == ("would_skip", "skipped")
    assert item["error"]["code"] == "ambiguous_match"
    assert run["status"] == "succeeded"
    assert run["counts"]["skipped"] == 1


def test_a_preview_names_the_object_graph_would_not_serve_and_assesses_the_rest(
        admin, sim, tenant_id):
    source = backup(admin, tenant_id, ["deviceConfigurations"])
    stuck, drifted = live(sim, tenant_id, "deviceConfigurations")[:2]
    sim.drift(tenant_id, "deviceConfigurations", drifted["id"], patch={"description": "x"})
    sim.add_fault("503", tenant=tenant_id, method="GET",
                  path_prefix=f"/beta/deviceManagement/deviceConfigurations/{stuck['id']}")

    run = restore(admin, tenant_id, source["backup_set_id"])

    assert run["status"] == "partial", run
    items = by_policy(admin.items(tenant_id, run["run_id"]))
    assert run["counts"]["total"] == run["counts"]["processed"] == len(items)
    assert items[stuck["id"]]["status"] == "failed"
    assert items[stuck["id"]]["error"]["code"] == "graph_unavailable"
    assert items[drifted["id"]]["action"] == "would_update"
