"""Groups as a catalog type and references to groups that are gone (DESIGN §7.1, §8).

The pure parts (which references a document holds, what leaving one out removes) run on
plain documents; the restore decisions run ``assess_batch`` against the simulator, whose
``directoryObjects/getByIds`` says which groups exist.
"""

from __future__ import annotations

import copy
from collections.abc import Collection

import pytest

from shared.graph import (
    fetch_snapshot,
    restore_levels,
    supported_type,
    to_create_payload,
    to_update_payload,
)
from shared.graph.catalog import CATALOG
from shared.graph.entries.groups import existing_group_ids
from shared.graph.payloads import drop_references, referenced_ids, rewrite_references
from shared.platform.codes import ErrorCode
from shared.restore.match import assess_batch
from tests.graph.conftest import graph_requests

pytestmark = pytest.mark.anyio

G = "#microsoft.graph."
CA = supported_type("conditionalAccessPolicies")
DEVICE = supported_type("deviceConfigurations")
GROUPS = supported_type("groups")
GONE = "0b8e5e1c-5f43-4d4e-9a53-000000000001"  # a GUID no tenant holds


def _assignment(kind: str, group_id: str) -> dict:
    return {"@odata.type": G + "deviceConfigurationAssignment", "id": f"p_{group_id}",
            "target": {"@odata.type": G + kind, "groupId": group_id,
                       "deviceAndAppManagementAssignmentFilterId": None,
                       "deviceAndAppManagementAssignmentFilterType": "none"}}


def _policy(*assignments: dict) -> dict:
    return {"@odata.type": G + "windows10GeneralConfiguration", "id": "p",
            "displayName": "Baseline", "description": "d", "roleScopeTagIds": ["0"],
            "assignments": list(assignments)}


def _ca(include: list[str], exclude: list[str]) -> dict:
    return {"id": "ca", "displayName": "Require MFA", "state": "enabled",
            "conditions": {"users": {"includeUsers": [], "excludeUsers": [],
                                     "includeGroups": include, "excludeGroups": exclude}}}


# ---- documents ------------------------------------------------------------------------------
def test_references_assignment_targets_are_includes_or_exclusions_by_target_type():
    doc = _policy(_assignment("groupAssignmentTarget", "g1"),
                  _assignment("exclusionGroupAssignmentTarget", "g2"),
                  {"target": {"@odata.type": G + "allDevicesAssignmentTarget"}})

    found = {(gid, ref.exclusion) for ref, gid in referenced_ids(DEVICE, doc)
             if ref.targets == ("groups",)}

    assert found == {("g1", False), ("g2", True)}
    renamed = rewrite_references(DEVICE, doc, {"groups": {"g1": "n1", "g2": "n2"}})
    assert [a["target"]["groupId"] for a in renamed["assignments"][:2]] == ["n1", "n2"]


def test_drop_references_include_takes_its_assignment_and_keeps_the_rest():
    doc = _policy(_assignment("groupAssignmentTarget", "g1"),
                  _assignment("groupAssignmentTarget", "g2"))

    kept, complete = drop_references(DEVICE, doc, lambda ref, value: value == "g1")

    assert complete
    assert [a["target"]["groupId"] for a in kept["assignments"]] == ["g2"]
    assert {k: v for k, v in kept.items() if k != "assignments"} == {
        k: v for k, v in doc.items() if k != "assignments"}
    assert len(doc["assignments"]) == 2  # the input is left as it was


def test_drop_references_ca_include_leaves_only_that_id():
    kept, complete = drop_references(CA, _ca(["g1", "g2"], ["g3"]),
                                     lambda ref, value: value == "g1")

    assert complete
    assert kept["conditions"]["users"]["includeGroups"] == ["g2"]
    assert kept["conditions"]["users"]["excludeGroups"] == ["g3"]


def test_drop_references_an_id_in_no_list_cannot_be_left_out():
    doc = {"id": "x", "assignments": [],
           "target": {"@odata.type": G + "groupAssignmentTarget", "groupId": "g1"}}

    _, complete = drop_references(DEVICE, doc, lambda ref, value: value == "g1")

    assert not complete


def test_groups_mail_enabled_security_and_distribution_groups_are_not_creatable():
    security = {"mailEnabled": False, "securityEnabled": True, "groupTypes": []}
    microsoft365 = {"mailEnabled": True, "securityEnabled": False, "groupTypes": ["Unified"]}
    dynamic = {**security, "groupTypes": ["DynamicMembership"]}

    assert all(GROUPS.can_create(g) for g in (security, microsoft365, dynamic))
    assert not GROUPS.can_create({**security, "mailEnabled": True})  # mail-enabled security
    assert not GROUPS.can_create({"mailEnabled": True, "securityEnabled": False,
                                  "groupTypes": []})  # distribution group
    assert not GROUPS.can_create({**security, "onPremisesSyncEnabled": True})


def test_groups_restore_first_and_everything_that_assigns_after_them():
    levels = restore_levels()

    assert "groups" in levels[0]
    level_of = {key: n for n, level in enumerate(levels) for key in level}
    for key in ("deviceConfigurations", "configurationPolicies", "conditionalAccessPolicies",
                "roleScopeTags"):
        assert level_of[key] > level_of["groups"], key


def test_groups_entry_never_carries_members_or_assignments():
    assert GROUPS.subcollections == () and not GROUPS.has_assignments
    assert GROUPS.version == "v1.0" and GROUPS.references == ()


# ---- against the simulator ------------------------------------------------------------------
@pytest.fixture
def live(graphsim, loop_client) -> str:
    """The first tenant, with the restore code's default client pointed at the simulator."""
    return graphsim.tenant_ids[0]



def _group_ids(graphsim, tenant: str) -> list[str]:
    return [g["id"] for g in graphsim.objects(tenant, "groups") if not g.get("mailEnabled")]


async def _assess(tenant: str, rtype, *docs: dict, **options):
    options.setdefault("include_assignments", True)
    options.setdefault("ca_state", "as_snapshot")
    return await assess_batch(tenant, rtype, [(f"{rtype.key}.{d['id']}", d) for d in docs],
                              **options)


async def test_existing_group_ids_one_call_per_batch_and_unknown_ids_left_out(graphsim, live):
    present = _group_ids(graphsim, live)[:2]
    cursor = graphsim.request_cursor()

    found = await existing_group_ids(live, [present[0].upper(), present[1], GONE, "All"])

    assert found == {present[0], present[1]}
    calls = graph_requests(graphsim, cursor, kind="graph")
    assert [(c["method"], c["path"]) for c in calls] == [
        ("POST", "/v1.0/directoryObjects/getByIds")]
    assert not calls[0]["is_write"]  # a read sent as a POST


async def test_assess_missing_include_is_left_out_with_a_warning_and_the_rest_kept(graphsim,
                                                                                   live):
    [kept] = _group_ids(graphsim, live)[:1]
    doc = _policy(_assignment("groupAssignmentTarget", kept),
                  _assignment("groupAssignmentTarget", GONE))

    [a] = await _assess(live, DEVICE, doc)

    assert a.action == "create" and a.error is None
    assert [x["target"]["groupId"] for x in a.desired["assignments"]] == [kept]
    assert a.write_assignments
    assert [w["code"] for w in a.warnings] == [ErrorCode.MISSING_REFERENCE]
    assert GONE in a.warnings[0]["message"]


async def test_assess_missing_exclusion_fails_the_item(graphsim, live):
    [kept] = _group_ids(graphsim, live)[:1]
    doc = _policy(_assignment("groupAssignmentTarget", kept),
                  _assignment("exclusionGroupAssignmentTarget", GONE))

    [a] = await _assess(live, DEVICE, doc)

    assert a.action == "fail"
    assert a.error["code"] == ErrorCode.MISSING_EXCLUSION and GONE in a.error["message"]


def _strings(value: object):
    if isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)
    elif isinstance(value, str):
        yield value


def test_every_group_a_seeded_object_names_is_one_its_references_find(graphsim):
    """What a restore checks and a deployment maps is what ``references`` find: a group id
    they miss would be written into another tenant unmapped, or restored pointing at a group
    that is gone (Windows 365 targets were missed so)."""
    tenant = graphsim.tenant_ids[0]
    groups = {g["id"] for g in graphsim.objects(tenant, "groups")}
    missed = {}
    for rtype in CATALOG:
        if rtype.key == GROUPS.key or rtype.singleton:
            continue
        for doc in graphsim.objects(tenant, rtype.path):
            found = {gid for ref, gid in referenced_ids(rtype, doc) if ref.targets == ("groups",)}
            if unmatched := {v for v in _strings(doc) if v in groups} - found:
                missed[f"{rtype.key}/{doc['id']}"] = unmatched
    assert missed == {}


@pytest.mark.parametrize("key", ["policySets", "appleUserInitiatedEnrollmentProfiles"])
async def test_assess_missing_exclusion_fails_every_type_that_assigns_to_groups(graphsim, live,
                                                                                 key):
    rtype = supported_type(key)
    [kept] = _group_ids(graphsim, live)[:1]
    doc = {"id": "x", rtype.name_field: "Baseline",
           "assignments": [{"id": "a1", "target": {"@odata.type": G + "groupAssignmentTarget",
                                                   "groupId": kept}},
                           {"id": "a2", "target": {
                               "@odata.type": G + "exclusionGroupAssignmentTarget",
                               "groupId": GONE}}]}

    [a] = await _assess(live, rtype, doc)

    assert (a.action, a.error["code"]) == ("fail", ErrorCode.MISSING_EXCLUSION)


async def test_assess_a_windows_365_policy_assigned_to_a_missing_group_leaves_it_out(graphsim,
                                                                                     live):
    rtype = supported_type("cloudPcUserSettings")
    [kept] = _group_ids(graphsim, live)[:1]
    target = G + "cloudPcManagementGroupAssignmentTarget"
    doc = {"id": "w", "displayName": "Cloud PC users",
           "assignments": [{"id": "a1", "target": {"@odata.type": target, "groupId": kept}},
                           {"id": "a2", "target": {"@odata.type": target, "groupId": GONE}}]}

    [a] = await _assess(live, rtype, doc)

    assert a.action == "create"
    assert [x["target"]["groupId"] for x in a.desired["assignments"]] == [kept]
    assert [w["code"] for w in a.warnings] == [ErrorCode.MISSING_REFERENCE]
    moved = rewrite_references(rtype, doc, {"groups": {kept: "target-group"}})
    assert moved["assignments"][0]["target"]["groupId"] == "target-group"


async def test_assess_ca_missing_include_is_dropped_and_missing_exclude_fails(graphsim, live):
    kept = _group_ids(graphsim, live)[0]
    included = _ca([kept, GONE], [])
    excluded = {**_ca([kept], [GONE]), "id": "ca2", "displayName": "Block legacy"}

    a, b = await _assess(live, CA, included, excluded)

    assert a.action == "create"
    assert a.desired["conditions"]["users"]["includeGroups"] == [kept]
    assert [w["code"] for w in a.warnings] == [ErrorCode.MISSING_REFERENCE]
    assert (b.action, b.error["code"]) == ("fail", ErrorCode.MISSING_EXCLUSION)


async def test_assess_assignments_left_alone_are_not_checked(graphsim, live):
    doc = _policy(_assignment("exclusionGroupAssignmentTarget", GONE))

    [a] = await _assess(live, DEVICE, doc, include_assignments=False)

    assert a.action == "create" and a.warnings == [] and a.error is None


async def test_assess_references_rewritten_through_the_id_map_are_the_ones_checked(graphsim,
                                                                                   live):
    recreated = _group_ids(graphsim, live)[0]
    doc = _policy(_assignment("exclusionGroupAssignmentTarget", GONE))

    [a] = await _assess(live, DEVICE, doc, id_map={"groups": {GONE: recreated}})

    assert a.action == "create" and a.error is None and a.warnings == []
    assert a.desired["assignments"][0]["target"]["groupId"] == recreated


async def test_assess_one_group_lookup_for_the_whole_batch(graphsim, live):
    groups = _group_ids(graphsim, live)
    docs = [{**_policy(_assignment("groupAssignmentTarget", g)), "id": f"p{n}",
             "displayName": f"Policy {n}"} for n, g in enumerate(groups[:5])]
    cursor = graphsim.request_cursor()

    await _assess(live, DEVICE, *docs)

    lookups = graph_requests(graphsim, cursor, kind="graph",
                             path="/v1.0/directoryObjects/getByIds")
    assert len(lookups) == 1


async def test_assess_groups_the_restore_brings_back_count_as_present(graphsim, live):
    asked: list[set[str]] = []

    async def restored(policy_type: str, missing: Collection[str]) -> dict[str, str]:
        asked.append(set(missing))
        return {GONE: "new:" + GONE}

    doc = _policy(_assignment("exclusionGroupAssignmentTarget", GONE))

    [a] = await _assess(live, DEVICE, doc, restored=restored)

    assert asked == [{GONE}]
    assert a.action == "create" and a.error is None
    assert a.desired["assignments"][0]["target"]["groupId"] == "new:" + GONE


async def test_assess_gone_group_is_created_only_when_the_request_asks(graphsim, live):
    group = next(g for g in graphsim.objects(live, "groups") if not g["mailEnabled"])
    snapshot = {**copy.deepcopy(group), "id": GONE, "displayName": "PV Gone Group"}

    [without] = await _assess(live, GROUPS, snapshot)
    [with_it] = await _assess(live, GROUPS, snapshot, create_missing_groups=True)

    assert (without.action, without.error["code"]) == ("skip", ErrorCode.NOT_CREATABLE)
    assert "create_missing_groups" in without.error["message"]
    assert with_it.action == "create"


async def test_assess_gone_mail_enabled_group_is_never_created(graphsim, live):
    group = next(g for g in graphsim.objects(live, "groups") if g["mailEnabled"])
    snapshot = {**copy.deepcopy(group), "id": GONE, "displayName": "PV Gone Mail Group"}

    [a] = await _assess(live, GROUPS, snapshot, create_missing_groups=True)

    assert (a.action, a.error["code"]) == ("skip", ErrorCode.NOT_CREATABLE)
    assert "mail-enabled" in a.error["message"]


async def test_assess_drifted_group_definition_is_an_update(graphsim, live):
    group = next(g for g in graphsim.objects(live, "groups")
                 if "DynamicMembership" in g["groupTypes"])
    snapshot = copy.deepcopy(group)
    graphsim.drift(live, "groups", group["id"], patch={"membershipRule": "(device.x -eq 1)"})

    [a] = await _assess(live, GROUPS, snapshot)

    assert a.action == "update" and a.write_body and not a.write_assignments
    assert a.diff == [{"path": "membershipRule", "change": "changed"}]


async def test_assess_group_lookup_refused_writes_no_reference_it_could_not_check(graphsim,
                                                                                  live):
    graphsim.add_fault("status", status=403, path_prefix="/v1.0/directoryObjects/getByIds")
    referring = _policy(_assignment("groupAssignmentTarget", _group_ids(graphsim, live)[0]))
    unassigned = {**_policy(), "id": "p2", "displayName": "Unassigned"}

    a, b = await _assess(live, DEVICE, referring, unassigned)

    assert (a.action, a.error["code"]) == ("skip", ErrorCode.GRAPH_FORBIDDEN)
    assert b.action == "create" and b.error is None


async def test_groups_a_create_only_property_that_differs_live_is_not_a_change(graphsim, live,
                                                                               loop_client):
    groups = supported_type("groups")
    [group] = [g for g in graphsim.objects(live, "groups")
               if g["displayName"] == "PV Group 001"]
    backup = await fetch_snapshot(live, "groups", group["id"], client=loop_client)
    graphsim.drift(live, "groups", group["id"], "modify",
                   {"isAssignableToRole": not backup.get("isAssignableToRole"),
                    "description": "changed in the portal"})

    [a] = await _assess(live, groups, backup)

    assert a.action == "update"  # the description, which an update can put back
    assert [c["path"] for c in a.diff] == ["description"]
    assert "isAssignableToRole" not in to_update_payload(groups, backup)
    assert "isAssignableToRole" in to_create_payload(groups, backup)


async def test_assess_an_assignment_filter_or_scope_tag_that_is_gone_fails_the_item(graphsim,
                                                                                 live):
    [kept] = _group_ids(graphsim, live)[:1]
    filtered = _assignment("groupAssignmentTarget", kept)
    filtered["target"].update(deviceAndAppManagementAssignmentFilterId=GONE,
                              deviceAndAppManagementAssignmentFilterType="include")
    doc = _policy(filtered)
    tagged = {**_policy(), "id": "q", "displayName": "Tagged", "roleScopeTagIds": ["0", "999"]}

    a, b = await _assess(live, DEVICE, doc, tagged)

    assert (a.action, a.error["code"]) == ("fail", ErrorCode.MISSING_REFERENCE)
    assert GONE in a.error["message"]
    assert (b.action, b.error["code"]) == ("fail", ErrorCode.MISSING_REFERENCE)
    assert "999" in b.error["message"]


async def test_assess_a_filter_the_restore_brings_back_counts_as_present(graphsim, live):
    asked: list[tuple[str, set[str]]] = []

    async def restored(policy_type: str, missing: Collection[str]) -> dict[str, str]:
        asked.append((policy_type, set(missing)))
        return {GONE: "new:" + GONE} if policy_type == "assignmentFilters" else {}

    [kept] = _group_ids(graphsim, live)[:1]
    filtered = _assignment("groupAssignmentTarget", kept)
    filtered["target"]["deviceAndAppManagementAssignmentFilterId"] = GONE

    [a] = await _assess(live, DEVICE, _policy(filtered), restored=restored)

    assert asked == [("assignmentFilters", {GONE})]
    assert a.action == "create" and a.error is None


async def test_assess_filter_listing_refused_writes_no_filter_it_could_not_check(graphsim,
                                                                               live):
    graphsim.add_fault("status", status=403,
                       path_prefix="/beta/deviceManagement/assignmentFilters")
    [kept] = _group_ids(graphsim, live)[:1]
    filtered = _assignment("groupAssignmentTarget", kept)
    filtered["target"]["deviceAndAppManagementAssignmentFilterId"] = GONE
    tagged = {**_policy(), "id": "q", "displayName": "Tagged", "roleScopeTagIds": ["0", "999"]}

    a, b = await _assess(live, DEVICE, _policy(filtered), tagged)

    assert (a.action, a.error["code"]) == ("skip", ErrorCode.GRAPH_FORBIDDEN)
    assert (b.action, b.error["code"]) == ("fail", ErrorCode.MISSING_REFERENCE)


async def test_assess_the_default_scope_tag_and_no_filter_are_never_looked_up(graphsim, live):
    graphsim.add_fault("status", status=403, path_prefix="/beta/deviceManagement/roleScopeTags")
    graphsim.add_fault("status", status=403,
                       path_prefix="/beta/deviceManagement/assignmentFilters")
    [kept] = _group_ids(graphsim, live)[:1]
    unfiltered = _assignment("groupAssignmentTarget", kept)
    unfiltered["target"]["deviceAndAppManagementAssignmentFilterId"] = \
        "00000000-0000-0000-0000-000000000000"
    doc = {**_policy(unfiltered), "roleScopeTagIds": ["0"]}

    [a] = await _assess(live, DEVICE, doc)

    assert a.action == "create" and a.error is None
