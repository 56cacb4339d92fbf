"""Orphan snapshot blobs in Azurite (DESIGN §12): marked, deleted only after the grace and
only in the marked state; a writer reusing a marked blob clears the mark under its ETag, so
whichever of the two goes first, the writer ends with its blob stored."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime, timedelta

import pytest

from shared.backups.snapshots import SNAPSHOTS, SnapshotStore
from shared.backups.tenant_keys import KeyCache, TenantKeys
from shared.crypto.kek import LocalKek
from shared.platform.storage import BlobState, Storage, blob_state
from shared.retention import orphans
from tests.tenants import register

pytestmark = pytest.mark.anyio
TENANT = "5a7e0c11-0000-4000-8000-0000000000a1"
DOCUMENT = {"id": "p1", "displayName": "Contoso BitLocker", "settings": [{"v": 1}]}
GRACE = timedelta(hours=24)
MARKED_AT = datetime(2030, 1, 1, 3, tzinfo=UTC)
AFTER_GRACE = MARKED_AT + GRACE


@pytest.fixture
async def snapshots(storage: Storage) -> SnapshotStore:
    await register(storage, TENANT)
    return SnapshotStore(storage, TenantKeys(storage, LocalKek(os.urandom(32)), KeyCache()))


async def _state(storage: Storage, path: str) -> BlobState | None:
    return await blob_state(await storage.container(SNAPSHOTS), path)


async def _marked(storage: Storage, path: str) -> BlobState:
    container = await storage.container(SNAPSHOTS)
    state = await _state(storage, path)
    assert state is not None and await orphans.mark(container, state, MARKED_AT)
    marked = await _state(storage, path)
    assert marked is not None and orphans.marked_at(marked) == MARKED_AT
    return marked


async def test_marked_blob_is_deleted_only_after_the_grace(storage, snapshots) -> None:
    _, path, _ = await snapshots.put(TENANT, "configurationPolicies", "p1", DOCUMENT)
    marked = await _marked(storage, path)
    container = await storage.container(SNAPSHOTS)

    early = await orphans.delete_marked(container, marked, AFTER_GRACE - timedelta(minutes=1),
                                        GRACE)
    assert (early, await _state(storage, path) is not None) == (False, True)
    assert await orphans.delete_marked(container, marked, AFTER_GRACE, GRACE)
    assert await _state(storage, path) is None


async def test_unmarked_blob_is_never_deleted(storage, snapshots) -> None:
    _, path, _ = await snapshots.put(TENANT, "configurationPolicies", "p1", DOCUMENT)
    state = await _state(storage, path)
    container = await storage.container(SNAPSHOTS)
    assert state is not None
    assert not await orphans.delete_marked(container, state, AFTER_GRACE + GRACE, GRACE)
    assert await _state(storage, path) is not None


async def test_writer_reusing_a_marked_blob_clears_the_mark_and_the_delete_is_refused(
        storage, snapshots) -> None:
    _, path, _ = await snapshots.put(TENANT, "configurationPolicies", "p1", DOCUMENT)
    marked = await _marked(storage, path)

    again = await snapshots.put(TENANT, "configurationPolicies", "p1", dict(DOCUMENT))

    assert again[1:] == (path, False)  # reused, not uploaded again
    now = await _state(storage, path)
    assert now is not None and orphans.marked_at(now) is None and now.etag != marked.etag
    container = await storage.container(SNAPSHOTS)
    assert not await orphans.delete_marked(container, marked, AFTER_GRACE, GRACE)
    assert await snapshots.get(path) == DOCUMENT


async def test_writer_after_the_delete_stores_the_blob_again(storage, snapshots) -> None:
    _, path, _ = await snapshots.put(TENANT, "configurationPolicies", "p1", DOCUMENT)
    marked = await _marked(storage, path)
    container = await storage.container(SNAPSHOTS)
    assert await orphans.delete_marked(container, marked, AFTER_GRACE, GRACE)

    again = await snapshots.put(TENANT, "configurationPolicies", "p1", dict(DOCUMENT))

    assert again[1:] == (path, True)
    assert await snapshots.get(path) == DOCUMENT


async def test_writer_racing_the_delete_always_ends_with_its_blob(storage, snapshots) -> None:
    container = await storage.container(SNAPSHOTS)
    outcomes = set()
    for n in range(12):
        document = {**DOCUMENT, "n": n}
        _, path, _ = await snapshots.put(TENANT, "configurationPolicies", "p1", document)
        marked = await _marked(storage, path)

        deleted, (_, _, rewritten) = await asyncio.gather(
            orphans.delete_marked(container, marked, AFTER_GRACE, GRACE),
            snapshots.put(TENANT, "configurationPolicies", "p1", dict(document)))

        outcomes.add((deleted, rewritten))
        state = await _state(storage, path)
        assert state is not None and orphans.marked_at(state) is None, (n, deleted, rewritten)
        assert await snapshots.get(path) == document
    # whichever won, never a lost blob: (False, False) the writer cleared the mark first;
    # (True, True) the purge deleted it first and the writer stored it again
    assert outcomes <= {(False, False), (True, True)}
