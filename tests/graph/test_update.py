"""update_item: the write paths with special cases (PUT settings, compliance actions, admin
template values, localized messages, targeted apps, CA state) make live match a snapshot."""

from __future__ import annotations

import copy

import pytest

from shared.graph import (
    create_item,
    diff,
    fetch_snapshot,
    list_items,
    supported_type,
    to_update_payload,
    update_item,
)

pytestmark = pytest.mark.anyio


async def _first(client, tenant, key, name=None):
    refs = await list_items(tenant, key, client=client)
    ref = next(r for r in refs if name is None or r.display_name == name)
    return await fetch_snapshot(tenant, key, ref.id, client=client)


async def _update_and_check(client, tenant, key, desired):
    await update_item(tenant, key, desired["id"], desired, ca_state="as_snapshot",
                      client=client)
    live = await fetch_snapshot(tenant, key, desired["id"], client=client)
    assert diff(supported_type(key), live, desired) == []
    return live


async def test_update_settings_catalog_puts_full_settings(client, tenants, graphsim):
    doc = await _first(client, tenants[0], "configurationPolicies", "SC Policy 0001")
    desired = copy.deepcopy(doc)
    desired["description"] = "restored"
    desired["settings"] = desired["settings"][:30]
    desired["settings"][4]["settingInstance"]["simpleSettingValue"]["value"] = "changed"
    cursor = graphsim.request_cursor()
    await _update_and_check(client, tenants[0], "configurationPolicies", desired)
    writes = graphsim.writes(cursor)
    assert [(w["method"], w["path"].rsplit("/", 1)[-1]) for w in writes] == [
        ("PUT", doc["id"])]


async def test_update_compliance_changes_actions_via_schedule_action(client, tenants,
                                                                     graphsim):
    doc = await _first(client, tenants[0], "deviceCompliancePolicies")
    desired = copy.deepcopy(doc)
    desired["scheduledActionsForRule"][0]["scheduledActionConfigurations"][0][
        "gracePeriodHours"] = 48
    cursor = graphsim.request_cursor()
    await _update_and_check(client, tenants[0], "deviceCompliancePolicies", desired)
    paths = [w["path"].rsplit("/", 1)[-1] for w in graphsim.writes(cursor)]
    assert paths == [doc["id"], "scheduleActionsForRules"]
    assert "scheduledActionsForRule" not in to_update_payload(
        supported_type("deviceCompliancePolicies"), desired)


async def test_update_admin_template_adds_updates_and_deletes_definition_values(
        client, tenants):
    doc = await _first(client, tenants[0], "groupPolicyConfigurations")
    desired = copy.deepcopy(doc)
    desired["definitionValues"][0]["enabled"] = not desired["definitionValues"][0]["enabled"]
    dropped = desired["definitionValues"].pop()
    await _update_and_check(client, tenants[0], "groupPolicyConfigurations", desired)
    desired["definitionValues"].append(dropped)  # and back: re-added through "added"
    await _update_and_check(client, tenants[0], "groupPolicyConfigurations", desired)


async def test_update_notification_template_syncs_localized_messages(client, tenants):
    doc = await _first(client, tenants[0], "notificationMessageTemplates")
    desired = copy.deepcopy(doc)
    desired["localizedNotificationMessages"][0]["subject"] = "Changed subject"
    desired["localizedNotificationMessages"].append(
        {"@odata.type": "#microsoft.graph.localizedNotificationMessage",
         "locale": "de-de", "subject": "Nicht konform", "messageTemplate": "Bitte prüfen",
         "isDefault": False})
    await _update_and_check(client, tenants[0], "notificationMessageTemplates", desired)


async def test_update_app_protection_writes_platform_collection_and_apps(client, tenants,
                                                                        graphsim):
    doc = await _first(client, tenants[0], "managedAppPolicies")
    desired = copy.deepcopy(doc)
    desired["pinRequired"] = not desired["pinRequired"]
    desired["apps"] = []
    cursor = graphsim.request_cursor()
    await _update_and_check(client, tenants[0], "managedAppPolicies", desired)
    written = {w["path"].split("/")[3] for w in graphsim.writes(cursor)}
    assert written <= {"iosManagedAppProtections", "androidManagedAppProtections"}


async def test_conditional_access_is_created_report_only_by_default(client, tenants):
    refs = await list_items(tenants[0], "conditionalAccessPolicies", client=client)
    doc = await fetch_snapshot(tenants[0], "conditionalAccessPolicies", refs[0].id,
                               client=client)
    doc["state"] = "enabled"
    created = await create_item(tenants[0], "conditionalAccessPolicies", doc, client=client)
    copy_ = await fetch_snapshot(tenants[0], "conditionalAccessPolicies", created.id,
                                 client=client)
    assert copy_["state"] == "enabledForReportingButNotEnforced"
