"""Backup sets and their items (DESIGN §3, §5).

A backup set is written when its run finishes, so listings never show half-made sets. Items
are keyed by item key within the set. Per-policy version history is
:mod:`shared.backups.versions`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from shared.platform import tables
from shared.platform.keys import inverted_ulid
from shared.platform.paging import Page
from shared.platform.storage import Storage

BACKUP_SETS, BACKUP_ITEMS = "backupsets", "backupitems"


@dataclass
class BackupItem:
    item_id: str
    policy_type: str
    policy_id: str
    display_name: str
    sha256: str
    blob_path: str
    # What the snapshot lacks (``{code, message}``): a secret Graph did not return
    # (``secret_not_captured``). Absent on rows written before it.
    warnings: list[dict[str, str]] | None = None

    def to_api(self) -> dict[str, Any]:
        body = asdict(self)
        body.pop("blob_path")
        if not self.warnings:
            body.pop("warnings")
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
    # Written when the run seals the set (absent on older rows): the run's final status, and
    # whether it backed up every type — together, whether the set can be a drift baseline.
    run_status: str | None = None
    all_types: bool | None = None

    def to_api(self) -> dict[str, Any]:
        return asdict(self)


class BackupSetStore:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    async def put_item(self, backup_set_id: str, item: BackupItem) -> None:
        table = await self._storage.table(BACKUP_ITEMS)
        await tables.upsert(table, _item_entity(backup_set_id, item))

    async def put_items(self, backup_set_id: str, items: list[BackupItem]) -> None:
        """Upsert many items of one set in entity-group transactions."""
        table = await self._storage.table(BACKUP_ITEMS)
        await tables.upsert_many(table, [_item_entity(backup_set_id, item) for item in items])

    async def delete_item(self, backup_set_id: str, item_id: str) -> None:
        """Remove an item (a retried capture that now fails must not leave the earlier
        attempt's item in the set); absent is fine."""
        table = await self._storage.table(BACKUP_ITEMS)
        await tables.delete(table, backup_set_id, item_id)

    async def items(self, backup_set_id: str, policy_type: str | None = None
                    ) -> list[BackupItem]:
        """The set's items, or those of one type."""
        table = await self._storage.table(BACKUP_ITEMS)
        where, params = ("policy_type eq @t", {"t": policy_type}) if policy_type else ("", {})
        return [_item(e) for e in await tables.query_all(table, backup_set_id, where, params)]

    async def item(self, backup_set_id: str, item_id: str) -> BackupItem | None:
        table = await self._storage.table(BACKUP_ITEMS)
        entity = await tables.get_or_none(table, backup_set_id, item_id)
        return None if entity is None else _item(entity)

    async def put(self, backup_set: BackupSet) -> None:
        table = await self._storage.table(BACKUP_SETS)
        await tables.upsert(table, {"PartitionKey": backup_set.tenant_id,
                                    "RowKey": inverted_ulid(backup_set.backup_set_id),
                                    **asdict(backup_set)})

    async def get(self, tenant_id: str, backup_set_id: str) -> BackupSet | None:
        try:
            row_key = inverted_ulid(backup_set_id)
        except ValueError:
            return None  # not an id this service issued
        table = await self._storage.table(BACKUP_SETS)
        entity = await tables.get_or_none(table, tenant_id, row_key)
        return None if entity is None else _set(entity)

    async def all(self, tenant_id: str) -> list[BackupSet]:
        """Every set of the tenant, newest first (the retention purge reads this)."""
        table = await self._storage.table(BACKUP_SETS)
        return [_set(e) for e in await tables.query_all(table, tenant_id)]

    async def delete(self, tenant_id: str, backup_set_id: str) -> None:
        """Remove the set and every item row it has (items first, so a stop in between
        leaves the set listed and a rerun finishes it); absent is fine."""
        items = await self._storage.table(BACKUP_ITEMS)
        rows = await tables.query_all(items, backup_set_id)
        await tables.delete_many(items, [(r["PartitionKey"], r["RowKey"]) for r in rows])
        table = await self._storage.table(BACKUP_SETS)
        await tables.delete(table, tenant_id, inverted_ulid(backup_set_id))

    async def blob_paths(self, backup_set_id: str) -> list[str]:
        """The snapshot blobs the set's items refer to."""
        table = await self._storage.table(BACKUP_ITEMS)
        rows = await tables.query_all(table, backup_set_id)
        return [r["blob_path"] for r in rows]

    async def list(self, tenant_id: str, *, top: int, continuation: str | None
                   ) -> Page[BackupSet]:
        table = await self._storage.table(BACKUP_SETS)
        page = await tables.query_page(table, tenant_id, top=top, continuation=continuation)
        return Page([_set(e) for e in page.value], page.continuation)


def _item_entity(backup_set_id: str, item: BackupItem) -> dict[str, Any]:
    entity = {"PartitionKey": backup_set_id, "RowKey": item.item_id, **asdict(item)}
    entity["warnings"] = json.dumps(item.warnings) if item.warnings else None
    return entity


def _item(entity: dict[str, Any]) -> BackupItem:
    fields = {name: entity.get(name) for name in BackupItem.__dataclass_fields__}
    fields["warnings"] = json.loads(fields["warnings"]) if fields["warnings"] else None
    return BackupItem(**fields)


def _set(entity: dict[str, Any]) -> BackupSet:
    return BackupSet(**{name: entity.get(name) for name in BackupSet.__dataclass_fields__})
