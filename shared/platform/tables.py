"""Azure Table primitives: every store reads and writes tables through these (DESIGN §5).

Expected conditions are return values — an absent row is None, a row that already exists or
changed since it was read is False (None from :func:`replaced_etag`, which returns the new
ETag) — so stores branch on them without knowing the SDK. Any
other failure leaves as :class:`~shared.platform.errors.StorageError` (see
:func:`~shared.platform.storage.storage_errors`). Every query reads one partition, because
every store keys its lists by partition: :func:`query_all` reads all of it, :func:`query_page`
one API page of it (DESIGN §3 ``?continuation=``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import (
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
    ServiceRequestError,
)
from azure.data.tables import TableEntity, TableTransactionError, UpdateMode
from azure.data.tables.aio import TableClient

from shared.platform.paging import Page, decode_token, encode_token
from shared.platform.storage import storage_errors

Entity = dict[str, Any]
TRANSACTION_LIMIT = 100  # operations per entity-group transaction
PREFIXES_PER_QUERY = 7  # 1 + 2 per prefix: within the 15 comparisons of a $filter
_SEND_ATTEMPTS = 3
_TRANSACTION_BYTES = 3 * 1024 * 1024  # the service refuses a batch over 4 MiB; keep a margin


def etag(entity: TableEntity) -> str:
    """The ETag a read returned, for :func:`replace_if_unchanged` and :func:`delete`."""
    return entity.metadata["etag"]


async def get_or_none(table: TableClient, partition_key: str, row_key: str
                      ) -> TableEntity | None:
    with storage_errors(f"read a row of {table.table_name}"):
        try:
            return await table.get_entity(partition_key, row_key)
        except ResourceNotFoundError:
            return None


async def insert_once(table: TableClient, entity: Entity) -> bool:
    """Insert, never overwrite; False when the row already exists (it is left unchanged)."""
    with storage_errors(f"insert a row into {table.table_name}"):
        try:
            await table.create_entity(entity)
        except ResourceExistsError:
            return False
    return True


async def replace_if_unchanged(table: TableClient, entity: Entity, etag: str) -> bool:
    """Replace the row read with ``etag``; False when it changed or vanished since."""
    return await replaced_etag(table, entity, etag) is not None


async def replaced_etag(table: TableClient, entity: Entity, etag: str) -> str | None:
    """:func:`replace_if_unchanged`, returning the row's new ETag (None: not replaced), so
    the writer can change the row again without reading it first."""
    return await _update(table, entity, UpdateMode.REPLACE, etag)


async def merge_if_present(table: TableClient, entity: Entity) -> bool:
    """Merge ``entity``'s properties into an existing row; False when there is no row."""
    return await _update(table, entity, UpdateMode.MERGE, None) is not None


async def _update(table: TableClient, entity: Entity, mode: UpdateMode, etag: str | None
                  ) -> str | None:
    condition = MatchConditions.Unconditionally if etag is None else MatchConditions.IfNotModified
    with storage_errors(f"update a row of {table.table_name}"):
        try:
            written = await table.update_entity(entity, mode=mode, etag=etag,
                                                match_condition=condition)
        except (ResourceModifiedError, ResourceNotFoundError):
            return None
    return str(written["etag"])


async def upsert(table: TableClient, entity: Entity, *, merge: bool = False) -> None:
    """Write the row whether or not it exists: replace it, or with ``merge`` keep the
    properties ``entity`` does not name."""
    mode = UpdateMode.MERGE if merge else UpdateMode.REPLACE
    with storage_errors(f"write a row of {table.table_name}"):
        await table.upsert_entity(entity, mode=mode)


async def upsert_many(table: TableClient, entities: Iterable[Entity]) -> None:
    """Replace-or-insert many rows in as few entity-group transactions as the service allows:
    one partition each, at most 100 operations and 4 MiB, no row twice (a later entity with
    the same keys wins, as sequential upserts would). Each transaction is atomic; together
    they are not."""
    with storage_errors(f"write rows of {table.table_name}"):
        for batch in _transactions(entities):
            operations = [("upsert", entity, {"mode": UpdateMode.REPLACE}) for entity in batch]
            for attempt in range(_SEND_ATTEMPTS):
                try:
                    await table.submit_transaction(operations)
                    break
                except ServiceRequestError:  # not sent (a reset pooled connection): an
                    if attempt == _SEND_ATTEMPTS - 1:  # upsert batch is safe to send again,
                        raise  # which azure-core does not do for a POST


def _transactions(entities: Iterable[Entity]) -> list[list[Entity]]:
    partitions: dict[str, dict[str, Entity]] = {}
    for entity in entities:
        partitions.setdefault(entity["PartitionKey"], {})[entity["RowKey"]] = entity
    batches: list[list[Entity]] = []
    for rows in partitions.values():
        batch: list[Entity] = []
        size = 0
        for entity in rows.values():
            entity_size = len(json.dumps(entity, default=str))
            if batch and (len(batch) == TRANSACTION_LIMIT
                          or size + entity_size > _TRANSACTION_BYTES):
                batches.append(batch)
                batch, size = [], 0
            batch.append(entity)
            size += entity_size
        batches.append(batch)
    return batches


async def delete(table: TableClient, partition_key: str, row_key: str, *,
                 etag: str | None = None) -> bool:
    """Delete the row (absent is fine); with ``etag``, only the row as it was read — False
    when it changed since."""
    condition = MatchConditions.Unconditionally if etag is None else MatchConditions.IfNotModified
    with storage_errors(f"delete a row of {table.table_name}"):
        try:
            await table.delete_entity(partition_key, row_key, etag=etag,
                                      match_condition=condition)
        except ResourceModifiedError:
            return False
    return True


async def delete_many(table: TableClient, keys: Iterable[tuple[str, str]]) -> None:
    """Delete many rows by ``(PartitionKey, RowKey)`` in entity-group transactions (absent
    rows are fine: a transaction that finds one gone is retried row by row)."""
    entities = [{"PartitionKey": pk, "RowKey": rk} for pk, rk in keys]
    for batch in _transactions(entities):
        with storage_errors(f"delete rows of {table.table_name}"):
            try:
                await table.submit_transaction([("delete", entity) for entity in batch])
                continue
            except (ResourceNotFoundError, TableTransactionError):
                pass
        for entity in batch:
            await delete(table, entity["PartitionKey"], entity["RowKey"])


async def query_range(table: TableClient, low: str, high: str, where: str = "",
                      parameters: dict[str, Any] | None = None,
                      select: list[str] | None = None) -> list[TableEntity]:
    """Every row whose PartitionKey is in ``[low, high)`` (the partitions of one tenant,
    for the purge), in key order; ``where`` as in :func:`query_all`."""
    params = dict(parameters or {})
    if {"lo", "hi"} & params.keys():
        raise ValueError("@lo and @hi are reserved for the partition range")
    params.update(lo=low, hi=high)
    query = "PartitionKey ge @lo and PartitionKey lt @hi" + (f" and {where}" if where else "")
    pager = table.query_entities(query, parameters=params, select=select)
    with storage_errors(f"query {table.table_name}"):
        return [entity async for entity in pager]


async def query_table(table: TableClient, where: str, parameters: dict[str, Any],
                      select: list[str] | None = None) -> list[TableEntity]:
    """Every row of every partition matching ``where`` (a daily sweep's scan, never a
    request's)."""
    pager = table.query_entities(where, parameters=parameters, select=select)
    with storage_errors(f"query {table.table_name}"):
        return [entity async for entity in pager]


async def query_all(table: TableClient, partition_key: str, where: str = "",
                    parameters: dict[str, Any] | None = None) -> list[TableEntity]:
    """Every row of the partition, in key order. ``where`` (OData over ``@parameters``) is
    and-ed to the partition filter: keep it to ``and``-ed conditions."""
    query, params = _filter(partition_key, where, parameters)
    pager = table.query_entities(query, parameters=params)
    with storage_errors(f"query {table.table_name}"):
        return [entity async for entity in pager]


async def query_prefixes(table: TableClient, partition_key: str, prefixes: list[str]
                         ) -> list[TableEntity]:
    """Rows of the partition whose RowKey starts with one of ``prefixes`` (each ending in a
    character below ``}``, as ``"type|"``): one query per :data:`PREFIXES_PER_QUERY`, the
    queries concurrent. Azure Storage allows 15 comparisons in a ``$filter``, and serves an
    ``or`` of RowKey ranges by scanning the partition, so the ranges of one query are few."""
    chunks = [prefixes[n:n + PREFIXES_PER_QUERY]
              for n in range(0, len(prefixes), PREFIXES_PER_QUERY)]
    found = await asyncio.gather(*(_query_prefixes(table, partition_key, c) for c in chunks))
    return [entity for rows in found for entity in rows]


async def _query_prefixes(table: TableClient, partition_key: str, prefixes: list[str]
                          ) -> list[TableEntity]:
    params: dict[str, Any] = {}
    ranges = []
    for n, prefix in enumerate(prefixes):
        params[f"lo{n}"], params[f"hi{n}"] = prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)
        ranges.append(f"RowKey ge @lo{n} and RowKey lt @hi{n}")
    # One and-ed condition; spaces around the parentheses, as _filter says.
    return await query_all(table, partition_key, f"( {' or '.join(ranges)} )", params)


async def query_page(
    table: TableClient,
    partition_key: str,
    *,
    top: int,
    continuation: str | None,
    where: str = "",
    parameters: dict[str, Any] | None = None,
) -> Page[TableEntity]:
    """One page of at most ``top`` rows of the partition, from the API ``continuation`` token
    (a tampered token is a 400); the page's token is None after the last page."""
    token = decode_token(continuation)
    query, params = _filter(partition_key, where, parameters)
    pager = table.query_entities(query, parameters=params, results_per_page=top)
    with storage_errors(f"query {table.table_name}"):
        pages = pager.by_page(continuation_token=token)
        async for page in pages:
            entities = [entity async for entity in page]
            next_token = pages.continuation_token  # type: ignore[attr-defined]
            return Page(entities[:top], encode_token(next_token))
    return Page([])


def _filter(partition_key: str, where: str, parameters: dict[str, Any] | None
            ) -> tuple[str, dict[str, Any]]:
    params = dict(parameters or {})
    if "pk" in params:
        raise ValueError("@pk is reserved for the partition key")
    params["pk"] = partition_key
    # No parentheses: the SDK reads an @name up to the next space, so "@name)" would not match.
    return "PartitionKey eq @pk" + (f" and {where}" if where else ""), params
