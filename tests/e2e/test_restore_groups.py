"""Restore and groups (DESIGN §7.1, §8): a missing group never widens what a policy reaches,
gone groups come back only with ``create_missing_groups``, mail-enabled groups never."""

from __future__ import annotations

from tests.e2e.restore_support import backup, by_policy, live, restore

G = "#microsoft.graph."
POLICY = "deviceConfigurations"


def _groups(sim, tenant_id: str, *, mail_enabled: bool = False) -> list[dict]:
    return [g for g in live(sim, tenant_id, "groups")
            if bool(g.get("mailEnabled")) == mail_enabled]


def _assigned(sim, tenant_id: str, *targets: tuple[str, str]) -> dict:
    """A device configuration assigned to exactly ``targets`` ((target type, group id))."""
    policy = live(sim, tenant_id, POLICY)[0]
    sim.drift(tenant_id, POLICY, policy["id"], op="reassign", patch={"assignments": [
        {"@odata.type": G + "deviceConfigurationAssignment", "id": f"{policy['id']}_{gid}",
         "target": {"@odata.type": G + kind, "groupId": gid,
                    "deviceAndAppManagementAssignmentFilterId": None,
                    "deviceAndAppManagementAssignmentFilterType": "none"}}
        for kind, gid in targets]})
    return policy


def _assigned_groups(sim, tenant_id: str, name: str) -> set[tuple[str, str]]:
    [policy] = [p for p in live(sim, tenant_id, POLICY) if p["displayName"] == name]
    return {(a["target"]["@odata.type"].rsplit(".", 1)[1], a["target"]["groupId"])
            for a in policy["assignments"]}


def test_restore_policy_assigned_to_a_deleted_group_leaves_the_include_out(admin, sim,
                                                                           tenant_id):
    gone, kept = _groups(sim, tenant_id)[:2]
    policy = _assigned(sim, tenant_id, ("groupAssignmentTarget", gone["id"]),
                       ("groupAssignmentTarget", kept["id"]))
    source = backup(admin, tenant_id, ["groups", POLICY])
    sim.drift(tenant_id, "groups", gone["id"], op="delete")
    selection = [f"groups.{gone['id']}", f"{POLICY}.{policy['id']}"]

    preview = restore(admin, tenant_id, source["backup_set_id"], item_ids=selection)
    run = restore(admin, tenant_id, source["backup_set_id"], dry_run=False, item_ids=selection)

    assert run["status"] == "succeeded", run
    for outcome, (group_action, policy_action) in (
            (preview, ("would_skip", "would_update")), (run, ("skipped", "updated"))):
        items = by_policy(admin.items(tenant_id, outcome["run_id"]))
        assert items[gone["id"]]["action"] == group_action
        assert items[gone["id"]]["error"]["code"] == "not_creatable"
        assert "create_missing_groups" in items[gone["id"]]["error"]["message"]
        assert items[policy["id"]]["action"] == policy_action
        assert items[policy["id"]]["status"] == "succeeded"
        [warning] = items[policy["id"]]["warnings"]
        assert warning["code"] == "missing_reference" and gone["id"] in warning["message"]
    assert _assigned_groups(sim, tenant_id, policy["displayName"]) == {
        ("groupAssignmentTarget", kept["id"])}
    assert gone["id"] not in {g["id"] for g in live(sim, tenant_id, "groups")}


def test_restore_policy_excluding_a_deleted_group_fails_and_is_not_written(admin, sim,
                                                                           tenant_id):
    gone, kept = _groups(sim, tenant_id)[:2]
    policy = _assigned(sim, tenant_id, ("groupAssignmentTarget", kept["id"]),
                       ("exclusionGroupAssignmentTarget", gone["id"]))
    source = backup(admin, tenant_id, [POLICY])
    sim.drift(tenant_id, "groups", gone["id"], op="delete")
    sim.drift(tenant_id, POLICY, policy["id"], op="delete")  # a restore would recreate it
    selection = [f"{POLICY}.{policy['id']}"]

    preview = restore(admin, tenant_id, source["backup_set_id"], item_ids=selection)
    cursor = sim.request_cursor()
    run = restore(admin, tenant_id, source["backup_set_id"], dry_run=False, item_ids=selection)

    assert run["status"] == "failed", run
    for outcome in (preview, run):
        [item] = admin.items(tenant_id, outcome["run_id"])
        assert (item["action"], item["error"]["code"]) == ("failed", "missing_exclusion")
        assert gone["id"] in item["error"]["message"]
    assert sim.writes(cursor) == []
    assert policy["displayName"] not in {p["displayName"] for p in live(sim, tenant_id, POLICY)}


def test_restore_with_create_missing_groups_recreates_the_group_and_reassigns_to_it(
        admin, sim, tenant_id):
    gone, kept = _groups(sim, tenant_id)[:2]
    policy = _assigned(sim, tenant_id, ("groupAssignmentTarget", gone["id"]),
                       ("exclusionGroupAssignmentTarget", kept["id"]))
    source = backup(admin, tenant_id, ["groups", POLICY])
    sim.drift(tenant_id, "groups", gone["id"], op="delete")
    selection = [f"groups.{gone['id']}", f"{POLICY}.{policy['id']}"]

    preview = restore(admin, tenant_id, source["backup_set_id"], item_ids=selection,
                      create_missing_groups=True)
    run = restore(admin, tenant_id, source["backup_set_id"], dry_run=False, item_ids=selection,
                  create_missing_groups=True)

    assert run["status"] == "succeeded", run
    for outcome, (group_action, policy_action) in (
            (preview, ("would_create", "would_update")), (run, ("created", "updated"))):
        items = by_policy(admin.items(tenant_id, outcome["run_id"]))
        assert items[gone["id"]]["action"] == group_action
        assert items[policy["id"]]["action"] == policy_action
        assert items[policy["id"]]["warnings"] == []
    [copy] = [g for g in live(sim, tenant_id, "groups") if g["displayName"] == gone["displayName"]]
    assert copy["id"] != gone["id"]
    assert {k: copy[k] for k in ("mailNickname", "securityEnabled", "groupTypes")} == {
        k: gone[k] for k in ("mailNickname", "securityEnabled", "groupTypes")}
    assert _assigned_groups(sim, tenant_id, policy["displayName"]) == {
        ("groupAssignmentTarget", copy["id"]), ("exclusionGroupAssignmentTarget", kept["id"])}


def test_restore_never_creates_a_deleted_mail_enabled_group(admin, sim, tenant_id):
    [mail_group] = _groups(sim, tenant_id, mail_enabled=True)
    source = backup(admin, tenant_id, ["groups"])
    sim.drift(tenant_id, "groups", mail_group["id"], op="delete")
    cursor = sim.request_cursor()

    run = restore(admin, tenant_id, source["backup_set_id"], dry_run=False,
                  item_ids=[f"groups.{mail_group['id']}"], create_missing_groups=True)

    assert run["status"] == "succeeded", run
    [item] = admin.items(tenant_id, run["run_id"])
    assert (item["action"], item["error"]["code"]) == ("skipped", "not_creatable")
    assert sim.writes(cursor) == []
    assert mail_group["displayName"] not in {g["displayName"]
                                             for g in live(sim, tenant_id, "groups")}
