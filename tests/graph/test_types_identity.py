"""Entra identity types against the simulator: authentication strengths (custom only,
combinations through their action), authentication contexts (PATCH upsert under their id),
terms of use agreements (content_required), and the Conditional Access references to them
(restore order, id remapping, the strength written by id).

The round trip of every creatable type is ``test_roundtrip.py``.
"""

from __future__ import annotations

import pytest

from shared.graph import (
    GraphClient,
    create_item,
    fetch_snapshot,
    list_items,
    restore_levels,
    supported_type,
    to_create_payload,
    to_update_payload,
    update_item,
)
from shared.graph.catalog import BY_KEY
from shared.platform.codes import ErrorCode
from shared.platform.errors import GraphBadRequest, GraphError
from shared.restore.match import assess_batch

pytestmark = pytest.mark.anyio

STRENGTHS = "authenticationStrengthPolicies"
CONTEXTS = "authenticationContextClassReferences"
AGREEMENTS = "termsOfUseAgreements"
CA = "conditionalAccessPolicies"
BUILT_IN = "00000000-0000-0000-0000-000000000004"
STEP_UP = "CA900 - Step-up with custom strength"
STRENGTHS_PATH = BY_KEY[STRENGTHS].path
CONTEXTS_PATH = BY_KEY[CONTEXTS].path
AGREEMENTS_PATH = BY_KEY[AGREEMENTS].path




async def _snapshot(client: GraphClient, tenant: str, key: str, name: str) -> dict:
    [ref] = [r for r in await list_items(tenant, key, client=client) if r.display_name == name]
    return await fetch_snapshot(tenant, key, ref.id, client=client)


async def _assess(tenant: str, key: str, snapshot: dict, id_map: dict | None = None):
    [assessment] = await assess_batch(tenant, supported_type(key), [(snapshot["id"], snapshot)],
                                      include_assignments=True, ca_state="as_snapshot",
                                      id_map=id_map)
    return assessment


def _graph_calls(graphsim, cursor: int) -> list[tuple[str, str]]:
    return [(e["method"], e["path"].split("/", 2)[2]) for e in graphsim.requests(cursor)
            if e["kind"] == "graph" and e["status"] < 400]


# ---- authentication strengths ---------------------------------------------------------------

async def test_strength_built_in_is_listed_by_graph_but_never_backed_up(client, tenants):
    listed = await client.get_all(tenants[0], STRENGTHS_PATH, version="v1.0")
    assert {s["policyType"] for s in listed} == {"builtIn", "custom"}
    refs = await list_items(tenants[0], STRENGTHS, client=client)
    assert refs and BUILT_IN not in {r.id for r in refs}
    assert {s["id"] for s in listed if s["policyType"] == "custom"} == {r.id for r in refs}


async def test_strength_update_with_changed_combinations_calls_the_action_patch_without_them(
        client, tenants, graphsim):
    tenant = tenants[0]
    snapshot = await _snapshot(client, tenant, STRENGTHS, "PV Strength 1")
    desired = {**snapshot, "description": "changed",
               "allowedCombinations": ["fido2", "x509CertificateMultiFactor"]}
    assert "allowedCombinations" not in to_update_payload(BY_KEY[STRENGTHS], desired)
    assert "allowedCombinations" in to_create_payload(BY_KEY[STRENGTHS], desired)
    cursor = graphsim.request_cursor()

    await update_item(tenant, STRENGTHS, snapshot["id"], desired, client=client)

    item = f"{STRENGTHS_PATH}/{snapshot['id']}"
    writes = [c for c in _graph_calls(graphsim, cursor) if c[0] != "GET"]
    assert writes == [("PATCH", item), ("POST", f"{item}/updateAllowedCombinations")]
    live = await fetch_snapshot(tenant, STRENGTHS, snapshot["id"], client=client)
    assert live["allowedCombinations"] == desired["allowedCombinations"]
    assert live["description"] == "changed"
    assert live["combinationConfigurations"] == snapshot["combinationConfigurations"]


async def test_strength_patch_carrying_combinations_is_refused_as_by_graph(client, tenants):
    snapshot = await _snapshot(client, tenants[0], STRENGTHS, "PV Strength 1")
    with pytest.raises(GraphBadRequest):
        await client.request(tenants[0], "PATCH", f"{STRENGTHS_PATH}/{snapshot['id']}",
                             json={"allowedCombinations": ["fido2"]})
    with pytest.raises(GraphBadRequest):  # built-ins cannot be changed at all
        await client.request(tenants[0], "POST",
                             f"{STRENGTHS_PATH}/{BUILT_IN}/updateAllowedCombinations",
                             json={"allowedCombinations": ["fido2"]})


async def test_strength_update_with_unchanged_combinations_does_not_call_the_action(
        client, tenants, graphsim):
    snapshot = await _snapshot(client, tenants[0], STRENGTHS, "PV Strength 1")
    cursor = graphsim.request_cursor()
    await update_item(tenants[0], STRENGTHS, snapshot["id"], {**snapshot, "description": "x"},
                      client=client)
    assert [c for c in _graph_calls(graphsim, cursor) if c[0] != "GET"] == [
        ("PATCH", f"{STRENGTHS_PATH}/{snapshot['id']}")]


# ---- authentication contexts ------------------------------------------------------------------

async def test_context_gone_live_is_recreated_by_patch_under_its_id(client, tenants, graphsim,
                                                                   loop_client):
    tenant = tenants[0]
    snapshot = await _snapshot(client, tenant, CONTEXTS, "PV Context 1")
    graphsim.drift(tenant, CONTEXTS_PATH, snapshot["id"], "delete")

    assessment = await _assess(tenant, CONTEXTS, snapshot)
    assert assessment.action == "create"
    cursor = graphsim.request_cursor()
    created = await create_item(tenant, CONTEXTS, assessment.desired, client=client)

    assert created.id == snapshot["id"] == "c1"
    writes = [c for c in _graph_calls(graphsim, cursor) if c[0] != "GET"]
    assert writes == [("PATCH", f"{CONTEXTS_PATH}/c1")]
    assert await fetch_snapshot(tenant, CONTEXTS, "c1", client=client) == snapshot
    assert (await _assess(tenant, CONTEXTS, snapshot)).action == "no_change"


@pytest.mark.parametrize("method,item", [("PATCH", "c0"), ("PATCH", "c100"), ("PATCH", "x1"),
                                         ("POST", None)])
async def test_context_ids_outside_c1_to_c99_and_post_are_refused(client, tenants, method,
                                                                  item):
    path = f"{CONTEXTS_PATH}/{item}" if item else CONTEXTS_PATH
    with pytest.raises(GraphError) as refused:
        await client.request(tenants[0], method, path,
                             json={"id": "c7", "displayName": "New context"})
    assert refused.value.status in (400, 405)
    assert "New context" not in {r.display_name
                                 for r in await list_items(tenants[0], CONTEXTS, client=client)}


# ---- terms of use --------------------------------------------------------------------------

async def test_agreement_files_are_backed_up_but_graph_never_reads_the_pdf_back(
        client, tenants, graphsim, loop_client):
    tenant = tenants[0]
    snapshot = await _snapshot(client, tenant, AGREEMENTS, "PV Terms of use 1")
    assert [f["fileName"] for f in snapshot["files"]] == ["TOU.pdf"]
    assert snapshot["files"][0]["fileData"] is None
    graphsim.drift(tenant, AGREEMENTS_PATH, snapshot["id"], "delete")

    assessment = await _assess(tenant, AGREEMENTS, snapshot)

    assert assessment.action == "skip"
    assert assessment.error["code"] == ErrorCode.CONTENT_REQUIRED


async def test_agreement_is_created_when_the_backup_holds_the_pdf(client, tenants,
                                                                 loop_client):
    tenant = tenants[0]
    snapshot = await _snapshot(client, tenant, AGREEMENTS, "PV Terms of use 1")
    held = {**snapshot, "id": "22222222-2222-4222-8222-222222222222",  # gone from the tenant
            "displayName": "Recreated terms",
            "files": [{**f, "fileData": {"data": "JVBERi0xLjQK"}} for f in snapshot["files"]]}
    assert (await _assess(tenant, AGREEMENTS, held)).action == "create"

    created = await create_item(tenant, AGREEMENTS, held, client=client)

    copy = await fetch_snapshot(tenant, AGREEMENTS, created.id, client=client)
    assert [(f["fileName"], f["language"], f["fileData"]) for f in copy["files"]] == [
        ("TOU.pdf", "en", None)]


# ---- Conditional Access references -----------------------------------------------------------

def test_restore_levels_put_strengths_contexts_and_agreements_before_ca():
    level = {key: n for n, keys in enumerate(restore_levels()) for key in keys}
    for key in (STRENGTHS, CONTEXTS, AGREEMENTS):
        assert level[key] < level[CA]


async def test_ca_strength_read_whole_is_kept_and_written_by_id(client, tenants, graphsim):
    [raw] = [p for p in graphsim.objects(tenants[0], "identity/conditionalAccess/policies")
             if p["displayName"] == STEP_UP]
    strength = await _snapshot(client, tenants[0], STRENGTHS, "PV Strength 1")
    policy = await _snapshot(client, tenants[0], CA, STEP_UP)
    # Graph shows the whole strength; the snapshot keeps its id (the strength has its own)
    assert policy["grantControls"]["authenticationStrength"] == {"id": strength["id"]}
    body = to_create_payload(BY_KEY[CA], policy)
    assert body["grantControls"]["authenticationStrength"] == {"id": strength["id"]}
    assert raw["grantControls"]["authenticationStrength"]["id"] == strength["id"]
    assert body["conditions"]["applications"]["includeAuthenticationContextClassReferences"] \
        == ["c1"]
    assert body["grantControls"]["termsOfUse"]


async def test_recreated_strength_id_lands_in_ca_grant_controls_through_the_id_map(
        client, tenants, graphsim, loop_client):
    tenant = tenants[0]
    strength = await _snapshot(client, tenant, STRENGTHS, "PV Strength 1")
    policy = await _snapshot(client, tenant, CA, STEP_UP)
    assert policy["grantControls"]["authenticationStrength"]["id"] == strength["id"]
    graphsim.drift(tenant, STRENGTHS_PATH, strength["id"], "delete")

    recreate = await _assess(tenant, STRENGTHS, strength)
    assert recreate.action == "create"
    new = await create_item(tenant, STRENGTHS, recreate.desired, client=client)
    id_map = {STRENGTHS: {strength["id"]: new.id}}
    assessment = await _assess(tenant, CA, policy, id_map)

    assert new.id != strength["id"]
    assert assessment.action == "update"
    assert assessment.desired["grantControls"]["authenticationStrength"]["id"] == new.id
    await update_item(tenant, CA, policy["id"], assessment.desired, ca_state="as_snapshot",
                      client=client)
    live = await fetch_snapshot(tenant, CA, policy["id"], client=client)
    assert live["grantControls"]["authenticationStrength"] == {"id": new.id}
    assert (await _assess(tenant, CA, policy, id_map)).action == "no_change"


@pytest.mark.parametrize("where", ["strength", "context", "terms"])
async def test_ca_naming_an_unknown_strength_context_or_terms_is_refused(client, tenants,
                                                                        where):
    body = to_create_payload(BY_KEY[CA], await _snapshot(client, tenants[0], CA, STEP_UP),
                             ca_state="as_snapshot")
    unknown = "11111111-1111-4111-8111-111111111111"
    if where == "strength":
        body["grantControls"]["authenticationStrength"] = {"id": unknown}
    elif where == "context":
        body["conditions"]["applications"]["includeAuthenticationContextClassReferences"] = [
            "c42"]
    else:
        body["grantControls"]["termsOfUse"] = [unknown]
    with pytest.raises(GraphBadRequest):
        await client.request(tenants[0], "POST", BY_KEY[CA].path, json=body)

