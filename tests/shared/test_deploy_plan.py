"""The mapping plan's pure parts (DESIGN §11): references found through the catalog, each
resolved by override, registry, name or a shared id; and a snapshot made to fit the target."""

from __future__ import annotations

from shared.deploy.plan import (
    MappingRow,
    SourceItem,
    Status,
    Via,
    discover,
    id_map,
    resolve,
    unresolved_summary,
)
from shared.deploy.target import TargetIndex
from shared.deploy.transform import find_tenant_values, for_target, replace_tenant_values
from shared.graph.catalog import BY_KEY

G = "#microsoft.graph."
SOURCE, TARGET = "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"


def _policy(include: str, exclude: str, filter_id: str) -> dict:
    return {"id": "p1", "displayName": "P", "roleScopeTagIds": ["0", "7"], "assignments": [
        {"target": {"@odata.type": G + "groupAssignmentTarget", "groupId": include,
                    "deviceAndAppManagementAssignmentFilterId": filter_id}},
        {"target": {"@odata.type": G + "exclusionGroupAssignmentTarget", "groupId": exclude}}]}


def _ca() -> dict:
    return {"id": "ca", "displayName": "CA", "conditions": {
        "users": {"includeUsers": ["All"], "excludeUsers": ["u-breakglass"],
                  "includeGroups": [], "excludeGroups": []},
        "applications": {"includeApplications": ["00000003-0000-0000-c000-000000000000"],
                         "excludeApplications": ["Office365"]},
        "locations": {"includeLocations": ["All"], "excludeLocations": ["loc1"]}}}


NAMES = {("groups", "g-in"): "Group In", ("groups", "g-out"): "Group Out",
         ("assignmentFilters", "f1"): "Filter", ("roleScopeTags", "0"): "Default",
         ("roleScopeTags", "7"): "Scope 7", ("namedLocations", "loc1"): "Office"}
TARGET_INDEX = TargetIndex({
    "groups": {"t-in": "Group In", "t-out": "Group Out", "t-twin": "Group Out"},
    "assignmentFilters": {"t-f": "Filter"},
    "roleScopeTags": {"0": "Default", "3": "Scope 7"},
    "namedLocations": {"t-loc": "Office"},
})


def _plan(items, **options):
    uses = discover(items, NAMES)
    return resolve(uses, names=NAMES, deployment={}, target=TARGET_INDEX,
                   overrides=options.get("overrides", {}), registry=options.get("registry", {}),
                   create_missing_groups=False)


def _row(rows: list[MappingRow], source_id: str) -> MappingRow:
    [found] = [r for r in rows if r.source_id == source_id]
    return found


def test_discover_finds_every_declared_reference_with_its_users_and_exclusions():
    items = [SourceItem("deviceConfigurations.p1", "deviceConfigurations", "p1",
                        _policy("g-in", "g-out", "f1")),
             SourceItem("deviceConfigurations.p2", "deviceConfigurations", "p2",
                        _policy("g-in", "g-in", "f1"))]

    uses = discover(items, NAMES)

    assert set(uses) == {("groups", "g-in"), ("groups", "g-out"), ("assignmentFilters", "f1"),
                         ("roleScopeTags", "0"), ("roleScopeTags", "7")}
    assert uses[("groups", "g-in")].referenced_by == ["deviceConfigurations.p1",
                                                      "deviceConfigurations.p2"]
    assert uses[("groups", "g-in")].exclusion  # p2 excludes it
    assert not uses[("assignmentFilters", "f1")].exclusion


def test_discover_conditional_access_users_and_applications_skip_graph_keywords():
    uses = discover([SourceItem("ca.ca", "conditionalAccessPolicies", "ca", _ca())], NAMES)

    assert set(uses) == {("users", "u-breakglass"),
                         ("applications", "00000003-0000-0000-c000-000000000000"),
                         ("namedLocations", "loc1")}
    assert uses[("users", "u-breakglass")].exclusion
    assert uses[("namedLocations", "loc1")].exclusion


def test_resolve_by_name_maps_unique_names_and_reports_ambiguous_ones():
    plan = _plan([SourceItem("d.p1", "deviceConfigurations", "p1",
                             _policy("g-in", "g-out", "f1"))])

    assert (_row(plan.rows, "g-in").status, _row(plan.rows, "g-in").target_id) == (
        Status.MAPPED, "t-in")
    assert _row(plan.rows, "g-out").status == Status.AMBIGUOUS
    assert _row(plan.rows, "g-out").candidates == ["t-out", "t-twin"]
    assert _row(plan.rows, "7").target_id == "3"  # by name, not by id
    assert [u["source_id"] for u in unresolved_summary(plan.rows)] == ["g-out"]
    assert id_map(plan.rows) == {"groups": {"g-in": "t-in"}, "assignmentFilters": {"f1": "t-f"},
                                 "roleScopeTags": {"0": "0", "7": "3"}}


def test_resolve_override_wins_and_a_dropped_exclusion_or_unknown_target_is_refused():
    items = [SourceItem("d.p1", "deviceConfigurations", "p1", _policy("g-in", "g-out", "f1"))]

    chosen = _plan(items, overrides={"g-out": "t-twin", "g-in": None})
    refused = _plan(items, overrides={"g-out": None, "f1": "t-in", "nobody": "t-f"})

    assert (_row(chosen.rows, "g-out").status, _row(chosen.rows, "g-out").via) == (
        Status.MAPPED, Via.OVERRIDE)
    assert _row(chosen.rows, "g-in").status == Status.DROPPED
    assert chosen.invalid == []
    assert len(refused.invalid) == 3  # an exclusion dropped, a group as filter, unreferenced


def test_resolve_registry_target_deleted_since_is_missing_never_used():
    items = [SourceItem("d.p1", "deviceConfigurations", "p1", _policy("g-in", "g-out", "f1"))]

    plan = _plan(items, registry={"g-out": "t-out", "g-in": "deleted"})

    assert (_row(plan.rows, "g-out").status, _row(plan.rows, "g-out").via) == (
        Status.MAPPED, Via.REGISTRY)
    assert (_row(plan.rows, "g-in").status, _row(plan.rows, "g-in").target_id) == (
        Status.MISSING, "deleted")
    assert "g-in" not in id_map(plan.rows).get("groups", {})


def test_resolve_applications_keep_their_app_id_and_users_need_a_mapping():
    plan = _plan([SourceItem("ca.ca", "conditionalAccessPolicies", "ca", _ca())])

    app = _row(plan.rows, "00000003-0000-0000-c000-000000000000")
    assert (app.status, app.via, app.target_id) == (Status.MAPPED, Via.ID, app.source_id)
    assert _row(plan.rows, "u-breakglass").status == Status.MISSING


def test_resolve_a_scope_tag_the_set_lacks_is_never_mapped_by_its_number_but_default_is():
    """The source set holds no scope tags: "3" in the target is another tag than the source's
    "3"; the Default tag "0" is the same in every tenant."""
    doc = {**_policy("g-in", "g-in", "f1"), "roleScopeTagIds": ["0", "3"]}
    names = {k: v for k, v in NAMES.items() if k[0] != "roleScopeTags"}
    uses = discover([SourceItem("d.p1", "deviceConfigurations", "p1", doc)], names)

    plan = resolve(uses, names=names, deployment={}, target=TARGET_INDEX, overrides={},
                   registry={}, create_missing_groups=False)

    assert (_row(plan.rows, "3").status, _row(plan.rows, "3").target_id) == (
        Status.MISSING, None)
    assert (_row(plan.rows, "0").status, _row(plan.rows, "0").via) == (Status.MAPPED, Via.ID)


def test_tenant_values_are_found_and_replaced_in_strings_case_insensitively():
    doc = {"id": SOURCE, "description": f"kfm {SOURCE.upper()}",
           "settings": [{"value": "https://contoso1.onmicrosoft.com/x"}]}
    pairs = [(SOURCE, TARGET), ("contoso1.onmicrosoft.com", "contoso2.onmicrosoft.com")]

    assert find_tenant_values(doc, pairs) == [
        ("description", SOURCE, TARGET),
        ("settings[0].value", "contoso1.onmicrosoft.com", "contoso2.onmicrosoft.com")]
    replaced = replace_tenant_values(doc, pairs)
    assert replaced["id"] == SOURCE  # the object's own id is never written
    assert replaced["description"] == f"kfm {TARGET}"
    assert replaced["settings"][0]["value"] == "https://contoso2.onmicrosoft.com/x"


def test_for_target_leaves_secrets_out_unless_the_caller_may_copy_them():
    rtype = BY_KEY["androidDeviceOwnerEnrollmentProfiles"]
    doc = {"id": "a", "displayName": "A", "wifiPassword": "hunter2", "tokenValue": "read-only"}

    kept_out, warnings = for_target(rtype, doc, [], copy_secrets=False)
    copied, none = for_target(rtype, doc, [], copy_secrets=True)

    assert "wifiPassword" not in kept_out and "tokenValue" not in kept_out
    [warning] = warnings  # the read-only token is never written: not reported as lost
    assert warning["code"] == "secret_not_copied" and "wifiPassword" in warning["message"]
    assert "tokenValue" not in warning["message"]
    assert "hunter2" not in warning["message"]
    assert copied["wifiPassword"] == "hunter2" and none == []


def test_for_target_drops_the_references_the_plan_dropped():
    rtype = BY_KEY["deviceConfigurations"]
    rows = [MappingRow("groups", "g-in", Status.DROPPED, Via.OVERRIDE)]

    fitted, _ = for_target(rtype, _policy("g-in", "g-out", "f1"), rows, copy_secrets=True)

    assert [a["target"]["groupId"] for a in fitted["assignments"]] == ["g-out"]


def test_reserve_client_ids_gives_a_context_whose_id_is_taken_a_free_one():
    from shared.deploy.plan import reserve_client_ids

    kind = "authenticationContextClassReferences"
    target = TargetIndex({kind: {"c1": "Someone else's", "c2": "Also taken"}})
    items = [SourceItem(f"{kind}.c1", kind, "c1", {"id": "c1", "displayName": "Mine"}),
             SourceItem(f"{kind}.c3", kind, "c3", {"id": "c3", "displayName": "Free"}),
             SourceItem(f"{kind}.c2", kind, "c2", {"id": "c2", "displayName": "Also taken"})]
    rows = [MappingRow(kind, "c1", Status.WILL_CREATE, Via.NAME, "Mine",
                       referenced_by=["ca.x"])]

    reserve_client_ids(rows, items, target)

    [mine] = rows  # c3 keeps its own id; c2 matches by name and is updated in place
    assert (mine.status, mine.target_id) == (Status.WILL_CREATE, "c4")
    assert id_map(rows) == {kind: {"c1": "c4"}}
