"""Deleting what :data:`shared.offboarding.plan.OWNED` says belongs to a tenant.

Every step finds rows by query and deletes at most ``limit`` of them, so a step is bounded
(an activity, not a request) and idempotent: run it again until it deletes nothing. Nothing
is remembered between calls — a sweep that a crash interrupted starts over where storage is.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from azure.data.tables.aio import TableClient

from shared.backups.sets import BACKUP_SETS
from shared.backups.tenant_keys import TENANT_KEYS, TenantKeys
from shared.offboarding.plan import (
    DEPLOYED_RUN_IDS,
    RUN_IDS,
    SET_IDS,
    BlobPrefix,
    Owned,
    Partition,
    PartitionPrefix,
    PartitionsOf,
    Property,
    RowPrefix,
)
from shared.platform import tables
from shared.platform.storage import Storage, delete_blob, storage_errors
from shared.runs.store import RUN_INDEX, RUNS

DELETES_AT_ONCE = 16
Key = tuple[str, str]


async def sweep_step(storage: Storage, tenant_id: str, owned: Owned, limit: int = 500) -> int:
    """Delete up to ``limit`` of the tenant's rows (or blobs) ``owned`` finds; how many."""
    if isinstance(owned.find, BlobPrefix):
        return await _delete_blobs(storage, owned.store, owned.find.prefix(tenant_id), limit)
    table = await storage.table(owned.store)
    keys = await _find(storage, table, tenant_id, owned, limit)
    await _each(keys, lambda key: tables.delete(table, *key))
    if owned.store == TENANT_KEYS and keys:
        TenantKeys(storage).forget(tenant_id)  # this process's unwrapped copy, too
    return len(keys)


async def owned_ids(storage: Storage, tenant_id: str) -> dict[str, set[str]]:
    """The tenant's run ids and backup set ids, from the rows that are still there (a set's
    id is its run's for captures and backups; a live restore adds its pre-restore set), and
    the ids of other tenants' deployments from it (a scan of the runs table)."""
    runs = await storage.table(RUNS)
    run_rows = await tables.query_all(runs, tenant_id)
    index = await storage.table(RUN_INDEX)
    indexed = await _query(index, "tenant_id eq @t", {"t": tenant_id}, None)
    sets = await tables.query_all(await storage.table(BACKUP_SETS), tenant_id)
    run_ids = {str(r["PartitionKey"]) for r in indexed} | _values(run_rows, "run_id")
    set_ids = (run_ids | _values(sets, "backup_set_id")
               | _values(run_rows, "pre_restore_backup_set_id"))
    deployments = await _query(runs, "source_tenant_id eq @t", {"t": tenant_id}, None)
    deployed = _values([r for r in deployments if r.get("tenant_id") != tenant_id], "run_id")
    return {RUN_IDS: run_ids, SET_IDS: set_ids, DEPLOYED_RUN_IDS: deployed}


def _values(rows: Iterable[Any], name: str) -> set[str]:
    return {str(row[name]) for row in rows if row.get(name)}


async def _find(storage: Storage, table: TableClient, tenant_id: str, owned: Owned,
                limit: int) -> list[Key]:
    find = owned.find
    if isinstance(find, Partition):
        return await _query(table, "PartitionKey eq @pk", {"pk": find.key(tenant_id)}, limit)
    if isinstance(find, PartitionPrefix):
        return await _query(table, *_range("PartitionKey", find.prefix(tenant_id)), limit)
    if isinstance(find, RowPrefix):
        where, params = _range("RowKey", find.prefix(tenant_id))
        return await _query(table, f"PartitionKey eq @pk and {where}",
                            {**params, "pk": find.partition}, limit)
    if isinstance(find, Property):
        return await _query(table, f"{find.name} eq @t", {"t": tenant_id}, limit)
    if isinstance(find, PartitionsOf):
        found: list[Key] = []
        for partition in sorted((await owned_ids(storage, tenant_id))[find.ids]):
            found += await _query(table, "PartitionKey eq @pk", {"pk": partition},
                                  limit - len(found))
            if len(found) >= limit:
                break
        return found
    raise TypeError(f"{owned.name}: no way to find rows with {find!r}")


def _range(name: str, prefix: str) -> tuple[str, dict[str, Any]]:
    """Keys that start with ``prefix``: from it up to the next prefix of the same length."""
    after = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    return f"{name} ge @lo and {name} lt @hi", {"lo": prefix, "hi": after}


async def _query(table: TableClient, where: str, params: dict[str, Any], limit: int | None
                 ) -> list[Any]:
    """Keys of the rows that match, at most ``limit``; with ``limit`` None, whole rows."""
    select = None if limit is None else ["PartitionKey", "RowKey"]
    pager = table.query_entities(where, parameters=params, select=select,
                                 results_per_page=min(limit or 1000, 1000))
    found: list[Any] = []
    with storage_errors(f"query {table.table_name}"):
        async for entity in pager:
            found.append(entity if limit is None else (entity["PartitionKey"], entity["RowKey"]))
            if limit is not None and len(found) >= limit:
                break
    return found


async def _delete_blobs(storage: Storage, container_name: str, prefix: str, limit: int) -> int:
    container = await storage.container(container_name)
    names: list[str] = []
    with storage_errors(f"list blobs of {container.container_name}"):
        async for blob in container.list_blobs(name_starts_with=prefix):
            names.append(blob.name)
            if len(names) >= limit:
                break
    await _each(names, lambda name: delete_blob(container, name))
    return len(names)


async def _each(items: Iterable[Any], action: Callable[[Any], Awaitable[object]]) -> None:
    gate = asyncio.Semaphore(DELETES_AT_ONCE)

    async def one(item: Any) -> None:
        async with gate:
            await action(item)

    await asyncio.gather(*(one(item) for item in items))


__all__ = ["owned_ids", "sweep_step"]
