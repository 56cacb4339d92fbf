"""Snapshot documents in Blob Storage, content-addressed per tenant (DESIGN §5).

``{tenant}/{policy_type}/{policy_id}/{sha256}.json``: the same content always lands on the same
blob, so an unchanged policy is stored once however often it is captured.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from shared.graph.documents import canonical_json
from shared.platform.errors import NotFound
from shared.platform.storage import Storage, download_or_none, upload_once

SNAPSHOTS = "snapshots"


def blob_path(tenant_id: str, policy_type: str, policy_id: str, sha256: str) -> str:
    return f"{tenant_id}/{policy_type}/{policy_id}/{sha256}.json"


@dataclass(frozen=True)
class Addressed:
    """A document's canonical bytes and where they are (or would be) stored."""

    sha256: str
    path: str
    data: bytes

    @classmethod
    def of(cls, tenant_id: str, policy_type: str, policy_id: str,
           document: dict[str, Any]) -> Addressed:
        data = canonical_json(document)
        sha = hashlib.sha256(data).hexdigest()
        return cls(sha, blob_path(tenant_id, policy_type, policy_id, sha), data)


class SnapshotStore:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    async def put(
        self, tenant_id: str, policy_type: str, policy_id: str, document: dict[str, Any]
    ) -> tuple[str, str, bool]:
        """Store ``document``; returns ``(sha256, blob path, newly stored)``."""
        stored = Addressed.of(tenant_id, policy_type, policy_id, document)
        return stored.sha256, stored.path, await self.store(stored)

    async def store(self, addressed: Addressed) -> bool:
        """Write the document's blob unless it exists; True when this call created it."""
        container = await self._storage.container(SNAPSHOTS)
        return await upload_once(container, addressed.path, addressed.data, "application/json")

    async def get(self, path: str) -> dict[str, Any]:
        container = await self._storage.container(SNAPSHOTS)
        data = await download_or_none(container, path)
        if data is None:
            raise NotFound("the snapshot document is missing")
        return json.loads(data)
