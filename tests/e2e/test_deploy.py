"""Cross-tenant deployment end to end (DESIGN §11): a source tenant's backup set into another
tenant whose groups, filters and scope tags carry the same names under different ids."""

from __future__ import annotations

import uuid

import pytest

from shared.graph.entries.apps import POLICY_SET_PAYLOADS
from tests.e2e.deploy_support import (
    POLICY,
    assigned,
    baseline_policy,
    deploy,
    deployed,
    group,
    mapping,
    named,
    row,
    source_set,
    source_writes,
)
from tests.e2e.restore_support import backup, create_in_graph, live


@pytest.fixture
def tenants(sim, admin) -> tuple[str, str]:
    """Source and target; the pair's saved mappings (storage outlives a test) start empty."""
    source, target = sim.tenant_ids[0], sim.tenant_ids[1]
    cleared = admin.request("PUT", f"/api/tenants/{target}/mappings/{source}",
                            json={"mappings": {}})
    assert cleared.status_code == 200, cleared.text
    return source, target


def _domain(n: int) -> str:
    return f"contoso{n}.onmicrosoft.com"


def test_deploy_maps_every_reference_by_name_rewrites_tenant_values_and_never_writes_the_source(
        admin, sim, tenants):
    source, target = tenants
    policy = baseline_policy(
        sim, source, "Baseline KFM", include=["PV Group 001"], exclude=["PV Group 002"],
        description=f"KFM for tenant {source} (https://{_domain(1)}/sites)")
    set_id = source_set(admin, source)
    item_id = f"{POLICY}.{policy['id']}"
    cursor = sim.request_cursor()

    preview = deployed(admin, target, set_id, source, item_ids=[item_id])
    run = deployed(admin, target, set_id, source, item_ids=[item_id], dry_run=False)
    again = deployed(admin, target, set_id, source, item_ids=[item_id], dry_run=False)

    assert preview["source_tenant_id"] == source and preview["status"] == "succeeded", preview
    rows = mapping(admin, target, preview["run_id"])
    expected = {
        ("groups", group(sim, source, "PV Group 001")["id"]):
            group(sim, target, "PV Group 001")["id"],
        ("groups", group(sim, source, "PV Group 002")["id"]):
            group(sim, target, "PV Group 002")["id"],
        ("assignmentFilters", named(sim, source, "assignmentFilters", "Filter 001")["id"]):
            named(sim, target, "assignmentFilters", "Filter 001")["id"],
        ("roleScopeTags", named(sim, source, "roleScopeTags", "Scope 1")["id"]):
            named(sim, target, "roleScopeTags", "Scope 1")["id"],
        ("roleScopeTags", "0"): "0",
    }
    for (kind, source_id), target_id in expected.items():
        found = row(rows, kind, source_id)
        assert (found["status"], found["via"], found["target_id"]) == (
            "mapped", "name", target_id), found
        assert found["referenced_by"] == [item_id]
    assert row(rows, "groups", group(sim, source, "PV Group 002")["id"])["exclusion"] is True
    values = {(r["source_id"], r["target_id"], r["path"]) for r in rows
              if r["kind"] == "tenant_value"}
    assert values == {(source, target, "description"),
                      (_domain(1), _domain(2), "description")}
    [item] = admin.items(target, preview["run_id"])
    assert item["action"] == "would_create"

    assert run["status"] == "succeeded", run
    copy = named(sim, target, POLICY, "Baseline KFM")
    assert assigned(copy) == {
        ("groupAssignmentTarget", group(sim, target, "PV Group 001")["id"],
         named(sim, target, "assignmentFilters", "Filter 001")["id"]),
        ("exclusionGroupAssignmentTarget", group(sim, target, "PV Group 002")["id"], None)}
    assert sorted(copy["roleScopeTagIds"]) == sorted(
        ["0", named(sim, target, "roleScopeTags", "Scope 1")["id"]])
    assert copy["description"] == f"KFM for tenant {target} (https://{_domain(2)}/sites)"
    assert run["pre_restore_backup_set_id"]

    assert again["status"] == "succeeded", again
    assert [i["action"] for i in admin.items(target, again["run_id"])] == ["no_change"]
    assert source_writes(sim, cursor, source) == []
    audit = admin.ok("GET", f"/api/tenants/{target}/audit")["value"]
    started = [e for e in audit if e["run_id"] == run["run_id"]
               and e["action"] == "restore.started"]
    assert started and started[0]["details"]["source_tenant_id"] == source
    assert started[0]["details"]["target_tenant_id"] == target


def test_deploy_ambiguous_group_stops_a_live_run_until_overridden_and_the_registry_keeps_it(
        admin, sim, tenants):
    source, target = tenants
    policy = baseline_policy(sim, source, "Baseline Ambiguous", include=["PV Group 003"],
                             exclude=[], filter_name=None)
    twin = create_in_graph(sim, target, "groups", {
        "displayName": "PV Group 003", "mailNickname": "pvgroup3b", "mailEnabled": False,
        "securityEnabled": True})
    set_id = source_set(admin, source)
    item_id = f"{POLICY}.{policy['id']}"
    source_group = group(sim, source, "PV Group 003")["id"]

    preview = deployed(admin, target, set_id, source, item_ids=[item_id])
    ambiguous = row(mapping(admin, target, preview["run_id"]), "groups", source_group)
    assert ambiguous["status"] == "ambiguous" and twin["id"] in ambiguous["candidates"]
    assert len(ambiguous["candidates"]) == 2

    refused = deploy(admin, target, set_id, source, item_ids=[item_id], dry_run=False)
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "mapping_unresolved"
    assert [u["source_id"] for u in refused.json()["unresolved"]] == [source_group]
    assert "Baseline Ambiguous" not in {p["displayName"] for p in sim.objects(
        target, "deviceManagement/deviceConfigurations")}

    run = deployed(admin, target, set_id, source, item_ids=[item_id], dry_run=False,
                   mappings={source_group: twin["id"]})
    assert run["status"] == "succeeded", run
    assert assigned(named(sim, target, POLICY, "Baseline Ambiguous")) == {
        ("groupAssignmentTarget", twin["id"], None)}
    saved = admin.ok("GET", f"/api/tenants/{target}/mappings/{source}")["value"]
    assert [(m["source_id"], m["target_id"], m["kind"]) for m in saved] == [
        (source_group, twin["id"], "groups")]

    reused = deployed(admin, target, set_id, source, item_ids=[item_id])
    via_registry = row(mapping(admin, target, reused["run_id"]), "groups", source_group)
    assert (via_registry["status"], via_registry["via"], via_registry["target_id"]) == (
        "mapped", "registry", twin["id"])
    [item] = admin.items(target, reused["run_id"])
    assert item["action"] == "no_change"

    sim.drift(target, "groups", twin["id"], op="delete")
    stale = deployed(admin, target, set_id, source, item_ids=[item_id])
    gone = row(mapping(admin, target, stale["run_id"]), "groups", source_group)
    assert (gone["status"], gone["via"]) == ("missing", "registry")

    original = group(sim, target, "PV Group 003")["id"]
    put = admin.request("PUT", f"/api/tenants/{target}/mappings/{source}",
                        json={"mappings": {source_group: original}})
    assert put.status_code == 200, put.text
    fixed = deployed(admin, target, set_id, source, item_ids=[item_id])
    again = row(mapping(admin, target, fixed["run_id"]), "groups", source_group)
    assert (again["status"], again["via"], again["target_id"]) == (
        "mapped", "registry", original)


def test_deploy_missing_group_is_created_or_dropped_but_an_exclusion_is_never_dropped(
        admin, sim, tenants):
    source, target = tenants
    policy = baseline_policy(sim, source, "Baseline Missing", include=["PV Group 004"],
                             exclude=["PV Group 005"], filter_name=None)
    sim.drift(target, "groups", group(sim, target, "PV Group 004")["id"], op="delete")
    set_id = source_set(admin, source)
    item_id = f"{POLICY}.{policy['id']}"
    include, exclude = (group(sim, source, f"PV Group 00{n}")["id"] for n in (4, 5))

    alone = deployed(admin, target, set_id, source, item_ids=[item_id])
    assert row(mapping(admin, target, alone["run_id"]), "groups", include)["status"] == \
        "missing"
    refused = deploy(admin, target, set_id, source, item_ids=[item_id], dry_run=False)
    assert refused.status_code == 422 and refused.json()["code"] == "mapping_unresolved"
    no_exclusion = deploy(admin, target, set_id, source, item_ids=[item_id],
                          mappings={exclude: None})
    assert no_exclusion.status_code == 422, no_exclusion.text
    assert no_exclusion.json()["code"] == "mapping_invalid"

    dropped = deployed(admin, target, set_id, source, item_ids=[item_id], dry_run=False,
                       mappings={include: None})
    assert dropped["status"] == "succeeded", dropped
    assert row(mapping(admin, target, dropped["run_id"]), "groups", include)["status"] == \
        "dropped"
    assert assigned(named(sim, target, POLICY, "Baseline Missing")) == {
        ("exclusionGroupAssignmentTarget", group(sim, target, "PV Group 005")["id"], None)}

    with_group = [item_id, f"groups.{include}"]
    planned = deployed(admin, target, set_id, source, item_ids=with_group,
                       create_missing_groups=True)
    will = row(mapping(admin, target, planned["run_id"]), "groups", include)
    assert will["status"] == "will_create"
    created = deployed(admin, target, set_id, source, item_ids=with_group,
                       create_missing_groups=True, dry_run=False)
    assert created["status"] == "succeeded", created
    new_group = group(sim, target, "PV Group 004")
    assert new_group["id"] != include
    assert ("groupAssignmentTarget", new_group["id"], None) in assigned(
        named(sim, target, POLICY, "Baseline Missing"))


def test_deploy_into_a_tenant_without_the_filter_and_scope_tag_brings_them_first(
        admin, sim, tenants):
    """The demo's new customer: the policy's filter and scope tag, and the filter's own scope
    tag, are not in the target; the deployment brings all three, so the preview fails
    nothing and the live run writes each under the id the target gave what came before."""
    source, target = tenants
    policy = baseline_policy(sim, source, "Baseline Fresh", include=["PV Group 001"],
                             exclude=[])
    source_filter = named(sim, source, "assignmentFilters", "Filter 001")
    source_scope = named(sim, source, "roleScopeTags", "Scope 1")
    sim.drift(source, "assignmentFilters", source_filter["id"],
              patch={"roleScopeTags": ["0", source_scope["id"]]})  # a filter's own name
    sim.drift(target, "assignmentFilters",
              named(sim, target, "assignmentFilters", "Filter 001")["id"], op="delete")
    sim.drift(target, "roleScopeTags", named(sim, target, "roleScopeTags", "Scope 1")["id"],
              op="delete")
    set_id = source_set(admin, source)
    selection = [f"{POLICY}.{policy['id']}", f"assignmentFilters.{source_filter['id']}",
                 f"roleScopeTags.{source_scope['id']}"]

    preview = deployed(admin, target, set_id, source, item_ids=selection)
    run = deployed(admin, target, set_id, source, item_ids=selection, dry_run=False)

    assert preview["status"] == "succeeded", preview
    assert {i["item_id"]: i["action"] for i in admin.items(target, preview["run_id"])} == {
        item: "would_create" for item in selection}
    assert run["status"] == "succeeded", run
    scope = named(sim, target, "roleScopeTags", "Scope 1")
    new_filter = named(sim, target, "assignmentFilters", "Filter 001")
    assert new_filter["roleScopeTags"] == ["0", scope["id"]]
    copy = named(sim, target, POLICY, "Baseline Fresh")
    assert copy["roleScopeTagIds"] == ["0", scope["id"]]
    assert assigned(copy) == {("groupAssignmentTarget", group(sim, target, "PV Group 001")[
        "id"], new_filter["id"])}


def test_deploy_never_takes_a_source_scope_tag_id_for_the_target_tag_of_that_number(
        admin, sim, tenants):
    """Scope tags are numbered per tenant: the source's "Scope 1" may share its id with
    another tag of the target. A policy is never written under that other tag."""
    source, target = tenants
    policy = baseline_policy(sim, source, "Baseline Tagged", include=["PV Group 001"],
                             exclude=[])
    scope = named(sim, source, "roleScopeTags", "Scope 1")
    for tag in live(sim, target, "roleScopeTags"):  # the customer's own tags, numbered alike
        if tag["displayName"] == "Scope 1" and tag["id"] != scope["id"]:
            sim.drift(target, "roleScopeTags", tag["id"], op="delete")
    sim.drift(target, "roleScopeTags", scope["id"], patch={"displayName": "Helpdesk Only"})
    set_id = source_set(admin, source)
    policy_item, tag_item = f"{POLICY}.{policy['id']}", f"roleScopeTags.{scope['id']}"

    alone = deployed(admin, target, set_id, source, item_ids=[policy_item])
    sim.add_fault("status", status=400, method="POST",
                  path_prefix="/beta/deviceManagement/roleScopeTags")
    refused = deployed(admin, target, set_id, source, item_ids=[policy_item, tag_item],
                       dry_run=False)

    assert row(mapping(admin, target, alone["run_id"]), "roleScopeTags", scope["id"])[
        "status"] == "missing"
    [item] = admin.items(target, alone["run_id"])
    assert (item["action"], item["error"]["code"]) == ("failed", "missing_reference")
    outcome = {i["item_id"]: (i["action"], i["error"]["code"])
               for i in admin.items(target, refused["run_id"])}
    assert outcome[policy_item] == ("failed", "missing_reference")
    assert outcome[tag_item][0] == "failed"
    assert [o for o in live(sim, target, POLICY) if o["displayName"] == "Baseline Tagged"] == []


def test_deploy_bad_input_answers_as_design_section_11_says(admin, sim, tenants, stack):
    source, target = tenants
    set_id = source_set(admin, source, ["assignmentFilters"])
    target_set = source_set(admin, target, ["assignmentFilters"])
    cases = [
        (deploy(admin, target, set_id, target), 400, "validation_failed"),
        (deploy(admin, target, set_id, source, ca_state="as_snapshot"), 400,
         "validation_failed"),
        (deploy(admin, target, target_set, source), 404, "not_found"),
        (deploy(admin, target, set_id, source, mappings={"not-referenced": None}), 422,
         "mapping_invalid"),
        (deploy(admin, target, set_id, source, mappings={"0": "999"}), 422,
         "mapping_invalid"),  # the filters' scope tag: the target has no scope tag 999
    ]
    for response, status, code in cases:
        assert (response.status_code, response.json()["code"]) == (status, code), \
            response.text
    oid = str(uuid.uuid4())
    with stack.api(oid, []) as operator:
        admin.grant(target, oid, "operator")
        unreadable = deploy(operator, target, set_id, source)
        assert unreadable.status_code == 403, unreadable.text
        admin.grant(source, oid, "reader")
        readable = deploy(operator, target, set_id, source)
        assert readable.status_code == 202, readable.text
        operator.wait(readable)
        live = deploy(operator, target, set_id, source, dry_run=False)
        assert live.status_code == 403, live.text


EXPECTED_KINDS = {"groups", "assignmentFilters", "roleScopeTags", "namedLocations",
                  "authenticationStrengthPolicies", "authenticationContextClassReferences",
                  "notificationMessageTemplates", "reusablePolicySettings",
                  "deviceComplianceScripts", "termsOfUseAgreements", "mobileAppCategories"}


def test_deploy_whole_baseline_plan_maps_every_reference_kind_to_the_target_object_of_its_name(
        admin, sim, tenants):
    from shared.graph import supported_type

    source, target = tenants
    set_id = backup(admin, source)["backup_set_id"]
    cursor = sim.request_cursor()

    run = deployed(admin, target, set_id, source)

    assert run["status"] == "succeeded", run
    rows = mapping(admin, target, run["run_id"])
    kinds = {r["kind"] for r in rows}
    assert EXPECTED_KINDS <= kinds, EXPECTED_KINDS - kinds
    assert kinds & set(POLICY_SET_PAYLOADS)  # a policy set's items, by the type they name
    for r in rows:
        rtype = supported_type(r["kind"])
        [same_name] = [o["id"] for o in live(sim, target, r["kind"])
                       if o.get(rtype.name_field) == r["source_name"]]
        assert (r["status"], r["via"], r["target_id"]) == ("mapped", "name", same_name), r
        if r["kind"] in ("groups", "assignmentFilters", "namedLocations"):
            assert r["target_id"] != r["source_id"], r  # same name, another id
    assert sim.writes(cursor) == []


CONTEXTS, CA = "authenticationContextClassReferences", "conditionalAccessPolicies"


def test_deploy_context_whose_id_another_context_holds_gets_a_free_id_and_ca_follows(
        admin, sim, tenants):
    source, target = tenants
    [policy] = [p for p in live(sim, source, CA) if "c1" in (
        p["conditions"]["applications"].get("includeAuthenticationContextClassReferences")
        or [])][:1]
    sim.drift(source, CA, policy["id"], patch={"state": "enabled"})
    for same in [p for p in live(sim, target, CA) if p["displayName"] == policy["displayName"]]:
        sim.drift(target, CA, same["id"], op="delete")  # so the deployment creates it
    sim.drift(target, CONTEXTS, "c1", patch={"displayName": "The customer's own context"})
    taken = {c["id"] for c in live(sim, target, CONTEXTS)}
    set_id = source_set(admin, source, [CONTEXTS, CA, "namedLocations", "groups",
                                        "authenticationStrengthPolicies",
                                        "termsOfUseAgreements"])
    selection = [f"{CONTEXTS}.c1", f"{CA}.{policy['id']}"]

    run = deployed(admin, target, set_id, source, item_ids=selection, dry_run=False)

    assert run["status"] == "succeeded", run
    context = row(mapping(admin, target, run["run_id"]), CONTEXTS, "c1")
    assert context["status"] == "will_create" and context["target_id"] not in taken
    contexts = {c["id"]: c["displayName"] for c in live(sim, target, CONTEXTS)}
    assert contexts["c1"] == "The customer's own context"
    assert contexts[context["target_id"]] == named(sim, source, CONTEXTS, contexts[
        context["target_id"]])["displayName"]
    [copy] = [p for p in live(sim, target, CA) if p["displayName"] == policy["displayName"]]
    assert copy["conditions"]["applications"]["includeAuthenticationContextClassReferences"] \
        == [context["target_id"]]
    assert copy["state"] == "enabledForReportingButNotEnforced"  # never enforced across tenants


PROFILES = "androidDeviceOwnerEnrollmentProfiles"


def test_deploy_secrets_cross_only_for_an_admin_of_the_source(admin, sim, tenants, stack):
    source, target = tenants
    profile = live(sim, source, PROFILES)[0]
    sim.drift(source, PROFILES, profile["id"], patch={
        "wifiSsid": "corp", "wifiSecurityType": "wpa", "wifiPassword": "s3cret-wifi"})
    # With the scope tags, so the profile's tags map by name (never by their numbers).
    set_id = source_set(admin, source, ["roleScopeTags", PROFILES])
    selection = [f"{PROFILES}.{profile['id']}"]
    oid = str(uuid.uuid4())
    admin.grant(source, oid, "reader")
    admin.grant(target, oid, "operator")

    with stack.api(oid, []) as reader_of_source:
        kept_out = reader_of_source.wait(deploy(reader_of_source, target, set_id, source,
                                                item_ids=selection))
        [item] = reader_of_source.items(target, kept_out["run_id"])
    copied = deployed(admin, target, set_id, source, item_ids=selection)
    [admins_item] = admin.items(target, copied["run_id"])

    assert kept_out["status"] == "succeeded", kept_out
    [warning] = item["warnings"]
    assert warning["code"] == "secret_not_copied" and "wifiPassword" in warning["message"]
    assert "s3cret-wifi" not in str(item)
    assert admins_item["warnings"] == []


def test_deploy_retried_with_its_key_reads_no_graph_and_answers_the_run_it_started(
        admin, sim, tenants):
    source, target = tenants
    set_id = source_set(admin, source, ["assignmentFilters"])
    body = {"backup_set_id": set_id, "source_tenant_id": source}
    key = {"Idempotency-Key": f"deploy-{uuid.uuid4()}"}
    first = admin.request("POST", f"/api/tenants/{target}/restores", json=body, headers=key)
    assert first.status_code == 202, first.text
    admin.wait(first)
    cursor = sim.request_cursor()

    again = admin.request("POST", f"/api/tenants/{target}/restores", json=body, headers=key)

    assert again.status_code == 202, again.text
    assert again.json()["reused"] is True
    assert again.json()["run_id"] == first.json()["run_id"]
    # The retry costs the customer's Graph budget nothing: its plan was checked at the start.
    assert [r for r in sim.requests(cursor) if r.get("tenant") == target] == []
