"""Orphan snapshot blobs: marked first, deleted only after a grace period (DESIGN §12).

The purge marks a blob that no remaining backup item or version references by writing its
logical time into the blob's metadata (``pv_orphaned_at``); writing metadata changes the
blob's ETag. A later purge deletes a blob still marked ``grace`` after that time — and still
unreferenced — with ``If-Match`` on the ETag of the marked state it listed. A backup that
reuses a marked blob (``SnapshotStore.store``: the blob already exists) clears the mark under
the ETag it read, so it either wins — the blob's ETag moved and the delete is refused — or
finds the blob gone and uploads it again. Either way no backup ends with an item whose blob
is missing, and a stop between marking and deleting loses nothing: the mark is only a mark.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from azure.storage.blob.aio import ContainerClient

from shared.platform.errors import StorageError
from shared.platform.keys import iso, parse_iso
from shared.platform.storage import (
    BlobState,
    blob_state,
    delete_if_unchanged,
    set_metadata_if_unchanged,
)

MARK = "pv_orphaned_at"
_ATTEMPTS = 10


def marked_at(state: BlobState) -> datetime | None:
    value = state.metadata.get(MARK)
    return parse_iso(value) if value else None


async def mark(container: ContainerClient, state: BlobState, at: datetime) -> bool:
    """Mark the blob orphaned at ``at``; False when it changed since ``state`` was read."""
    return await set_metadata_if_unchanged(container, state, {**state.metadata, MARK: iso(at)})


async def unmark(container: ContainerClient, state: BlobState) -> bool:
    """Clear the mark of the blob as ``state`` saw it; False when it changed or vanished."""
    rest = {k: v for k, v in state.metadata.items() if k != MARK}
    return await set_metadata_if_unchanged(container, state, rest)


async def delete_marked(container: ContainerClient, state: BlobState, now: datetime,
                        grace: timedelta) -> bool:
    """Delete the blob if ``state`` shows it marked at least ``grace`` before ``now`` and it
    is still in that state; False otherwise (it is kept)."""
    at = marked_at(state)
    if at is None or at + grace > now:
        return False
    return await delete_if_unchanged(container, state)


async def reclaim(container: ContainerClient, path: str) -> bool:
    """A writer found its blob already stored: make sure it stays. True when the blob exists
    unmarked (its mark, if any, cleared under its ETag); False when it is gone, so the caller
    uploads it again."""
    for _ in range(_ATTEMPTS):
        state = await blob_state(container, path)
        if state is None:
            return False
        if MARK not in state.metadata or await unmark(container, state):
            return True
    raise StorageError("a snapshot blob kept changing while its orphan mark was cleared")
