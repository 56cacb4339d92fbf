"""The special shapes of the configuration area's §7.1 types, through the real path: the
product's catalog engine and restore matching against the simulator.

Intents are created from their template and get their settings through ``updateSettings``;
restores that recreate a reusable setting or a compliance script rewrite the policies that
point at them before writing those; terms and conditions are assigned entry by entry (Graph
has no ``/assign`` for them); a reusable setting's ``settingInstance`` is only served when
selected.
"""

from __future__ import annotations

import pytest

from shared.graph import (
    assign_item,
    create_item,
    fetch_snapshot,
    list_items,
    restore_levels,
    supported_type,
    update_item,
)
from shared.graph.payloads import referenced_ids
from shared.platform.codes import ErrorCode
from shared.platform.errors import GraphBadRequest
from shared.restore.match import assess_batch

pytestmark = pytest.mark.anyio

REFERENCE = "#microsoft.graph.deviceManagementConfigurationReferenceSettingValue"




def _writes(graphsim, cursor: int) -> list[tuple[str, str]]:
    return [(e["method"], e["path"].split("/", 2)[2]) for e in graphsim.requests(cursor)
            if e["is_write"] and e["kind"] == "graph"]


async def _documents(client, tenant: str, key: str) -> list[dict]:
    return [await fetch_snapshot(tenant, key, r.id, client=client)
            for r in await list_items(tenant, key, client=client)]


def _settings_by_definition(document: dict) -> dict[str, str]:
    return {s["definitionId"]: s["valueJson"] for s in document["settings"]}


async def test_intents_create_is_create_instance_then_update_settings(client, tenants,
                                                                      graphsim):
    tenant = tenants[0]
    [original] = await _documents(client, tenant, "intents")
    assert original["settings"] and original["templateId"]
    cursor = graphsim.request_cursor()
    created = await create_item(tenant, "intents", original, client=client)
    writes = _writes(graphsim, cursor)
    assert writes == [
        ("POST", f"deviceManagement/templates/{original['templateId']}/createInstance"),
        ("POST", f"deviceManagement/intents/{created.id}/updateSettings"),
    ]
    copy = await fetch_snapshot(tenant, "intents", created.id, client=client)
    assert copy["templateId"] == original["templateId"]
    assert _settings_by_definition(copy) == _settings_by_definition(original)


async def test_intents_update_patches_names_and_writes_settings_by_action(client, tenants,
                                                                          graphsim):
    tenant = tenants[0]
    [original] = await _documents(client, tenant, "intents")
    drifted = [{**s, "valueJson": "null"} for s in original["settings"]]
    graphsim.drift(tenant, "intents", original["id"], "modify",
                   {"displayName": "renamed", "settings": drifted})
    cursor = graphsim.request_cursor()
    # templateId is read-only on the intent: the PATCH would be refused if it were sent
    await update_item(tenant, "intents", original["id"], original, client=client)
    assert _writes(graphsim, cursor) == [
        ("PATCH", f"deviceManagement/intents/{original['id']}"),
        ("POST", f"deviceManagement/intents/{original['id']}/updateSettings"),
    ]
    back = await fetch_snapshot(tenant, "intents", original["id"], client=client)
    assert back["displayName"] == original["displayName"]
    assert _settings_by_definition(back) == _settings_by_definition(original)
    assert {s["id"] for s in back["settings"]} == {s["id"] for s in original["settings"]}


async def test_reusable_setting_recreated_restore_rewrites_the_policy_reference(
        client, tenants, graphsim, loop_client):
    tenant = tenants[0]
    policies = await _documents(client, tenant, "configurationPolicies")
    rtype = supported_type("configurationPolicies")
    [(policy, old_id)] = [(p, i) for p in policies for ref, i in referenced_ids(rtype, p)
                          if ref.target == "reusablePolicySettings"]
    reusable = await fetch_snapshot(tenant, "reusablePolicySettings", old_id, client=client)
    graphsim.drift(tenant, "reusablePolicySettings", old_id, "delete")
    with pytest.raises(GraphBadRequest):  # Graph refuses a value naming a missing setting
        await update_item(tenant, "configurationPolicies", policy["id"], policy, client=client)

    levels = [next(n for n, keys in enumerate(restore_levels()) if k in keys)
              for k in ("reusablePolicySettings", "configurationPolicies")]
    assert levels[0] < levels[1]  # the reusable setting is written first
    [recreate] = await assess_batch(tenant, supported_type("reusablePolicySettings"),
                                    [("r", reusable)], include_assignments=True,
                                    ca_state="report_only")
    assert recreate.action == "create"
    new = await create_item(tenant, "reusablePolicySettings", recreate.desired, client=client)
    id_map = {"reusablePolicySettings": {old_id: new.id}}
    [assessed] = await assess_batch(tenant, rtype, [("p", policy)], include_assignments=True,
                                    ca_state="report_only", id_map=id_map)
    assert assessed.action == "update" and assessed.write_body
    assert [i for r, i in referenced_ids(rtype, assessed.desired)
            if r.target == "reusablePolicySettings"] == [new.id]
    await update_item(tenant, "configurationPolicies", policy["id"], assessed.desired,
                      client=client)
    live = await fetch_snapshot(tenant, "configurationPolicies", policy["id"], client=client)
    assert [i for r, i in referenced_ids(rtype, live)
            if r.target == "reusablePolicySettings"] == [new.id]
    copy = await fetch_snapshot(tenant, "reusablePolicySettings", new.id, client=client)
    assert copy["settingInstance"] == reusable["settingInstance"]


async def test_compliance_script_recreated_restore_rewrites_the_policy_reference(
        client, tenants, graphsim, loop_client):
    tenant = tenants[0]
    rtype = supported_type("deviceCompliancePolicies")
    policies = await _documents(client, tenant, "deviceCompliancePolicies")
    [(policy, old_id)] = [(p, i) for p in policies for ref, i in referenced_ids(rtype, p)
                          if ref.target == "deviceComplianceScripts"]
    script = await fetch_snapshot(tenant, "deviceComplianceScripts", old_id, client=client)
    assert script["detectionScriptContent"]  # the list leaves it out; the item GET has it
    graphsim.drift(tenant, "deviceComplianceScripts", old_id, "delete")
    graphsim.drift(tenant, "deviceCompliancePolicies", policy["id"], "delete")
    with pytest.raises(GraphBadRequest):
        await create_item(tenant, "deviceCompliancePolicies", policy, client=client)

    [recreate] = await assess_batch(tenant, supported_type("deviceComplianceScripts"),
                                    [("s", script)], include_assignments=True,
                                    ca_state="report_only")
    new = await create_item(tenant, "deviceComplianceScripts", recreate.desired, client=client)
    id_map = {"deviceComplianceScripts": {old_id: new.id}}
    [assessed] = await assess_batch(tenant, rtype, [("c", policy)], include_assignments=True,
                                    ca_state="report_only", id_map=id_map)
    assert assessed.action == "create"
    assert assessed.desired["deviceCompliancePolicyScript"]["deviceComplianceScriptId"] \
        == new.id
    created = await create_item(tenant, "deviceCompliancePolicies", assessed.desired,
                                client=client)
    live = await fetch_snapshot(tenant, "deviceCompliancePolicies", created.id, client=client)
    assert live["deviceCompliancePolicyScript"] == {
        **policy["deviceCompliancePolicyScript"], "deviceComplianceScriptId": new.id}


async def test_reusable_setting_instance_is_served_only_when_selected(client, tenants):
    tenant = tenants[0]
    [ref, *_] = await list_items(tenant, "reusablePolicySettings", client=client)
    plain = await client.request(tenant, "GET", f"deviceManagement/reusablePolicySettings/"
                                 f"{ref.id}", version="beta")
    assert "settingInstance" not in plain.body
    document = await fetch_snapshot(tenant, "reusablePolicySettings", ref.id, client=client)
    assert document["settingInstance"]["settingDefinitionId"]


async def test_terms_assignments_are_written_entry_by_entry_without_assign(client, tenants,
                                                                           graphsim):
    tenant = tenants[0]
    [terms] = await _documents(client, tenant, "termsAndConditions")
    [wanted] = terms["assignments"]
    groups = [g["id"] for g in graphsim.objects(tenant, "groups")]
    other = {"target": {**wanted["target"], "@odata.type": "#microsoft.graph."
                        "groupAssignmentTarget",
                        "groupId": next(g for g in groups
                                        if g != wanted["target"].get("groupId"))}}
    base = f"deviceManagement/termsAndConditions/{terms['id']}/assignments"
    cursor = graphsim.request_cursor()
    await assign_item(tenant, "termsAndConditions", terms["id"], [other], client=client)
    writes = _writes(graphsim, cursor)
    assert sorted(writes) == [("DELETE", f"{base}/{wanted['id']}"), ("POST", base)]
    cursor = graphsim.request_cursor()
    await assign_item(tenant, "termsAndConditions", terms["id"], [other], client=client)
    assert _writes(graphsim, cursor) == []  # already as wanted: nothing written
    back = await fetch_snapshot(tenant, "termsAndConditions", terms["id"], client=client)
    assert [a["target"] for a in back["assignments"]] == [other["target"]]


async def test_compliance_v2_update_replaces_actions_through_set_scheduled_actions(
        client, tenants, graphsim):
    tenant = tenants[0]
    [policy] = await _documents(client, tenant, "compliancePolicies")
    wanted = [{**rule, "scheduledActionConfigurations": [
        {**action, "gracePeriodHours": 72} for action in rule["scheduledActionConfigurations"]]}
        for rule in policy["scheduledActionsForRule"]]
    cursor = graphsim.request_cursor()
    await update_item(tenant, "compliancePolicies", policy["id"],
                      {**policy, "scheduledActionsForRule": wanted}, client=client)
    path = f"deviceManagement/compliancePolicies/{policy['id']}"
    assert _writes(graphsim, cursor) == [("PUT", path), ("POST", f"{path}/setScheduledActions")]
    back = await fetch_snapshot(tenant, "compliancePolicies", policy["id"], client=client)
    assert [a["gracePeriodHours"] for r in back["scheduledActionsForRule"]
            for a in r["scheduledActionConfigurations"]] == [72]


async def test_bios_profile_without_its_file_is_content_required_when_gone(
        client, tenants, graphsim, loop_client):
    tenant = tenants[0]
    [profile] = await _documents(client, tenant, "hardwareConfigurations")
    assert profile["configurationFileContent"]
    graphsim.drift(tenant, "hardwareConfigurations", profile["id"], "delete")
    rtype = supported_type("hardwareConfigurations")
    with_file, without = await assess_batch(
        tenant, rtype, [("a", profile), ("b", {**profile, "id": "b",
                                               "configurationFileContent": None})],
        include_assignments=True, ca_state="report_only")
    assert with_file.action == "create"
    assert without.action == "skip" and without.error["code"] == ErrorCode.CONTENT_REQUIRED
