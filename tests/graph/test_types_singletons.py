"""Singletons (DESIGN §7.1): one item per tenant whose id is the key, read with one GET, put
back by an update at their path — never created, never deleted — through the simulator."""

from __future__ import annotations

import copy

import pytest

from shared.graph import (
    CATALOG,
    diff,
    fetch_snapshot,
    fetch_snapshots,
    list_items,
    read_collection,
    rewrite_references,
    supported_type,
    update_item,
)
from shared.graph.resource import Restore
from shared.platform.codes import ErrorCode
from shared.restore.match import assess_batch

pytestmark = pytest.mark.anyio



SINGLETONS = [e for e in CATALOG if e.singleton]
G = "#microsoft.graph."
METHODS = "authenticationMethodConfigurations"
CTAP = "crossTenantAccessPolicy"

# A change an admin could make to each restorable singleton, as a patch of the stored object.
DRIFT = {
    "deviceManagementSettings": lambda o: {"settings": {**o["settings"],
                                                        "secureByDefault": True,
                                                        "deviceComplianceCheckinThresholdDays": 3}},
    "authenticationMethodsPolicy": lambda o: {"registrationEnforcement": {
        "authenticationMethodsRegistrationCampaign": {
            **o["registrationEnforcement"]["authenticationMethodsRegistrationCampaign"],
            "snoozeDurationInDays": 7}}},
    "authorizationPolicy": lambda o: {"allowInvitesFrom": "none"},
    "identitySecurityDefaultsEnforcementPolicy": lambda o: {"isEnabled": not o["isEnabled"]},
    "deviceRegistrationPolicy": lambda o: {"userDeviceQuota": 5},
    CTAP: lambda o: {"allowedCloudEndpoints": ["partner.microsoftonline.cn"]},
}


def _writes(graphsim, cursor: int) -> list[tuple[str, str]]:
    """(method, path after the version) of every Graph write since ``cursor``."""
    return [(w["method"], w["path"].split("/", 2)[2]) for w in graphsim.writes(cursor)
            if w["kind"] == "graph"]


def _stored(graphsim, tenant: str, key: str) -> dict:
    [obj] = graphsim.objects(tenant, key)
    return obj


async def _assess_one(tenant: str, key: str, snapshot: dict):
    [a] = await assess_batch(tenant, supported_type(key), [(f"{key}.{key}", snapshot)],
                             include_assignments=True, ca_state="report_only")
    return a


def test_singletons_are_the_seven_keys_and_never_creatable():
    assert {e.key for e in SINGLETONS} == {
        "deviceManagementSettings", "applePushNotificationCertificate",
        "authenticationMethodsPolicy", "authorizationPolicy",
        "identitySecurityDefaultsEnforcementPolicy", "deviceRegistrationPolicy", CTAP}
    assert not any(e.creatable or e.has_assignments for e in SINGLETONS)
    assert supported_type("applePushNotificationCertificate").restore is Restore.NONE


async def test_singletons_whole_tenant_read_gives_one_item_keyed_by_the_key(client, tenants,
                                                                            graphsim):
    for rtype in SINGLETONS:
        refs = await list_items(tenants[0], rtype.key, client=client)
        assert [r.id for r in refs] == [rtype.key]
        cursor = graphsim.request_cursor()
        pages = [page async for page in read_collection(tenants[0], rtype.key, client=client)]
        assert [[r.item_id for r in page] for page in pages] == [[rtype.key]], rtype.key
        [[result]] = pages
        assert result.error is None and result.document["id"] == rtype.key
        gets = [e for e in graphsim.requests(cursor) if e["kind"] == "graph"]
        extra = len(rtype.singleton_parts) + (1 if rtype.key == CTAP else 0)  # partners
        assert len(gets) == 1 + extra, (rtype.key, [e["path"] for e in gets])
        assert "@odata.context" not in str(result.document)
    settings = await fetch_snapshot(tenants[0], "deviceManagementSettings",
                                    "deviceManagementSettings", client=client)
    assert settings == {**_stored(graphsim, tenants[0], "deviceManagementSettings")["settings"],
                        "id": "deviceManagementSettings"}
    policy = await fetch_snapshot(tenants[0], "authenticationMethodsPolicy",
                                  "authenticationMethodsPolicy", client=client)
    assert {c["id"] for c in policy[METHODS]} >= {"Fido2", "Sms", "MicrosoftAuthenticator"}
    access = await fetch_snapshot(tenants[0], CTAP, CTAP, client=client)
    assert access["default"]["isServiceDefault"] is True and len(access["partners"]) == 1


async def test_singleton_fetch_of_another_id_is_not_found_without_a_request(client, tenants,
                                                                          graphsim):
    cursor = graphsim.request_cursor()
    [other, mine] = await fetch_snapshots(tenants[0], "authorizationPolicy",
                                          ["not-the-key", "authorizationPolicy"], client=client)
    assert other.document is None and other.error.code == ErrorCode.GRAPH_NOT_FOUND
    assert mine.document["allowInvitesFrom"] == "everyone"
    assert len([e for e in graphsim.requests(cursor) if e["kind"] == "graph"]) == 1


@pytest.mark.parametrize("key", sorted(DRIFT))
async def test_singleton_changed_is_put_back_by_an_update_never_post_or_delete(
        loop_client, key, client, tenants, graphsim):
    rtype = supported_type(key)
    backup = await fetch_snapshot(tenants[0], key, key, client=client)
    graphsim.drift(tenants[0], key, key, "modify", DRIFT[key](_stored(graphsim, tenants[0], key)))

    a = await _assess_one(tenants[0], key, backup)
    assert (a.action, a.target_id, a.write_body, a.write_assignments) == (
        "update", key, True, False)
    cursor = graphsim.request_cursor()
    await update_item(tenants[0], key, a.target_id, a.desired, client=client)

    method = "PUT" if key == "deviceRegistrationPolicy" else "PATCH"
    assert _writes(graphsim, cursor) == [(method, rtype.path)]
    live = await fetch_snapshot(tenants[0], key, key, client=client)
    assert diff(rtype, live, backup) == []
    assert (await _assess_one(tenants[0], key, backup)).action == "no_change"


async def test_device_management_settings_are_written_through_the_parent(client, tenants,
                                                                          graphsim):
    backup = await fetch_snapshot(tenants[0], "deviceManagementSettings",
                                  "deviceManagementSettings", client=client)
    stored = _stored(graphsim, tenants[0], "deviceManagementSettings")
    graphsim.drift(tenants[0], "deviceManagementSettings", "deviceManagementSettings",
                   "modify", DRIFT["deviceManagementSettings"](stored))
    cursor = graphsim.request_cursor()
    await update_item(tenants[0], "deviceManagementSettings", "deviceManagementSettings",
                      backup, client=client)
    [write] = graphsim.writes(cursor)
    assert (write["method"], write["path"]) == ("PATCH", "/beta/deviceManagement")
    after = _stored(graphsim, tenants[0], "deviceManagementSettings")
    assert after["settings"] == stored["settings"]
    assert after["intuneAccountId"] == stored["intuneAccountId"]


async def test_apple_push_certificate_is_skipped_not_restorable_without_graph(
        loop_client, client, tenants, graphsim):
    rtype = supported_type("applePushNotificationCertificate")
    backup = await fetch_snapshot(tenants[0], rtype.key, rtype.key, client=client)
    assert backup["expirationDateTime"] and "certificate" in rtype.secrets
    cursor = graphsim.request_cursor()
    a = await _assess_one(tenants[0], rtype.key, backup)
    assert (a.action, a.error["code"]) == ("skip", ErrorCode.NOT_RESTORABLE)
    assert graphsim.requests(cursor) == []


async def test_singleton_graph_does_not_serve_is_not_restorable_and_never_matched_by_name(
        loop_client, client, tenants, graphsim):
    backup = await fetch_snapshot(tenants[0], "authorizationPolicy", "authorizationPolicy",
                                  client=client)
    graphsim.add_fault("status", status=404, method="GET",
                       path_prefix="/v1.0/policies/authorizationPolicy")
    cursor = graphsim.request_cursor()
    a = await _assess_one(tenants[0], "authorizationPolicy", backup)
    assert (a.action, a.error["code"]) == ("skip", ErrorCode.NOT_RESTORABLE)
    paths = [e["path"] for e in graphsim.requests(cursor) if e["kind"] == "graph"]
    assert paths == ["/v1.0/policies/authorizationPolicy"]  # one GET, no $filter by name


async def test_cross_tenant_partners_added_removed_and_changed_are_put_back(
        loop_client, client, tenants, graphsim):
    stored = _stored(graphsim, tenants[0], CTAP)
    [kept] = stored["partners"]
    second = {**copy.deepcopy(kept), "tenantId": "0e8b5b5d-2d4e-4b52-9d1a-6a3d2f0c1a01",
              "isServiceProvider": False}
    graphsim.drift(tenants[0], CTAP, CTAP, "modify", {"partners": [kept, second]})
    backup = await fetch_snapshot(tenants[0], CTAP, CTAP, client=client)
    added = {**copy.deepcopy(kept), "tenantId": "7a1c4a0e-5f3b-4c8e-8d2a-1b9e0f6c3d02"}
    changed = {**copy.deepcopy(second), "inboundTrust": {**second["inboundTrust"],
                                                         "isMfaAccepted": False}}
    graphsim.drift(tenants[0], CTAP, CTAP, "modify", {"partners": [changed, added]})

    a = await _assess_one(tenants[0], CTAP, backup)
    assert a.action == "update"
    assert {d["path"].split("[")[0] for d in a.diff} == {"partners"}
    cursor = graphsim.request_cursor()
    await update_item(tenants[0], CTAP, CTAP, a.desired, client=client)

    partners = "policies/crossTenantAccessPolicy/partners"
    assert sorted(_writes(graphsim, cursor)) == sorted([
        ("PATCH", "policies/crossTenantAccessPolicy"), ("POST", partners),
        ("PATCH", f"{partners}/{second['tenantId']}"),
        ("DELETE", f"{partners}/{added['tenantId']}")])
    live = await fetch_snapshot(tenants[0], CTAP, CTAP, client=client)
    assert diff(supported_type(CTAP), live, backup) == []


@pytest.mark.parametrize(("tenant_index", "write"), [
    (0, ("POST", "policies/crossTenantAccessPolicy/default/resetToSystemDefault")),
    (1, ("PATCH", "policies/crossTenantAccessPolicy/default"))])
async def test_cross_tenant_default_is_reset_or_patched_back(
        loop_client, tenant_index, write, client, tenants, graphsim):
    tenant = tenants[tenant_index]
    backup = await fetch_snapshot(tenant, CTAP, CTAP, client=client)
    assert backup["default"]["isServiceDefault"] is (tenant_index == 0)  # as seeded
    default = copy.deepcopy(backup["default"])
    default["isServiceDefault"] = False
    default["b2bDirectConnectInbound"]["usersAndGroups"]["accessType"] = "allowed"
    graphsim.drift(tenant, CTAP, CTAP, "modify", {"default": default})

    a = await _assess_one(tenant, CTAP, backup)
    assert a.action == "update" and all(d["path"].startswith("default.") for d in a.diff)
    cursor = graphsim.request_cursor()
    await update_item(tenant, CTAP, CTAP, a.desired, client=client)

    assert sorted(_writes(graphsim, cursor)) == sorted([
        ("PATCH", "policies/crossTenantAccessPolicy"), write])
    live = await fetch_snapshot(tenant, CTAP, CTAP, client=client)
    assert diff(supported_type(CTAP), live, backup) == []


async def test_authentication_method_configurations_changed_are_patched_one_by_one(
        loop_client, client, tenants, graphsim):
    rtype = supported_type("authenticationMethodsPolicy")
    backup = await fetch_snapshot(tenants[0], rtype.key, rtype.key, client=client)
    stored = _stored(graphsim, tenants[0], rtype.key)
    configurations = copy.deepcopy(stored[METHODS])
    for config in configurations:
        if config["id"] in ("Fido2", "Sms"):
            config["state"] = "enabled" if config["state"] == "disabled" else "disabled"
    graphsim.drift(tenants[0], rtype.key, rtype.key, "modify", {METHODS: configurations})

    a = await _assess_one(tenants[0], rtype.key, backup)
    assert a.action == "update" and {d["path"].split("[")[0] for d in a.diff} == {METHODS}
    cursor = graphsim.request_cursor()
    await update_item(tenants[0], rtype.key, rtype.key, a.desired, client=client)

    base = "policies/authenticationMethodsPolicy"
    assert sorted(_writes(graphsim, cursor)) == sorted([
        ("PATCH", base), ("PATCH", f"{base}/{METHODS}/Fido2"),
        ("PATCH", f"{base}/{METHODS}/Sms")])
    live = await fetch_snapshot(tenants[0], rtype.key, rtype.key, client=client)
    assert diff(rtype, live, backup) == []


async def test_authentication_method_targets_are_group_references_rewritten_by_the_id_map(
        client, tenants, graphsim):
    rtype = supported_type("authenticationMethodsPolicy")
    backup = await fetch_snapshot(tenants[0], rtype.key, rtype.key, client=client)
    [fido2] = [c for c in backup[METHODS] if c["id"] == "Fido2"]
    group = fido2["includeTargets"][0]["id"]
    rewritten = rewrite_references(rtype, backup, {"groups": {group: "new-group-id"}})
    targets = {c["id"]: [t["id"] for t in c["includeTargets"]] for c in rewritten[METHODS]}
    assert targets["Fido2"] == ["new-group-id"]
    assert targets["MicrosoftAuthenticator"] == ["all_users"]  # not a group id: left alone
    registration = supported_type("deviceRegistrationPolicy")
    policy = await fetch_snapshot(tenants[0], registration.key, registration.key,
                                  client=client)
    joins = policy["azureADJoin"]["allowedToJoin"]["groups"][0]
    moved = rewrite_references(registration, policy, {"groups": {joins: "new-group-id"}})
    assert moved["azureADJoin"]["allowedToJoin"]["groups"] == ["new-group-id"]
