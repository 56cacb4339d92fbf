"""The purge's set deletion and snapshot sweep against Azurite (DESIGN §12), stopped in the
middle and run again: the rerun finishes the job, and a stop between marking and deleting
loses no blob that a set still — or again — refers to."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest
from ulid import ULID

from shared.backups.latest import LatestContent, LatestContentStore
from shared.backups.sets import BackupItem, BackupSet, BackupSetStore
from shared.backups.snapshots import SNAPSHOTS, SnapshotStore
from shared.backups.tenant_keys import KeyCache, TenantKeys
from shared.backups.versions import VERSIONS, VersionStore
from shared.crypto.kek import LocalKek
from shared.platform import tables
from shared.platform.keys import iso
from shared.platform.storage import Storage, blob_state
from shared.retention import orphans
from shared.retention.sweep import sweep_snapshots
from tests.tenants import register

pytestmark = pytest.mark.anyio
TENANT = "5a7e0c11-0000-4000-8000-0000000000c1"
TYPE = "deviceConfigurations"
T0 = datetime(2030, 1, 1, tzinfo=UTC)
GRACE = timedelta(hours=24)


class Crash(Exception):
    """The worker dies here."""


@pytest.fixture
async def snapshots(storage: Storage) -> SnapshotStore:
    await register(storage, TENANT)
    return SnapshotStore(storage, TenantKeys(storage, LocalKek(os.urandom(32)), KeyCache()))


async def _backup(storage: Storage, snapshots: SnapshotStore, day: int,
                  documents: dict[str, dict]) -> tuple[str, dict[str, str]]:
    """A sealed backup set of ``documents`` (policy id → document) made on day ``day``, as
    a backup run writes it: blobs, versions, items, the latest-content hints, the set."""
    at = T0 + timedelta(days=day)
    set_id = str(ULID.from_datetime(at))
    paths: dict[str, str] = {}
    items = []
    for policy_id, document in documents.items():
        sha, path, new = await snapshots.put(TENANT, TYPE, policy_id, document)
        item = BackupItem(f"{TYPE}.{policy_id}", TYPE, policy_id, policy_id, sha, path)
        first = await VersionStore(storage).first_copy(TENANT, item, set_id, at,
                                                       new_content=new)
        await LatestContentStore(storage).put_many(TENANT, [
            (TYPE, LatestContent(policy_id, sha, path, first))])
        items.append(item)
        paths[policy_id] = path
    await BackupSetStore(storage).put_items(set_id, items)
    await BackupSetStore(storage).put(BackupSet(set_id, TENANT, None, set_id, iso(at),
                                                len(items)))
    return set_id, paths


async def _state(storage: Storage, path: str) -> str:
    state = await blob_state(await storage.container(SNAPSHOTS), path)
    if state is None:
        return "gone"
    return "marked" if orphans.marked_at(state) else "kept"


async def test_sweep_stopped_midway_is_finished_by_the_rerun_and_loses_nothing_referenced(
        storage, snapshots, monkeypatch) -> None:
    old, old_paths = await _backup(storage, snapshots, 0, {
        "a": {"id": "a", "v": 1}, "b": {"id": "b", "v": 1}, "c": {"id": "c", "v": 1},
        "d": {"id": "d", "v": 1}})  # d is deleted in Graph before the next backup
    new, new_paths = await _backup(storage, snapshots, 5, {
        "a": {"id": "a", "v": 1}, "b": {"id": "b", "v": 2}, "c": {"id": "c", "v": 2}})
    assert old_paths["a"] == new_paths["a"]  # unchanged: one blob for both sets
    sets = BackupSetStore(storage)

    # purge_backup_sets stops after the items, before the set row; run again, it finishes.
    real_delete = tables.delete

    async def dies_on_the_set_row(table, pk, rk, **kw):
        if table.table_name.endswith("backupsets"):
            raise Crash
        return await real_delete(table, pk, rk, **kw)

    monkeypatch.setattr(tables, "delete", dies_on_the_set_row)
    with pytest.raises(Crash):
        await sets.delete(TENANT, old)
    monkeypatch.setattr(tables, "delete", real_delete)
    assert await sets.get(TENANT, old) is not None and await sets.items(old) == []
    await sets.delete(TENANT, old)
    assert await sets.get(TENANT, old) is None

    # The sweep dies after marking one orphan; the rerun marks the other.
    now = T0 + timedelta(days=100)
    real_mark = orphans.mark
    marks = 0

    async def dies_after_one_mark(container, state, at):
        nonlocal marks
        if marks == 1:
            raise Crash
        marks += 1
        return await real_mark(container, state, at)

    monkeypatch.setattr(orphans, "mark", dies_after_one_mark)
    with pytest.raises(Crash):
        await sweep_snapshots(storage, TENANT, now, GRACE)
    monkeypatch.setattr(orphans, "mark", real_mark)
    rerun = await sweep_snapshots(storage, TENANT, now, GRACE)

    assert rerun.counts["blobs_marked"] == 2
    assert [await _state(storage, old_paths[p]) for p in "abcd"] == [
        "kept", "marked", "marked", "marked"]
    # d's latest-content hint pointed at its orphan: dropped, so no backup skips the blob
    hints = (await LatestContentStore(storage).of_types(TENANT, [TYPE]))[TYPE]
    assert sorted(hints) == ["a", "b", "c"]
    assert [await _state(storage, new_paths[p]) for p in "abc"] == ["kept"] * 3
    versions = await tables.query_all(await storage.table(VERSIONS), f"{TENANT}|{TYPE}|a")
    assert [v["backup_set_id"] for v in versions] == [new]  # repointed: its set is gone
    for policy_id in "bc":
        rows = await tables.query_all(await storage.table(VERSIONS), f"{TENANT}|{TYPE}|{policy_id}")
        assert [v["backup_set_id"] for v in rows] == [new]  # the purged content's is gone

    # Stopped between marking and deleting, a backup stores b's old content again.
    _, again_paths = await _backup(storage, snapshots, 101, {"b": {"id": "b", "v": 1}})
    assert again_paths["b"] == old_paths["b"]
    assert await _state(storage, old_paths["b"]) == "kept"  # reclaimed by the write

    late = await sweep_snapshots(storage, TENANT, now + GRACE, GRACE)

    assert late.counts["blobs_deleted"] == 2
    assert await _state(storage, old_paths["c"]) == await _state(storage, old_paths["d"]) == "gone"
    assert await snapshots.get(old_paths["b"]) == {"id": "b", "v": 1}
    assert await snapshots.get(new_paths["c"]) == {"id": "c", "v": 2}
    assert await _state(storage, old_paths["a"]) == "kept"
