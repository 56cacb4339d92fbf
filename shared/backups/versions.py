"""Per-policy version history: one row per distinct content hash, newest first (DESIGN §3, §5).

PartitionKey = ``{tenant}|{type}|{policy id}``, RowKey = ``{inverted time}_{hash prefix}``. A
version is written after its snapshot blob, so a blob that was just created has no version yet.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from shared.platform import tables
from shared.platform.keys import inverted_time, iso
from shared.platform.paging import Page
from shared.platform.storage import Storage

if TYPE_CHECKING:
    from shared.backups.sets import BackupItem

VERSIONS = "versions"
_LISTED = ("sha256", "display_name", "captured_at", "backup_set_id", "item_id")


class VersionStore:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    async def record(
        self, tenant_id: str, item: BackupItem, backup_set_id: str, at: datetime, *,
        new_content: bool = False,
    ) -> bool:
        """Add a version unless this content hash is already known. True when this backup
        set holds the first copy of the content (also on a retry of the same capture).
        ``new_content``: the snapshot blob was just created, so no version can hold this
        hash yet (versions are written after their blob) and the lookup is skipped."""
        first = await self.first_copy(tenant_id, item, backup_set_id, at,
                                      new_content=new_content)
        return first == backup_set_id

    async def first_copy(
        self, tenant_id: str, item: BackupItem, backup_set_id: str, at: datetime, *,
        new_content: bool = False,
    ) -> str:
        """As :meth:`record`, returning the backup set that holds the first copy."""
        table = await self._storage.table(VERSIONS)
        partition = _partition(tenant_id, item.policy_type, item.policy_id)
        if not new_content:
            known = await tables.query_all(table, partition, "sha256 eq @h", {"h": item.sha256})
            if known:
                return str(known[0].get("backup_set_id") or "")
        await tables.upsert(table, {
            "PartitionKey": partition,
            "RowKey": f"{inverted_time(at)}_{item.sha256[:16]}",
            "sha256": item.sha256,
            "display_name": item.display_name,
            "captured_at": iso(at),
            "backup_set_id": backup_set_id,
            "item_id": item.item_id,
        }, merge=True)
        return backup_set_id

    async def list(self, tenant_id: str, policy_type: str, policy_id: str, *, top: int,
                   continuation: str | None) -> Page[dict[str, Any]]:
        table = await self._storage.table(VERSIONS)
        page = await tables.query_page(table, _partition(tenant_id, policy_type, policy_id),
                                       top=top, continuation=continuation)
        return Page([{n: e.get(n) for n in _LISTED} for e in page.value], page.continuation)


def _partition(tenant_id: str, policy_type: str, policy_id: str) -> str:
    return f"{tenant_id}|{policy_type}|{policy_id}"
