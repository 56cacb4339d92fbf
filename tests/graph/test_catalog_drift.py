"""The product's catalog and the simulator's may not drift apart: the same policy type keys,
and every collection PolicyVault reads or writes — the platform collections of polymorphic
types included — served by the simulator, in the version the product uses.

If a catalog entry gains a type or a write path the simulator does not serve, the tests that
run against the simulator would stop proving anything about it; these fail first.
"""

from __future__ import annotations

import pytest

from local.graphsim import catalog as sim
from shared.graph import (
    CATALOG,
    SUPPORTED_KEYS,
    assign_item,
    create_item,
    fetch_snapshot,
    list_items,
    update_item,
)
from shared.graph.catalog import ResourceType, Restore

pytestmark = pytest.mark.anyio


def _write_collections(entry: ResourceType) -> dict[str | None, str]:
    """``@odata.type`` → the collection the product creates it in (None: any type)."""
    return dict(entry.write_paths) or {None: entry.path}


def _served(path: str) -> sim.TypeSpec:
    resolved = sim.resolve(path.split("/"))
    assert resolved is not None and resolved.spec.path == path, f"{path} is not served"
    return resolved.spec


def test_catalog_drift_type_keys_are_the_simulators():
    assert sorted(SUPPORTED_KEYS) == sorted(sim.POLICY_TYPE_KEYS)
    for entry in CATALOG:
        assert sim.BY_KEY[entry.key].path == entry.path, entry.key


@pytest.mark.parametrize("entry", [pytest.param(e, id=e.key) for e in CATALOG])
def test_catalog_drift_every_collection_the_product_uses_is_served(entry):
    read = _served(entry.path)
    assert entry.version in read.versions
    assert entry.sub_names <= read.nav_names, "a sub-collection the product reads"
    for odata_type, path in _write_collections(entry).items():
        spec = _served(path)
        assert spec.writable and entry.version in spec.versions, path
        assert odata_type is None or odata_type in spec.odata_types, (path, odata_type)
        assert odata_type is None or odata_type in read.odata_types, "listed by its entry"
        assert entry.sub_names <= spec.nav_names, path
        if entry.assign_key is not None:
            assert entry.assign_key in spec.assign_keys, path


async def test_catalog_drift_every_write_the_product_makes_is_answered(client, graphsim):
    """Create, update and assign one object per write collection through the product — so
    every hook's actions and sub-collection writes too — and not one write is refused."""
    graphsim.reset(tenants=1, counts={"windowsManagedAppProtections": 1})
    tenant = graphsim.tenant_ids[0]
    cursor = graphsim.request_cursor()
    posted: set[str] = set()  # collections a create POSTs to
    for entry in CATALOG:
        refs = await list_items(tenant, entry.key, client=client)
        if not entry.creatable:  # singletons and update-only types: updated in place
            if entry.restore is not Restore.NONE:
                snapshot = await fetch_snapshot(tenant, entry.key, refs[0].id, client=client)
                await update_item(tenant, entry.key, refs[0].id, snapshot,
                                  ca_state="as_snapshot", client=client)
            continue
        for odata_type, path in _write_collections(entry).items():
            snapshot = None
            for ref in refs:
                if odata_type is None or ref.odata_type == odata_type:
                    snapshot = await fetch_snapshot(tenant, entry.key, ref.id, client=client)
                    if entry.can_create(snapshot):
                        break
            assert snapshot is not None and entry.can_create(snapshot), (entry.key, path)
            if entry.content_required and entry.content_required(snapshot):
                await update_item(tenant, entry.key, snapshot["id"], snapshot,
                                  ca_state="as_snapshot", client=client)  # no create without it
                continue
            posted |= {path} if entry.create_method == "POST" and not entry.create_path \
                else set()
            new = await create_item(tenant, entry.key, snapshot, ca_state="as_snapshot",
                                    client=client)
            await update_item(tenant, entry.key, new.id, snapshot, ca_state="as_snapshot",
                              client=client)
            if entry.has_assignments:
                await assign_item(tenant, entry.key, new.id, snapshot["assignments"],
                                  document=snapshot, client=client)
    writes = [e for e in graphsim.requests(cursor) if e["is_write"] and e["kind"] == "graph"]
    assert [e for e in writes if e["status"] >= 300] == []
    created_in = {e["path"].split("/", 2)[2] for e in writes if e["method"] == "POST"}
    assert posted <= created_in
