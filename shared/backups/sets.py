"""Backup sets, their items and per-policy version history (DESIGN §3, §5).

A backup set is written when its run finishes, so listings never show half-made sets. Items
are keyed by item key within the set; versions by policy, newest first, one row per distinct
content hash.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import UpdateMode

from shared.platform.keys import inverted_time, inverted_ulid, iso
from shared.platform.paging import Page, first_page
from shared.platform.storage import Storage

BACKUP_SETS, BACKUP_ITEMS, VERSIONS = "backupsets", "backupitems", "versions"


@dataclass
class BackupItem:
    item_id: str
    policy_type: str
    policy_id: str
    display_name: str
    sha256: str
    blob_path: str

    def to_api(self) -> dict[str, Any]:
        body = asdict(self)
        body.pop("blob_path")
        return body


@dataclass
class BackupSet:
    backup_set_id: str
    tenant_id: str
    label: str | None
    run_id: str
    created_at: str
    item_count: int
    kind: str = "backup"  # "backup" | "capture" | "pre_restore"

    def to_api(self) -> dict[str, Any]:
        return asdict(self)


class BackupSetStore:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    async def put_item(self, backup_set_id: str, item: BackupItem) -> None:
        table = await self._storage.table(BACKUP_ITEMS)
        await table.upsert_entity(
            {"PartitionKey": backup_set_id, "RowKey": item.item_id, **asdict(item)},
            mode=UpdateMode.REPLACE,
        )

    async def put_items(self, backup_set_id: str, items: list[BackupItem]) -> None:
        """Upsert many items of one set, up to 100 per entity-group transaction."""
        table = await self._storage.table(BACKUP_ITEMS)
        for start in range(0, len(items), 100):
            await table.submit_transaction([
                ("upsert", {"PartitionKey": backup_set_id, "RowKey": item.item_id,
                            **asdict(item)}, {"mode": UpdateMode.REPLACE})
                for item in items[start:start + 100]
            ])

    async def delete_item(self, backup_set_id: str, item_id: str) -> None:
        """Remove an item (a retried capture that now fails must not leave the earlier
        attempt's item in the set); absent is fine."""
        table = await self._storage.table(BACKUP_ITEMS)
        try:
            await table.delete_entity(backup_set_id, item_id)
        except ResourceNotFoundError:
            pass

    async def items(self, backup_set_id: str) -> list[BackupItem]:
        table = await self._storage.table(BACKUP_ITEMS)
        pager = table.query_entities("PartitionKey eq @s", parameters={"s": backup_set_id})
        return [_item(e) async for e in pager]

    async def item(self, backup_set_id: str, item_id: str) -> BackupItem | None:
        table = await self._storage.table(BACKUP_ITEMS)
        try:
            return _item(await table.get_entity(backup_set_id, item_id))
        except ResourceNotFoundError:
            return None

    async def put(self, backup_set: BackupSet) -> None:
        table = await self._storage.table(BACKUP_SETS)
        await table.upsert_entity(
            {"PartitionKey": backup_set.tenant_id,
             "RowKey": inverted_ulid(backup_set.backup_set_id), **asdict(backup_set)},
            mode=UpdateMode.REPLACE,
        )

    async def get(self, tenant_id: str, backup_set_id: str) -> BackupSet | None:
        table = await self._storage.table(BACKUP_SETS)
        try:
            entity = await table.get_entity(tenant_id, inverted_ulid(backup_set_id))
        except (ResourceNotFoundError, ValueError):
            return None
        return _set(entity)

    async def list(self, tenant_id: str, *, top: int, continuation: str | None
                   ) -> Page[BackupSet]:
        table = await self._storage.table(BACKUP_SETS)
        pager = table.query_entities(
            "PartitionKey eq @t", parameters={"t": tenant_id}, results_per_page=top
        )
        page = await first_page(pager, top, continuation)
        return Page([_set(e) for e in page.value], page.continuation)


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
        table = await self._storage.table(VERSIONS)
        partition = _partition(tenant_id, item.policy_type, item.policy_id)
        if not new_content:
            pager = table.query_entities(
                "PartitionKey eq @p and sha256 eq @h",
                parameters={"p": partition, "h": item.sha256},
            )
            async for existing in pager:
                return existing.get("backup_set_id") == backup_set_id
        await table.upsert_entity({
            "PartitionKey": partition,
            "RowKey": f"{inverted_time(at)}_{item.sha256[:16]}",
            "sha256": item.sha256,
            "display_name": item.display_name,
            "captured_at": iso(at),
            "backup_set_id": backup_set_id,
            "item_id": item.item_id,
        })
        return True

    async def list(self, tenant_id: str, policy_type: str, policy_id: str, *, top: int,
                   continuation: str | None) -> Page[dict[str, Any]]:
        table = await self._storage.table(VERSIONS)
        pager = table.query_entities(
            "PartitionKey eq @p", parameters={"p": _partition(tenant_id, policy_type, policy_id)},
            results_per_page=top,
        )
        page = await first_page(pager, top, continuation)
        names = ("sha256", "display_name", "captured_at", "backup_set_id", "item_id")
        return Page([{n: e.get(n) for n in names} for e in page.value], page.continuation)


def _partition(tenant_id: str, policy_type: str, policy_id: str) -> str:
    return f"{tenant_id}|{policy_type}|{policy_id}"


def _item(entity: dict[str, Any]) -> BackupItem:
    return BackupItem(**{name: entity[name] for name in BackupItem.__dataclass_fields__})


def _set(entity: dict[str, Any]) -> BackupSet:
    return BackupSet(**{name: entity.get(name) for name in BackupSet.__dataclass_fields__})


