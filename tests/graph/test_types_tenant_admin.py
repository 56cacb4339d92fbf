"""The special shapes of the tenant administration types (DESIGN §7.1), through the real path:
the simulator underneath, ``shared.graph`` reads and writes, ``assess_batch`` deciding.

Creatable types also run the generic round trip (``test_roundtrip``); these tests cover what
it cannot: built-ins that are never backed up or created, sub-collections written by hooks
with their references remapped, update-only types, secrets that are never written.
"""

from __future__ import annotations

import pytest

from shared.graph import (
    assign_item,
    create_item,
    diff,
    fetch_snapshot,
    list_items,
    read_collection,
    restore_levels,
    supported_type,
    to_create_payload,
    to_update_payload,
    update_item,
)
from shared.graph.client import GraphClient
from shared.platform.codes import ErrorCode
from shared.restore.match import Assessment, assess_batch

pytestmark = pytest.mark.anyio

ROLES = supported_type("roleDefinitions")
BRANDING = supported_type("intuneBrandingProfiles")
ANDROID = supported_type("androidDeviceOwnerEnrollmentProfiles")
TOKEN_FIELDS = ("tokenValue", "tokenCreationDateTime", "tokenExpirationDateTime",
                "qrCodeContent", "qrCodeImage")




async def _assess(tenant: str, key: str, snapshot: dict,
                  id_map: dict[str, dict[str, str]] | None = None) -> Assessment:
    [assessment] = await assess_batch(tenant, supported_type(key), [("item", snapshot)],
                                      include_assignments=True, ca_state="report_only",
                                      id_map=id_map)
    return assessment


async def _first(tenant: str, key: str, client: GraphClient, **match: object) -> dict:
    for ref in await list_items(tenant, key, client=client):
        document = await fetch_snapshot(tenant, key, ref.id, client=client)
        if all(document.get(k) == v for k, v in match.items()):
            return document
    raise AssertionError(f"no {key} matching {match}")


# ---- roleDefinitions ------------------------------------------------------------------------

async def test_role_definitions_built_in_roles_are_not_backed_up(graphsim, tenants,
                                                                 loop_client):
    tenant = tenants[0]
    seeded = graphsim.objects(tenant, "roleDefinitions")
    built_in = {r["id"] for r in seeded if r["isBuiltIn"]}
    assert built_in and len(seeded) > len(built_in)  # both kinds exist live
    listed = {r.id for r in await list_items(tenant, "roleDefinitions", client=loop_client)}
    read = {result.document["id"] async for page in read_collection(
        tenant, "roleDefinitions", client=loop_client) for result in page}
    assert listed == read == {r["id"] for r in seeded if not r["isBuiltIn"]}
    assert built_in.isdisjoint(listed)


async def test_role_definitions_recreated_role_gets_its_assignments_with_ids_remapped(
        graphsim, tenants, loop_client):
    tenant = tenants[0]
    snapshot = await _first(tenant, "roleDefinitions", loop_client)
    [backed_up] = snapshot["roleAssignments"]
    groups = sorted(g["id"] for g in graphsim.objects(tenant, "groups"))
    old_tag = backed_up["roleScopeTagIds"][0]
    new_tag = next(t["id"] for t in graphsim.objects(tenant, "roleScopeTags")
                   if t["id"] not in ("0", old_tag))
    old_groups = {*backed_up["members"], *backed_up["resourceScopes"]}
    new_groups = [g for g in groups if g not in old_groups]
    id_map = {"groups": dict(zip(sorted(old_groups), new_groups, strict=False)),
              "roleScopeTags": {old_tag: new_tag}}
    graphsim.drift(tenant, "roleDefinitions", snapshot["id"], "delete")

    assessment = await _assess(tenant, "roleDefinitions", snapshot, id_map)
    assert assessment.action == "create"
    cursor = graphsim.request_cursor()
    created = await create_item(tenant, "roleDefinitions", assessment.desired,
                                client=loop_client)

    copy = await fetch_snapshot(tenant, "roleDefinitions", created.id, client=loop_client)
    [restored] = copy["roleAssignments"]
    assert restored["displayName"] == backed_up["displayName"]
    assert restored["members"] == [id_map["groups"][backed_up["members"][0]]]
    assert restored["resourceScopes"] == [id_map["groups"][backed_up["resourceScopes"][0]]]
    assert restored["roleScopeTagIds"] == [new_tag]
    posts = [e["path"] for e in graphsim.writes(cursor) if e["method"] == "POST"]
    assert posts == ["/beta/deviceManagement/roleDefinitions",
                     "/beta/deviceManagement/roleAssignments"]


async def test_role_definitions_drifted_assignment_is_written_back_where_graph_takes_it(
        graphsim, tenants, loop_client):
    tenant = tenants[0]
    snapshot = await _first(tenant, "roleDefinitions", loop_client)
    [assignment] = snapshot["roleAssignments"]
    other = next(g["id"] for g in graphsim.objects(tenant, "groups")
                 if g["id"] not in assignment["members"])
    await loop_client.request(tenant, "PATCH",
                              f"deviceManagement/roleAssignments/{assignment['id']}",
                              version="beta", json={"members": [other]})

    assessment = await _assess(tenant, "roleDefinitions", snapshot)
    assert assessment.action == "update"
    assert assessment.diff == [{"path": "roleAssignments[0].members[0]", "change": "changed"}]
    cursor = graphsim.request_cursor()
    await update_item(tenant, "roleDefinitions", snapshot["id"], snapshot, client=loop_client)

    live = await fetch_snapshot(tenant, "roleDefinitions", snapshot["id"], client=loop_client)
    assert diff(ROLES, live, snapshot) == []
    writes = [(e["method"], e["path"]) for e in graphsim.writes(cursor)]
    assert ("PATCH", f"/beta/deviceManagement/roleAssignments/{assignment['id']}") in writes


# ---- intuneBrandingProfiles -----------------------------------------------------------------

async def test_branding_default_profile_gone_live_is_skipped_not_creatable(graphsim, tenants,
                                                                          loop_client):
    tenant = tenants[0]
    default = await _first(tenant, "intuneBrandingProfiles", loop_client,
                           isDefaultProfile=True)
    graphsim.drift(tenant, "intuneBrandingProfiles", default["id"], "delete")
    assessment = await _assess(tenant, "intuneBrandingProfiles", default)
    assert assessment.action == "skip"
    assert assessment.error["code"] == ErrorCode.NOT_CREATABLE
    custom = await _first(tenant, "intuneBrandingProfiles", loop_client,
                          isDefaultProfile=False)
    graphsim.drift(tenant, "intuneBrandingProfiles", custom["id"], "delete")
    assert (await _assess(tenant, "intuneBrandingProfiles", custom)).action == "create"


async def test_branding_default_profile_that_differs_is_updated(graphsim, tenants,
                                                                loop_client):
    tenant = tenants[0]
    default = await _first(tenant, "intuneBrandingProfiles", loop_client,
                           isDefaultProfile=True)
    graphsim.drift(tenant, "intuneBrandingProfiles", default["id"], "modify",
                   {"contactITName": "Someone else"})
    assessment = await _assess(tenant, "intuneBrandingProfiles", default)
    assert (assessment.action, assessment.target_id) == ("update", default["id"])
    assert assessment.diff == [{"path": "contactITName", "change": "changed"}]
    body = to_update_payload(BRANDING, default)
    assert "profileName" not in body and "isDefaultProfile" not in body
    await update_item(tenant, "intuneBrandingProfiles", default["id"], default,
                      client=loop_client)
    live = await fetch_snapshot(tenant, "intuneBrandingProfiles", default["id"],
                                client=loop_client)
    assert diff(BRANDING, live, default) == []


# ---- update-only connectors -----------------------------------------------------------------

UPDATE_ONLY = [("mobileThreatDefenseConnectors", {"iosEnabled": False}),
               ("remoteAssistancePartners", {"onboardingUrl": "https://other.example/onboard"})]


@pytest.mark.parametrize(("key", "drift"), UPDATE_ONLY, ids=[k for k, _ in UPDATE_ONLY])
async def test_update_only_types_gone_live_are_skipped_not_restorable(graphsim, tenants,
                                                                     loop_client, key, drift):
    tenant = tenants[0]
    snapshot = await _first(tenant, key, loop_client)
    graphsim.drift(tenant, key, snapshot["id"], "delete")
    assessment = await _assess(tenant, key, snapshot)
    assert assessment.action == "skip"
    assert assessment.error["code"] == ErrorCode.NOT_RESTORABLE
    with pytest.raises(Exception, match="cannot be created"):
        await create_item(tenant, key, snapshot, client=loop_client)


@pytest.mark.parametrize(("key", "drift"), UPDATE_ONLY, ids=[k for k, _ in UPDATE_ONLY])
async def test_update_only_types_that_differ_are_updated(graphsim, tenants, loop_client, key,
                                                         drift):
    tenant = tenants[0]
    snapshot = await _first(tenant, key, loop_client)
    graphsim.drift(tenant, key, snapshot["id"], "modify", drift)
    assessment = await _assess(tenant, key, snapshot)
    assert assessment.action == "update"
    assert [c["path"] for c in assessment.diff] == list(drift)
    await update_item(tenant, key, snapshot["id"], snapshot, client=loop_client)
    live = await fetch_snapshot(tenant, key, snapshot["id"], client=loop_client)
    assert diff(supported_type(key), live, snapshot) == []


# ---- androidDeviceOwnerEnrollmentProfiles ---------------------------------------------------

async def test_android_enrollment_token_fields_are_never_in_a_write_body(graphsim, tenants,
                                                                        loop_client):
    tenant = tenants[0]
    snapshot = await _first(tenant, "androidDeviceOwnerEnrollmentProfiles", loop_client)
    assert all(snapshot.get(f) for f in TOKEN_FIELDS)  # backed up for reference
    assert {"tokenValue", "qrCodeContent", "qrCodeImage"} <= ANDROID.secrets
    for body in (to_create_payload(ANDROID, snapshot), to_update_payload(ANDROID, snapshot)):
        assert not set(TOKEN_FIELDS) & set(body)
    # the simulator refuses the token fields on a write, as Graph's read-only properties
    cursor = graphsim.request_cursor()
    created = await create_item(tenant, ANDROID.key, snapshot, client=loop_client)
    await update_item(tenant, ANDROID.key, snapshot["id"], snapshot, client=loop_client)
    assert [e["status"] for e in graphsim.writes(cursor)] == [201, 204]
    copy = await fetch_snapshot(tenant, ANDROID.key, created.id, client=loop_client)
    assert not any(copy.get(f) for f in TOKEN_FIELDS)  # a new profile gets its own token


# ---- microsoftTunnelSites, appleUserInitiatedEnrollmentProfiles ----------------------------

async def test_tunnel_site_recreated_names_the_recreated_configuration(graphsim, tenants,
                                                                       loop_client):
    tenant = tenants[0]
    levels = {key: n for n, level in enumerate(restore_levels()) for key in level}
    assert levels["microsoftTunnelConfigurations"] < levels["microsoftTunnelSites"]
    site = await _first(tenant, "microsoftTunnelSites", loop_client)
    old = site["microsoftTunnelConfiguration"]["id"]
    configuration = await fetch_snapshot(tenant, "microsoftTunnelConfigurations", old,
                                         client=loop_client)
    new = await create_item(tenant, "microsoftTunnelConfigurations", configuration,
                            client=loop_client)
    graphsim.drift(tenant, "microsoftTunnelSites", site["id"], "delete")

    assessment = await _assess(tenant, "microsoftTunnelSites", site,
                               {"microsoftTunnelConfigurations": {old: new.id}})
    assert assessment.action == "create"
    assert assessment.desired["microsoftTunnelConfiguration"] == {"id": new.id}
    created = await create_item(tenant, "microsoftTunnelSites", assessment.desired,
                                client=loop_client)
    copy = await fetch_snapshot(tenant, "microsoftTunnelSites", created.id, client=loop_client)
    assert copy["microsoftTunnelConfiguration"] == {"id": new.id}


async def test_apple_enrollment_assignments_are_written_entry_by_entry(graphsim, tenants,
                                                                       loop_client):
    tenant = tenants[0]
    key = "appleUserInitiatedEnrollmentProfiles"
    snapshot = await _first(tenant, key, loop_client)
    assert snapshot["assignments"]
    created = await create_item(tenant, key, snapshot, client=loop_client)
    cursor = graphsim.request_cursor()
    await assign_item(tenant, key, created.id, snapshot["assignments"], document=snapshot,
                      client=loop_client)
    writes = [(e["method"], e["path"]) for e in graphsim.writes(cursor)]
    assert writes == [("POST", f"/beta/deviceManagement/{key}/{created.id}/assignments")]
    copy = await fetch_snapshot(tenant, key, created.id, client=loop_client)
    assert diff(supported_type(key), copy, snapshot) == []
    await assign_item(tenant, key, created.id, [], document=snapshot, client=loop_client)
    assert (await fetch_snapshot(tenant, key, created.id, client=loop_client))[
        "assignments"] == []
