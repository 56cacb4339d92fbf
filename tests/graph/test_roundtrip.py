"""Backup → restore round trip for every catalog type, against the simulator.

list → complete snapshot (every page of every sub-collection) → create payload → create in
the same tenant → assign → read back: the copy is semantically equal to the original
(Graph-managed fields and server ids aside). This is the proof a backup can be restored.
"""

from __future__ import annotations

import pytest

from shared.graph import (
    CATALOG,
    assign_item,
    comparable,
    create_item,
    diff,
    fetch_snapshot,
    fetch_snapshots,
    list_items,
    sha256_of,
)
from shared.graph.documents import canonical_json
from shared.platform.codes import ErrorCode

pytestmark = pytest.mark.anyio

def _params() -> list:
    return [pytest.param(entry, id=entry.key) for entry in CATALOG if entry.creatable]


@pytest.mark.parametrize("rtype", _params())
async def test_roundtrip_every_type_created_copy_equals_original(rtype, client, tenants,
                                                                 graphsim):
    tenant = tenants[0]
    refs = await list_items(tenant, rtype.key, client=client)
    assert refs, f"the simulator seeds {rtype.key}"
    results = await fetch_snapshots(tenant, rtype.key, [r.id for r in refs], client=client)
    assert [r.error for r in results] == [None] * len(refs)
    restorable = [r.document for r in results if rtype.can_create(r.document)
                  and not (rtype.content_required and rtype.content_required(r.document))]
    if not restorable and rtype.content_required is not None:
        pytest.skip(f"{rtype.key}: Graph never reads back the content a create needs")
    assert restorable
    chooses_id = rtype.create_method != "POST"  # the id is the client's: recreated in place
    for original in restorable:
        assert "@odata.context" not in canonical_json(original).decode()
        if chooses_id:
            graphsim.drift(tenant, rtype.key, original["id"], "delete")
        created = await create_item(tenant, rtype.key, original, ca_state="as_snapshot",
                                    client=client)
        assert (created.id == original["id"]) if chooses_id else (created.id != original["id"])
        if rtype.has_assignments and original.get("assignments"):
            await assign_item(tenant, rtype.key, created.id, original["assignments"],
                              client=client, document=original)
        copy = await fetch_snapshot(tenant, rtype.key, created.id, client=client)
        assert diff(rtype, original, copy) == []
        assert comparable(rtype, copy) == comparable(rtype, original)


async def test_snapshot_settings_come_inline_with_the_item_get(client, tenants, graphsim):
    refs = await list_items(tenants[0], "configurationPolicies", client=client)
    big = next(r for r in refs if r.display_name == "SC Policy 0001")
    graphsim.clear_requests()
    doc = await fetch_snapshot(tenants[0], "configurationPolicies", big.id, client=client)
    assert [s["id"] for s in doc["settings"]] == [str(i) for i in range(60)]
    assert doc["assignments"]  # read on their own: the item GET expands them as []
    paths = [e["path"] for e in graphsim.requests() if e["kind"] == "graph"]
    assert not [p for p in paths if p.endswith("/settings")]
    assert len(paths) == 2


async def test_snapshot_settings_cut_short_inline_are_read_again_every_page(client, tenants,
                                                                             graphsim):
    graphsim.reset(expand_limit=5)  # Graph cuts the expansion short, without a nextLink
    refs = await list_items(tenants[0], "configurationPolicies", client=client)
    big = next(r for r in refs if r.display_name == "SC Policy 0001")
    doc = await fetch_snapshot(tenants[0], "configurationPolicies", big.id, client=client)
    assert [s["id"] for s in doc["settings"]] == [str(i) for i in range(60)]
    pages = [e for e in graphsim.requests() if e["path"].endswith(f"{big.id}/settings")]
    assert len(pages) == 3  # settingCount said 60: the settings were paged at 25 instead
    batched = await fetch_snapshots(tenants[0], "configurationPolicies", [big.id],
                                    client=client)
    assert batched[0].document == doc


async def test_snapshot_hash_unchanged_when_only_server_fields_change(client, tenants,
                                                                      graphsim):
    refs = await list_items(tenants[0], "deviceConfigurations", client=client)
    before = await fetch_snapshot(tenants[0], "deviceConfigurations", refs[0].id,
                                  client=client)
    graphsim.drift(tenants[0], "deviceConfigurations", refs[0].id, "modify",
                   {"description": before["description"]})  # bumps version + timestamp
    after = await fetch_snapshot(tenants[0], "deviceConfigurations", refs[0].id,
                                 client=client)
    assert sha256_of(after) == sha256_of(before)
    graphsim.drift(tenants[0], "deviceConfigurations", refs[0].id, "modify",
                   {"description": "changed"})
    changed = await fetch_snapshot(tenants[0], "deviceConfigurations", refs[0].id,
                                   client=client)
    assert sha256_of(changed) != sha256_of(before)
    assert diff(CATALOG[1], before, changed) == [{"path": "description", "change": "changed"}]


async def test_fetch_snapshots_reports_a_missing_item_without_failing_the_rest(client,
                                                                               tenants):
    refs = await list_items(tenants[0], "deviceCompliancePolicies", client=client)
    ids = [refs[0].id, "00000000-0000-4000-8000-000000000000", refs[1].id]
    results = await fetch_snapshots(tenants[0], "deviceCompliancePolicies", ids,
                                    client=client)
    assert [r.item_id for r in results] == ids
    assert results[0].document and results[2].document
    assert results[1].document is None and results[1].error.code == ErrorCode.GRAPH_NOT_FOUND
    assert results[0].document["scheduledActionsForRule"][0]["scheduledActionConfigurations"]
