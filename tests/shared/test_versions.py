"""Version history across its two layouts: rows written one per policy partition before
(``{tenant}|{type}|{id}``) are still listed, found and swept after the rows that now share a
partition per type."""

from datetime import UTC, datetime, timedelta

import pytest

from shared.backups.sets import BackupItem
from shared.backups.versions import VERSIONS, VersionStore, version_of
from shared.platform import tables
from shared.platform.keys import inverted_time, iso

pytestmark = pytest.mark.anyio

TENANT, TYPE, POLICY = "11111111-1111-1111-1111-111111111111", "configurationPolicies", "p1"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _item(sha: str, policy_id: str = POLICY) -> BackupItem:
    return BackupItem(f"{TYPE}.{policy_id}", TYPE, policy_id, "A policy", sha, "path")


async def _first_layout_row(storage, sha: str, at: datetime, set_id: str) -> None:
    """A version as it was written before the rows shared a partition per type."""
    await tables.upsert(await storage.table(VERSIONS), {
        "PartitionKey": f"{TENANT}|{TYPE}|{POLICY}",
        "RowKey": f"{inverted_time(at)}_{sha[:16]}", "sha256": sha, "display_name": "A policy",
        "captured_at": iso(at), "backup_set_id": set_id, "item_id": f"{TYPE}.{POLICY}"})


async def _all_pages(store: VersionStore, top: int) -> list[list[str]]:
    pages, token = [], None
    while True:
        page = await store.list(TENANT, TYPE, POLICY, top=top, continuation=token)
        pages.append([v["sha256"] for v in page.value])
        token = page.continuation
        if token is None:
            return pages


async def test_a_listing_pages_from_the_current_rows_into_the_first_layout(storage):
    store = VersionStore(storage)
    for day in (1, 2, 3):
        await _first_layout_row(storage, f"old{day}", T0 + timedelta(days=day), f"set{day}")
    for day in (4, 5, 6):
        await store.put_many([store.row(TENANT, _item(f"new{day}"), f"set{day}",
                                        T0 + timedelta(days=day))])
    await store.put_many([store.row(TENANT, _item("other", "p10"), "set9", T0),  # not p1's
                          store.row(TENANT, BackupItem("x", "groups", POLICY, "g", "grp", "p"),
                                    "set9", T0)])

    pages = await _all_pages(store, top=2)

    assert [sha for page in pages for sha in page] == [
        "new6", "new5", "new4", "old3", "old2", "old1"]  # newest first, each once
    assert all(pages) and all(len(page) <= 2 for page in pages)


async def test_content_first_held_before_the_new_layout_is_still_found(storage):
    await _first_layout_row(storage, "sha-a", T0, "set-before")
    store = VersionStore(storage)

    assert await store.holder(TENANT, _item("sha-a")) == "set-before"
    # so capturing it again records no second version
    assert await store.first_copy(TENANT, _item("sha-a"), "set-now", T0 + timedelta(days=1)) \
        == "set-before"
    assert len(await tables.query_range(await storage.table(VERSIONS), f"{TENANT}|",
                                        f"{TENANT}}}")) == 1


async def test_a_row_of_either_layout_names_its_policy(storage):
    store = VersionStore(storage)
    await _first_layout_row(storage, "sha-a", T0, "set1")
    await store.put_many([store.row(TENANT, _item("sha-b"), "set2", T0)])

    rows = await tables.query_range(await storage.table(VERSIONS), f"{TENANT}|", f"{TENANT}}}")
    assert sorted(version_of(row) for row in rows) == [(TYPE, POLICY), (TYPE, POLICY)]
