"""Snapshot blobs in Azurite (DESIGN §5, §12): sealed per tenant under a keyed name, stored
once per content, refused when changed or moved, plaintext from before encryption still read
only where its name is its SHA-256."""

from __future__ import annotations

import hashlib
import json
import os

import pytest

from shared.backups.snapshots import SNAPSHOTS, SnapshotStore, blob_path
from shared.backups.tenant_keys import KeyCache, TenantKeys
from shared.crypto.envelope import MAGIC
from shared.crypto.kek import LocalKek
from shared.graph.documents import canonical_json
from shared.platform.errors import NotFound, SnapshotUnreadable
from shared.platform.storage import Storage
from tests.tenants import register

pytestmark = pytest.mark.anyio
TENANT = "5a7e0c11-0000-4000-8000-000000000001"
OTHER = "5a7e0c11-0000-4000-8000-000000000002"
DOCUMENT = {"id": "p1", "displayName": "Contoso BitLocker", "settings": [{"v": 1}]}


@pytest.fixture
async def snapshots(storage: Storage) -> SnapshotStore:
    await register(storage, TENANT, OTHER)
    return SnapshotStore(storage, TenantKeys(storage, LocalKek(os.urandom(32)), KeyCache()))


async def _raw(storage: Storage, path: str) -> bytes:
    container = await storage.container(SNAPSHOTS)
    return await (await container.download_blob(path)).readall()


async def _overwrite(storage: Storage, path: str, data: bytes) -> None:
    container = await storage.container(SNAPSHOTS)
    await container.upload_blob(path, data, overwrite=True)


async def test_put_stores_ciphertext_under_a_keyed_name(storage: Storage,
                                                        snapshots: SnapshotStore) -> None:
    digest, path, new = await snapshots.put(TENANT, "configurationPolicies", "p1", DOCUMENT)
    assert new and path == blob_path(TENANT, "configurationPolicies", "p1", digest)
    assert digest != hashlib.sha256(canonical_json(DOCUMENT)).hexdigest()
    raw = await _raw(storage, path)
    assert raw.startswith(MAGIC) and b"Contoso" not in raw and b"displayName" not in raw
    assert await snapshots.get(path) == DOCUMENT
    assert await snapshots.get(path, tenant_id=TENANT) == DOCUMENT


async def test_unchanged_document_is_stored_once(storage: Storage,
                                                 snapshots: SnapshotStore) -> None:
    first = await snapshots.put(TENANT, "configurationPolicies", "p1", DOCUMENT)
    raw = await _raw(storage, first[1])
    again = await snapshots.put(TENANT, "configurationPolicies", "p1", dict(DOCUMENT))
    assert again == (first[0], first[1], False)
    assert await _raw(storage, first[1]) == raw  # the first copy stays, not resealed


async def test_same_document_gets_another_name_in_another_tenant(
        snapshots: SnapshotStore) -> None:
    mine = await snapshots.address(TENANT, "configurationPolicies", "p1", DOCUMENT)
    theirs = await snapshots.address(OTHER, "configurationPolicies", "p1", DOCUMENT)
    assert mine.sha256 != theirs.sha256


async def test_tampered_blob_is_refused(storage: Storage, snapshots: SnapshotStore) -> None:
    _, path, _ = await snapshots.put(TENANT, "configurationPolicies", "p1", DOCUMENT)
    raw = bytearray(await _raw(storage, path))
    raw[-3] ^= 0x10
    await _overwrite(storage, path, bytes(raw))
    with pytest.raises(SnapshotUnreadable, match="integrity"):
        await snapshots.get(path)


@pytest.mark.parametrize("tenant", [TENANT, OTHER])
async def test_blob_copied_to_another_name_is_refused(storage: Storage, snapshots: SnapshotStore,
                                                      tenant: str) -> None:
    """Another policy's name, or the same name under another tenant (which has a key)."""
    _, path, _ = await snapshots.put(TENANT, "configurationPolicies", "p1", DOCUMENT)
    await snapshots.put(OTHER, "configurationPolicies", "p1", DOCUMENT)
    elsewhere = path.replace(TENANT, tenant).replace("/p1/", "/p2/")
    await _overwrite(storage, elsewhere, await _raw(storage, path))
    with pytest.raises(SnapshotUnreadable):
        await snapshots.get(elsewhere)


async def test_blob_of_another_tenant_is_not_read_for_this_one(
        snapshots: SnapshotStore) -> None:
    _, path, _ = await snapshots.put(OTHER, "configurationPolicies", "p1", DOCUMENT)
    with pytest.raises(NotFound):
        await snapshots.get(path, tenant_id=TENANT)


async def test_plaintext_snapshot_from_before_encryption_is_still_read(
        storage: Storage, snapshots: SnapshotStore) -> None:
    data = canonical_json(DOCUMENT)
    path = blob_path(TENANT, "configurationPolicies", "p1", hashlib.sha256(data).hexdigest())
    await _overwrite(storage, path, data)
    assert await snapshots.get(path) == DOCUMENT


async def test_plaintext_standing_in_for_a_sealed_blob_is_refused(
        storage: Storage, snapshots: SnapshotStore) -> None:
    """A plaintext document written over a sealed blob (or over an old plaintext blob with
    other content) is not what the name was computed from: refused, never restored."""
    _, path, _ = await snapshots.put(TENANT, "configurationPolicies", "p1", DOCUMENT)
    await _overwrite(storage, path, json.dumps({**DOCUMENT, "displayName": "evil"}).encode())
    with pytest.raises(SnapshotUnreadable, match="neither sealed"):
        await snapshots.get(path)
