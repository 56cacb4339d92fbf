"""The apps area's special shapes, through the real read, assess and write paths against
the simulator: uploaded-content and synced apps, category links, policy set items that name
objects of other types, the policy set update action, Windows app protection's own key."""

from __future__ import annotations

import copy
from collections import Counter

import pytest

from shared.graph import (
    CATALOG,
    assign_item,
    create_item,
    diff,
    fetch_snapshot,
    list_items,
    read_collection,
    restore_levels,
    supported_type,
    update_item,
)
from shared.platform.codes import ErrorCode
from shared.platform.errors import ValidationFailed
from shared.restore.match import assess_batch

pytestmark = pytest.mark.anyio
G = "#microsoft.graph."
APPS = supported_type("mobileApps")
SETS = supported_type("policySets")




async def _snapshot(client, tenant: str, key: str, odata_type: str | None = None,
                    name: str | None = None) -> dict:
    refs = await list_items(tenant, key, client=client)
    ref = next(r for r in refs if (odata_type is None or r.odata_type == odata_type)
               and (name is None or r.display_name == name))
    return await fetch_snapshot(tenant, key, ref.id, client=client)


async def _assess(tenant: str, rtype, snapshot: dict, id_map: dict | None = None):
    [assessment] = await assess_batch(tenant, rtype, [(f"{rtype.key}.{snapshot['id']}",
                                                       snapshot)],
                                      include_assignments=True, ca_state="as_snapshot",
                                      id_map=id_map)
    return assessment


async def test_mobile_apps_win32_gone_live_is_skipped_content_required_but_changed_is_updated(
        client, tenants, graphsim, loop_client):
    tenant = tenants[0]
    win32 = await _snapshot(client, tenant, "mobileApps", G + "win32LobApp")
    graphsim.drift(tenant, "mobileApps", win32["id"], "modify",
                   {"description": "edited in the portal", "notes": "drift"})

    changed = await _assess(tenant, APPS, win32)
    assert (changed.action, changed.write_body) == ("update", True)
    await update_item(tenant, "mobileApps", changed.target_id, changed.desired, client=client)
    live = await fetch_snapshot(tenant, "mobileApps", win32["id"], client=client)
    assert diff(APPS, live, win32) == []  # a PATCH of metadata; create-only ones left out

    graphsim.drift(tenant, "mobileApps", win32["id"], "delete")
    cursor = graphsim.request_cursor()
    gone = await _assess(tenant, APPS, win32)
    assert gone.action == "skip" and gone.error["code"] == ErrorCode.CONTENT_REQUIRED
    assert graphsim.writes(cursor) == []


async def test_mobile_apps_synced_app_gone_live_is_never_created(client, tenants, graphsim,
                                                                loop_client):
    tenant = tenants[0]
    vpp = await _snapshot(client, tenant, "mobileApps", G + "iosVppApp")
    graphsim.drift(tenant, "mobileApps", vpp["id"], "delete")
    cursor = graphsim.request_cursor()

    assessment = await _assess(tenant, APPS, vpp)
    assert assessment.action == "skip"
    assert assessment.error["code"] == ErrorCode.NOT_CREATABLE
    with pytest.raises(ValidationFailed):
        await create_item(tenant, "mobileApps", vpp, client=client)
    assert graphsim.writes(cursor) == []
    web = await _snapshot(client, tenant, "mobileApps", G + "webApp")
    assert APPS.can_create(web) and not APPS.content_required(web)


async def test_mobile_apps_recreated_category_gets_its_new_id_in_the_apps_categories(
        client, tenants, graphsim, loop_client):
    tenant = tenants[0]
    levels = [key for level in restore_levels() for key in level]
    assert levels.index("mobileAppCategories") < levels.index("mobileApps")
    app = await _snapshot(client, tenant, "mobileApps", G + "webApp")
    category = await _snapshot(client, tenant, "mobileAppCategories", name="PV Category 01")
    assert category["id"] in {c["id"] for c in app["categories"]}
    graphsim.drift(tenant, "mobileAppCategories", category["id"], "delete")
    linked = await fetch_snapshot(tenant, "mobileApps", app["id"], client=client)
    assert category["id"] not in {c["id"] for c in linked["categories"]}  # the link went too

    recreated = await create_item(tenant, "mobileAppCategories", category, client=client)
    id_map = {"mobileAppCategories": {category["id"]: recreated.id}}
    assessment = await _assess(tenant, APPS, app, id_map)
    assert assessment.action == "update"
    assert {c["path"].split("[")[0] for c in assessment.diff} == {"categories"}
    await update_item(tenant, "mobileApps", assessment.target_id, assessment.desired,
                      client=client)

    live = await fetch_snapshot(tenant, "mobileApps", app["id"], client=client)
    wanted = {id_map["mobileAppCategories"].get(c["id"], c["id"]) for c in app["categories"]}
    assert {c["id"] for c in live["categories"]} == wanted
    assert recreated.id in wanted
    assert (await _assess(tenant, APPS, app, id_map)).action == "no_change"


async def test_policy_sets_item_payload_ids_are_remapped_through_several_types_id_maps(
        client, tenants, graphsim, loop_client):
    tenant = tenants[0]
    policy_set = await _snapshot(client, tenant, "policySets")
    web = await _snapshot(client, tenant, "mobileApps", G + "webApp")
    for item in policy_set["items"]:
        if item["@odata.type"] == G + "mobileAppPolicySetItem":
            item["payloadId"] = web["id"]  # a creatable app, so it can be recreated below
    by_kind = {i["@odata.type"]: i["payloadId"] for i in policy_set["items"]}
    id_map: dict[str, dict[str, str]] = {}
    for kind, key in (("mobileAppPolicySetItem", "mobileApps"),
                      ("deviceConfigurationPolicySetItem", "deviceConfigurations"),
                      ("managedAppProtectionPolicySetItem", "managedAppPolicies")):
        old = by_kind[G + kind]
        original = await fetch_snapshot(tenant, key, old, client=client)
        copy_ = await create_item(tenant, key, original, ca_state="as_snapshot", client=client)
        id_map[key] = {old: copy_.id}
    graphsim.drift(tenant, "policySets", policy_set["id"], "delete")

    assessment = await _assess(tenant, SETS, policy_set, id_map)
    assert assessment.action == "create"
    new = await create_item(tenant, "policySets", assessment.desired, client=client)

    live = await fetch_snapshot(tenant, "policySets", new.id, client=client)
    remapped = {old: new_id for ids in id_map.values() for old, new_id in ids.items()}
    assert sorted(i["payloadId"] for i in live["items"]) == sorted(
        remapped.get(p, p) for p in by_kind.values())
    assert len(remapped) == 3 and set(remapped.values()) <= {i["payloadId"]
                                                               for i in live["items"]}
    assert {i["errorCode"] for i in live["items"]} == {"noError"}  # each names a live object


async def test_policy_sets_update_goes_through_the_update_action(client, tenants, graphsim):
    tenant = tenants[0]
    policy_set = await _snapshot(client, tenant, "policySets")
    scripts = await list_items(tenant, "deviceManagementScripts", client=client)
    desired = copy.deepcopy(policy_set)
    desired["description"] = "restored"
    app_item = next(i for i in desired["items"]
                    if i["@odata.type"] == G + "mobileAppPolicySetItem")
    dropped = next(i for i in desired["items"] if i is not app_item)
    desired["items"].remove(dropped)
    app_item["intent"] = "available"
    desired["items"].append({"@odata.type": G + "deviceManagementScriptPolicySetItem",
                             "payloadId": scripts[0].id, "guidedDeploymentTags": []})
    desired["assignments"] = [{"@odata.type": G + "policySetAssignment", "target": {
        "@odata.type": G + "allDevicesAssignmentTarget",
        "deviceAndAppManagementAssignmentFilterId": None,
        "deviceAndAppManagementAssignmentFilterType": "none"}}]
    cursor = graphsim.request_cursor()

    await update_item(tenant, "policySets", policy_set["id"], desired, client=client)
    await assign_item(tenant, "policySets", policy_set["id"], desired["assignments"],
                      client=client)

    item = f"/beta/deviceAppManagement/policySets/{policy_set['id']}"
    assert [(w["method"], w["path"]) for w in graphsim.writes(cursor)] == [
        ("PATCH", item), ("POST", f"{item}/update"), ("POST", f"{item}/update")]
    live = await fetch_snapshot(tenant, "policySets", policy_set["id"], client=client)
    assert diff(SETS, live, desired) == []
    assert dropped["payloadId"] not in {i["payloadId"] for i in live["items"]}
    cursor = graphsim.request_cursor()
    await update_item(tenant, "policySets", policy_set["id"], desired, client=client)
    assert [w["method"] for w in graphsim.writes(cursor)] == ["PATCH"]  # items already match


async def test_backup_lists_windows_app_protection_once_under_its_own_key(client, tenants,
                                                                        graphsim):
    tenant = tenants[0]
    windows = {o["id"] for o in graphsim.objects(tenant, "windowsManagedAppProtections")}
    assert windows
    captured: Counter[str] = Counter()
    keys: dict[str, set[str]] = {}
    for rtype in CATALOG:
        async for page in read_collection(tenant, rtype.key, client=client):
            for result in page:
                assert result.error is None, (rtype.key, result.item_id)
                captured[result.item_id] += 1
                keys.setdefault(result.item_id, set()).add(rtype.key)
    assert all(captured[i] == 1 for i in windows)
    assert all(keys[i] == {"windowsManagedAppProtections"} for i in windows)
    listed = await list_items(tenant, "managedAppPolicies", client=client)
    assert {r.odata_type for r in listed} == {G + "iosManagedAppProtection",
                                              G + "androidManagedAppProtection"}
