"""Latest-content hints: one tenant partition, read for several types in one query."""

import pytest

from shared.backups.latest import LATEST, LatestContent, LatestContentStore
from shared.platform import tables

pytestmark = pytest.mark.anyio

TENANT = "11111111-1111-1111-1111-111111111111"


def _hint(policy_id: str) -> LatestContent:
    return LatestContent(policy_id, f"sha-{policy_id}", f"{TENANT}/t/{policy_id}/x.json", "set")


async def test_types_are_read_together_and_only_the_asked_ones(storage):
    store = LatestContentStore(storage)
    await store.put_many(TENANT, [("groups", _hint("g1")), ("groups", _hint("g2")),
                                  ("groupPolicyConfigurations", _hint("p1")),
                                  ("namedLocations", _hint("n1"))])
    # a type whose name starts with another's is not mixed up with it
    known = await store.of_types(TENANT, ["groups", "namedLocations", "mobileApps"])

    assert {t: sorted(rows) for t, rows in known.items()} == {
        "groups": ["g1", "g2"], "namedLocations": ["n1"], "mobileApps": []}
    assert known["groups"]["g2"] == _hint("g2")


async def test_rows_of_another_tenant_are_not_read(storage):
    store = LatestContentStore(storage)
    other = "22222222-2222-2222-2222-222222222222"
    await store.put_many(other, [("groups", _hint("g9"))])
    await store.put_many(TENANT, [("groups", _hint("g1"))])

    assert sorted((await store.of_types(TENANT, ["groups"]))["groups"]) == ["g1"]


async def test_rows_of_the_first_layout_are_ignored(storage):
    """Before one partition per tenant, a hint was keyed ``{tenant}|{type}`` / policy id: it
    is not found, so its object is stored the long way once (a hint is never required)."""
    table = await storage.table(LATEST)
    await tables.upsert(table, {"PartitionKey": f"{TENANT}|groups", "RowKey": "old",
                                "sha256": "s", "blob_path": "p", "backup_set_id": "b"})

    assert (await LatestContentStore(storage).of_types(TENANT, ["groups"]))["groups"] == {}


async def test_more_types_than_one_filter_may_compare_are_read_in_several_queries(storage):
    """Azure Storage allows 15 comparisons in a $filter (Azurite does not check), so 16 types
    take three queries: every type's hints still come back, each under its own type."""
    store = LatestContentStore(storage)
    types = [f"type{n:02d}" for n in range(16)]
    await store.put_many(TENANT, [(t, _hint(f"{t}-p")) for t in types])

    known = await store.of_types(TENANT, types)

    assert {t: list(rows) for t, rows in known.items()} == {t: [f"{t}-p"] for t in types}
