"""Snapshot documents in Blob Storage, content-addressed and encrypted per tenant (DESIGN §5,
§12).

``{tenant}/{policy_type}/{policy_id}/{digest}.json``: ``digest`` is the keyed digest of the
canonical document (HMAC-SHA256 under a key derived from the tenant's data key), so the same
content always lands on the same blob — an unchanged policy is stored once however often it
is captured — and nobody can confirm a guessed document from a name without the key. The
tables' ``sha256`` fields (backup items, versions, latest content) hold the same digest: the
name stayed, the hash became keyed. The blob is the document sealed with AES-256-GCM
(:mod:`shared.crypto.envelope`; the tenant id and blob name are its associated data).

A blob the retention purge marked as an orphan is reclaimed by the next write of the same
content: :meth:`SnapshotStore.store` clears the mark under the blob's ETag
(:mod:`shared.retention.orphans`), or writes the blob again if the purge deleted it first.

Blobs written before encryption (plaintext JSON under the bare SHA-256 of their bytes) are
still read, and only when that SHA-256 still matches, so a plaintext blob can never stand in
for a sealed one. They are not rewritten: the next capture of the policy stores its content
sealed under its keyed name, and the plaintext copy goes with the sets that refer to it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from shared.backups.tenant_keys import TenantKeys
from shared.crypto.envelope import CONTENT_TYPE, DataKey, is_envelope, key_version
from shared.graph.documents import canonical_json
from shared.platform.errors import NotFound, SnapshotUnreadable, StorageError
from shared.platform.storage import Storage, download_or_none, upload_once
from shared.retention.orphans import reclaim

SNAPSHOTS = "snapshots"
_STORE_ATTEMPTS = 5


def blob_path(tenant_id: str, policy_type: str, policy_id: str, sha256: str) -> str:
    return f"{tenant_id}/{policy_type}/{policy_id}/{sha256}.json"


@dataclass(frozen=True)
class Addressed:
    """A document's canonical bytes, keyed digest and where they are (or would be) stored."""

    sha256: str  # the keyed digest (see the module docstring)
    path: str
    data: bytes = field(repr=False)
    key: DataKey = field(repr=False, compare=False)

    @classmethod
    def of(cls, tenant_id: str, policy_type: str, policy_id: str, document: dict[str, Any],
           *, key: DataKey) -> Addressed:
        """Address ``document`` with the tenant's current data key (``await
        SnapshotStore(storage).address(...)`` looks the key up)."""
        if key.tenant_id != tenant_id:
            raise ValueError("a document is addressed with its own tenant's key")
        data = canonical_json(document)
        digest = key.digest(data)
        return cls(digest, blob_path(tenant_id, policy_type, policy_id, digest), data, key)


class SnapshotStore:
    def __init__(self, storage: Storage, keys: TenantKeys | None = None) -> None:
        self._storage = storage
        self._keys = keys or TenantKeys(storage)

    async def address(self, tenant_id: str, policy_type: str, policy_id: str,
                      document: dict[str, Any]) -> Addressed:
        """Where ``document`` is (or would be) stored, without storing it."""
        key = await self._keys.current(tenant_id)
        return Addressed.of(tenant_id, policy_type, policy_id, document, key=key)

    async def put(
        self, tenant_id: str, policy_type: str, policy_id: str, document: dict[str, Any]
    ) -> tuple[str, str, bool]:
        """Store ``document``; returns ``(keyed digest, blob path, newly stored)``."""
        stored = await self.address(tenant_id, policy_type, policy_id, document)
        return stored.sha256, stored.path, await self.store(stored)

    async def store(self, addressed: Addressed) -> bool:
        """Write the document's sealed blob unless it exists; True when this call created it.
        An existing blob the purge marked as an orphan is reclaimed (its mark cleared under
        its ETag), and one the purge deleted meanwhile is written again."""
        container = await self._storage.container(SNAPSHOTS)
        sealed = addressed.key.seal(addressed.path, addressed.data)
        for _ in range(_STORE_ATTEMPTS):
            if await upload_once(container, addressed.path, sealed, CONTENT_TYPE):
                return True
            if await reclaim(container, addressed.path):
                return False
        raise StorageError("a snapshot blob kept vanishing while it was written")

    async def get(self, path: str, *, tenant_id: str | None = None) -> dict[str, Any]:
        """The document at ``path`` (a blob of ``tenant_id``'s, when given)."""
        owner = path.split("/", 1)[0]
        if tenant_id is not None and owner != tenant_id:
            raise NotFound("the snapshot document is not in this tenant")
        container = await self._storage.container(SNAPSHOTS)
        blob = await download_or_none(container, path)
        if blob is None:
            raise NotFound("the snapshot document is missing")
        if is_envelope(blob):
            key = await self._keys.get(owner, key_version(blob))
            return json.loads(key.open(path, blob))
        return _plaintext(path, blob)


def _plaintext(path: str, blob: bytes) -> dict[str, Any]:
    """A blob from before encryption, trusted only while its name is its SHA-256."""
    name = path.rsplit("/", 1)[-1].removesuffix(".json")
    if hashlib.sha256(blob).hexdigest() != name:
        raise SnapshotUnreadable("the snapshot blob is neither sealed nor the plaintext its "
                                 "name was computed from")
    return json.loads(blob)
