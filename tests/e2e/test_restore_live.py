"""Live restore: pre-restore snapshot, dependency order, id remapping, no duplicates, audit."""

from __future__ import annotations

from tests.e2e.restore_support import (
    backup,
    by_policy,
    collection,
    live,
    matches_snapshot,
    restore,
    two_kinds,
)

TYPES = ["roleScopeTags", "assignmentFilters", "configurationPolicies", "deviceConfigurations",
         "deviceCompliancePolicies", "namedLocations", "conditionalAccessPolicies"]
FILTER_KEY = "deviceAndAppManagementAssignmentFilterId"


def _filtered_policy(sim, tenant_id: str) -> tuple[dict, str]:
    """A device configuration assigned through an assignment filter, and the filter's id."""
    for policy in live(sim, tenant_id, "deviceConfigurations"):
        for assignment in policy.get("assignments") or []:
            filter_id = (assignment.get("target") or {}).get(FILTER_KEY)
            if filter_id:
                return policy, filter_id
    raise AssertionError("the simulator seeds a filtered assignment")


def test_live_restore_returns_drift_and_a_second_restore_changes_nothing(admin, sim,
                                                                         tenant_id):
    source = backup(admin, tenant_id, TYPES)
    drifted = live(sim, tenant_id, "configurationPolicies")[1]
    sim.drift(tenant_id, "configurationPolicies", drifted["id"],
              patch={"description": "drifted by hand"})
    deleted = live(sim, tenant_id, "deviceCompliancePolicies")[0]
    sim.drift(tenant_id, "deviceCompliancePolicies", deleted["id"], op="delete")
    reassigned = live(sim, tenant_id, "deviceConfigurations")[2]
    sim.drift(tenant_id, "deviceConfigurations", reassigned["id"], op="reassign")

    run = restore(admin, tenant_id, source["backup_set_id"], dry_run=False,
                  ca_state="as_snapshot")

    assert run["status"] == "succeeded", run
    items = by_policy(admin.items(tenant_id, run["run_id"]))
    assert items[drifted["id"]]["action"] == "updated"
    assert items[drifted["id"]]["diff"] == [{"path": "description", "change": "changed"}]
    assert items[deleted["id"]]["action"] == "created"
    assert items[reassigned["id"]]["action"] == "updated"
    assert run["counts"]["succeeded"] == run["counts"]["total"] == len(items)
    assert matches_snapshot(admin, sim, tenant_id, source["backup_set_id"], TYPES) == []

    cursor = sim.request_cursor()
    again = restore(admin, tenant_id, source["backup_set_id"], dry_run=False,
                    ca_state="as_snapshot")

    assert again["run_id"] != run["run_id"]
    assert sim.writes(cursor) == []
    assert {i["action"] for i in admin.items(tenant_id, again["run_id"])} == {"no_change"}

    undo = restore(admin, tenant_id, run["pre_restore_backup_set_id"], dry_run=False,
                   ca_state="as_snapshot")

    assert undo["status"] == "succeeded", undo
    back = {o["id"]: o for o in live(sim, tenant_id, "configurationPolicies")}
    assert back[drifted["id"]]["description"] == "drifted by hand"
    pre_set = admin.backup_set(tenant_id, run["pre_restore_backup_set_id"])
    assert pre_set["kind"] == "pre_restore" and pre_set["run_id"] == run["run_id"]
    assert deleted["id"] not in {i["policy_id"] for i in pre_set["items"]}
    undone = by_policy(admin.items(tenant_id, undo["run_id"]))
    assert undone[drifted["id"]]["action"] == "updated"
    assert undone[reassigned["id"]]["action"] == "updated"


def test_a_deleted_named_location_is_recreated_before_the_ca_policies_using_it(
        admin, sim, tenant_id):
    source = backup(admin, tenant_id, ["namedLocations", "conditionalAccessPolicies"])
    using = [p for p in live(sim, tenant_id, "conditionalAccessPolicies")
             if (p.get("conditions") or {}).get("locations")]
    location_ids = {i for p in using for side in ("includeLocations", "excludeLocations")
                    for i in p["conditions"]["locations"].get(side) or []}
    location = next(o for o in live(sim, tenant_id, "namedLocations")
                    if o["id"] in location_ids)
    sim.drift(tenant_id, "namedLocations", location["id"], op="delete")

    run = restore(admin, tenant_id, source["backup_set_id"], dry_run=False,
                  ca_state="as_snapshot")

    assert run["status"] == "succeeded", run
    [copy] = [o for o in live(sim, tenant_id, "namedLocations")
              if o["displayName"] == location["displayName"]]
    assert copy["id"] != location["id"]
    assert by_policy(admin.items(tenant_id, run["run_id"]))[location["id"]]["action"] == (
        "created")
    assert matches_snapshot(admin, sim, tenant_id, source["backup_set_id"],
                            ["namedLocations", "conditionalAccessPolicies"],
                            renamed={location["id"]: copy["id"]}) == []


def test_a_deleted_filter_and_its_policy_come_back_pointing_at_the_new_filter(admin, sim,
                                                                              tenant_id):
    policy, filter_id = _filtered_policy(sim, tenant_id)
    source = backup(admin, tenant_id, ["assignmentFilters", "deviceConfigurations"])
    sim.drift(tenant_id, "deviceConfigurations", policy["id"], op="delete")
    sim.drift(tenant_id, "assignmentFilters", filter_id, op="delete")

    run = restore(admin, tenant_id, source["backup_set_id"], dry_run=False, item_ids=[
        f"assignmentFilters.{filter_id}", f"deviceConfigurations.{policy['id']}"])

    assert run["status"] == "succeeded", run
    items = by_policy(admin.items(tenant_id, run["run_id"]))
    assert items[filter_id]["action"] == items[policy["id"]]["action"] == "created"
    filters = live(sim, tenant_id, "assignmentFilters")
    assert filter_id not in {f["id"] for f in filters}
    [new_policy] = [p for p in live(sim, tenant_id, "deviceConfigurations")
                    if p["displayName"] == policy["displayName"]]
    used = {(a.get("target") or {}).get(FILTER_KEY) for a in new_policy["assignments"]} - {None}
    assert used and used <= {f["id"] for f in filters}
    assert len(new_policy["assignments"]) == len(policy["assignments"])


def test_conditional_access_is_recreated_report_only_unless_asked(admin, sim, tenant_id):
    policies = live(sim, tenant_id, "conditionalAccessPolicies")
    enabled = next((p for p in policies if p["state"] == "enabled"), policies[0])
    if enabled["state"] != "enabled":
        sim.drift(tenant_id, "conditionalAccessPolicies", enabled["id"],
                  patch={"state": "enabled"})
    source = backup(admin, tenant_id, ["namedLocations", "conditionalAccessPolicies"])
    sim.drift(tenant_id, "conditionalAccessPolicies", enabled["id"], op="delete")
    item_ids = [f"conditionalAccessPolicies.{enabled['id']}"]

    run = restore(admin, tenant_id, source["backup_set_id"], dry_run=False, item_ids=item_ids)

    assert run["status"] == "succeeded", run
    [copy] = [p for p in live(sim, tenant_id, "conditionalAccessPolicies")
              if p["displayName"] == enabled["displayName"]]
    assert copy["state"] == "enabledForReportingButNotEnforced"
    cursor = sim.request_cursor()
    again = restore(admin, tenant_id, source["backup_set_id"], dry_run=False,
                    item_ids=item_ids)
    assert [i["action"] for i in admin.items(tenant_id, again["run_id"])] == ["no_change"]
    assert sim.writes(cursor) == []

    enforced = restore(admin, tenant_id, source["backup_set_id"], dry_run=False,
                       item_ids=item_ids, ca_state="as_snapshot")
    assert [i["action"] for i in admin.items(tenant_id, enforced["run_id"])] == ["updated"]
    [copy] = [p for p in live(sim, tenant_id, "conditionalAccessPolicies")
              if p["displayName"] == enabled["displayName"]]
    assert copy["state"] == "enabled"


def test_live_restore_is_audited_with_actor_set_items_and_outcome(admin, sim, tenant_id):
    source = backup(admin, tenant_id, ["deviceConfigurations"])
    policy = live(sim, tenant_id, "deviceConfigurations")[0]
    sim.drift(tenant_id, "deviceConfigurations", policy["id"])
    item_ids = [f"deviceConfigurations.{policy['id']}"]

    run = restore(admin, tenant_id, source["backup_set_id"], dry_run=False, item_ids=item_ids)

    events = [e for e in admin.pages(f"/api/tenants/{tenant_id}/audit")
              if e["run_id"] == run["run_id"]]
    assert [e["action"] for e in events] == ["restore.finished", "restore.started"]
    finished, started = events
    me = admin.ok("GET", f"/api/tenants/{tenant_id}/runs/{run['run_id']}")["requested_by"]
    assert {finished["actor"], started["actor"]} == {me}
    assert started["details"]["item_ids"] == item_ids
    assert started["details"]["backup_set_id"] == source["backup_set_id"]
    assert finished["outcome"] == "succeeded"
    assert finished["details"]["counts"]["succeeded"] == 1
    assert finished["details"]["pre_restore_backup_set_id"] == run["pre_restore_backup_set_id"]


def test_one_deleted_object_of_every_type_is_recreated_and_references_follow(admin, sim,
                                                                              tenant_id):
    from shared.graph import CATALOG, supported_type

    source = backup(admin, tenant_id)
    deleted: dict[str, dict] = {}
    for entry in (e for e in CATALOG if e.creatable):
        candidates = [o for o in live(sim, tenant_id, entry.key) if entry.captures(o)
                      and entry.can_create(o)
                      and not (entry.content_required and entry.content_required(o))]
        if not candidates and entry.content_required is not None:
            continue  # its create needs content no backup holds: left in place
        assert candidates, entry.key
        deleted[entry.key] = candidates[-1]
        sim.drift(tenant_id, entry.path, candidates[-1]["id"], op="delete")

    run = restore(admin, tenant_id, source["backup_set_id"], dry_run=False,
                  ca_state="as_snapshot", create_missing_groups=True)

    assert run["status"] == "succeeded", run
    items = by_policy(admin.items(tenant_id, run["run_id"]))
    renamed = {}
    for key, gone in deleted.items():
        assert items[gone["id"]]["action"] == "created", (key, items[gone["id"]])
        name_field = supported_type(key).name_field
        [copy] = [o for o in live(sim, tenant_id, key) if o[name_field] == gone[name_field]]
        renamed[gone["id"]] = copy["id"]
    assert matches_snapshot(admin, sim, tenant_id, source["backup_set_id"],
                            [e.key for e in CATALOG if e.creatable], renamed=renamed) == []
    cursor = sim.request_cursor()
    again = restore(admin, tenant_id, source["backup_set_id"], dry_run=False,
                    ca_state="as_snapshot", create_missing_groups=True)
    outcomes = {(i["action"], (i.get("error") or {}).get("code"))
                for i in admin.items(tenant_id, again["run_id"])}
    assert outcomes == {("no_change", None), ("skipped", "not_restorable")}  # the APNs cert
    assert sim.writes(cursor) == []


def test_a_recreate_whose_follow_up_write_fails_is_not_created_twice(admin, sim, tenant_id):
    policy_type = "groupPolicyConfigurations"
    source = backup(admin, tenant_id, [policy_type])
    gone = next(o for o in live(sim, tenant_id, policy_type) if o.get("definitionValues"))
    sim.drift(tenant_id, collection(policy_type), gone["id"], op="delete")
    # The POST that recreates it succeeds; the definition values written next fail once
    # (a POST is not retried by the client), so the whole batch is retried by the run.
    rule = sim.add_fault("500", tenant=tenant_id, method="POST", count=1,
                         path_prefix=f"/beta/deviceManagement/{policy_type}/")

    run = restore(admin, tenant_id, source["backup_set_id"], dry_run=False,
                  item_ids=[f"{policy_type}.{gone['id']}"])

    assert next(f for f in sim.faults() if f["id"] == rule)["fired"] == 1
    assert run["status"] == "succeeded", run
    [item] = admin.items(tenant_id, run["run_id"])
    assert item["action"] == "created"
    copies = [o for o in live(sim, tenant_id, policy_type)
              if o["displayName"] == gone["displayName"]]
    assert len(copies) == 1
    assert len(copies[0]["definitionValues"]) == len(gone["definitionValues"])


def test_an_object_graph_keeps_refusing_fails_alone_and_the_rest_is_restored(admin, sim,
                                                                             tenant_id):
    types = ["deviceConfigurations", "deviceCompliancePolicies"]
    source = backup(admin, tenant_id, types)
    drifted = {key: live(sim, tenant_id, key)[:2] for key in types}
    for key, objects in drifted.items():
        for o in objects:
            sim.drift(tenant_id, collection(key), o["id"], patch={"description": "drifted"})
    stuck = drifted["deviceConfigurations"][0]
    # Every write of this one object is answered 500 (Intune's answer to a body it dislikes):
    # the client never resends a write that may be half-applied, and the batch's retries
    # meet the same answer.
    sim.add_fault("500", tenant=tenant_id, method="PATCH",
                  path_prefix=f"/beta/deviceManagement/deviceConfigurations/{stuck['id']}")

    run = restore(admin, tenant_id, source["backup_set_id"], dry_run=False)

    assert run["status"] == "partial", run
    items = by_policy(admin.items(tenant_id, run["run_id"]))
    assert run["counts"]["total"] == run["counts"]["processed"] == len(items)
    assert run["counts"]["failed"] == 1
    assert items[stuck["id"]]["status"] == "failed"
    assert items[stuck["id"]]["error"]["code"] == "graph_unavailable"
    restored = [o for objects in drifted.values() for o in objects if o is not stuck]
    assert {items[o["id"]]["action"] for o in restored} == {"updated"}
    assert {o["id"] for key in types for o in live(sim, tenant_id, key)
            if o.get("description") == "drifted"} == {stuck["id"]}


def test_a_name_taken_by_another_kind_is_left_alone_and_the_object_created_beside_it(
        admin, sim, tenant_id):
    policy_type = "deviceConfigurations"
    source = backup(admin, tenant_id, [policy_type])
    gone, other = two_kinds(sim, tenant_id, policy_type)
    sim.drift(tenant_id, policy_type, gone["id"], op="delete")
    # A customer admin names a profile of another platform as the deleted one was named.
    sim.drift(tenant_id, policy_type, other["id"], patch={"displayName": gone["displayName"]})
    before = next(o for o in live(sim, tenant_id, policy_type) if o["id"] == other["id"])

    run = restore(admin, tenant_id, source["backup_set_id"], dry_run=False,
                  item_ids=[f"{policy_type}.{gone['id']}"])

    assert run["status"] == "succeeded", run
    [item] = admin.items(tenant_id, run["run_id"])
    assert item["action"] == "created"
    assert [w["code"] for w in item["warnings"]] == ["name_in_use"]
    named = [o for o in live(sim, tenant_id, policy_type)
             if o["displayName"] == gone["displayName"]]
    assert sorted(o["@odata.type"] for o in named) == sorted(
        [gone["@odata.type"], other["@odata.type"]])
    assert next(o for o in named if o["id"] == other["id"]) == before


def test_a_gone_assignment_filter_fails_the_item_in_the_preview_and_live_before_any_write(
        admin, sim, tenant_id):
    source = backup(admin, tenant_id, ["assignmentFilters", "deviceConfigurations"])
    policy, filter_id = _filtered_policy(sim, tenant_id)
    sim.drift(tenant_id, "deviceConfigurations", policy["id"], patch={"description": "x"})
    sim.drift(tenant_id, "deviceManagement/assignmentFilters", filter_id, op="delete")
    only_policy = [f"deviceConfigurations.{policy['id']}"]

    preview = restore(admin, tenant_id, source["backup_set_id"], item_ids=only_policy)
    cursor = sim.request_cursor()
    run = restore(admin, tenant_id, source["backup_set_id"], dry_run=False,
                  item_ids=only_policy)

    for outcome in (preview, run):
        [item] = admin.items(tenant_id, outcome["run_id"])
        assert (item["status"], item["error"]["code"]) == ("failed", "missing_reference")
        assert filter_id in item["error"]["message"]
    assert sim.writes(cursor) == []
    # With the filter in the selection, the restore brings it back first: nothing fails.
    whole = restore(admin, tenant_id, source["backup_set_id"],
                    item_ids=[*only_policy, f"assignmentFilters.{filter_id}"])
    assert {i["action"] for i in admin.items(tenant_id, whole["run_id"])} == {
        "would_create", "would_update"}
