"""Run records, the run index and per-item outcomes in Azure Tables (DESIGN §4–5).

Runs live under PartitionKey = tenant, RowKey = inverted ULID, so a tenant's runs list newest
first. The index (PartitionKey = run id) finds a run's tenant for the 403 check. Items live
under PartitionKey = run id, RowKey = item key, so a retried activity overwrites its own row.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime
from typing import Any

from ulid import ULID

from shared.platform import tables
from shared.platform.errors import NotFound, StorageError, ValidationFailed
from shared.platform.keys import inverted_ulid
from shared.platform.paging import Page
from shared.platform.storage import Storage
from shared.runs.model import Counts, Run, RunItem, RunStatus

RUNS, RUN_INDEX, RUN_ITEMS = "runs", "runindex", "runitems"
_JSON_FIELDS = ("counts", "error", "warnings", "parameters", "drift")
_ITEM_JSON_FIELDS = ("error", "diff", "warnings", "changed_by")
_MAX_PROPERTY_CHARS = 30_000
INDEX_ATTEMPTS = 8  # Azure Table strings hold 32K UTF-16 characters (64 KiB)


def _to_entity(run: Run) -> dict[str, Any]:
    entity: dict[str, Any] = {"PartitionKey": run.tenant_id, "RowKey": inverted_ulid(run.run_id)}
    for name, value in asdict(run).items():
        entity[name] = json.dumps(value) if name in _JSON_FIELDS else value
    source = run.parameters.get("source_tenant_id")
    if source:  # a cross-tenant deployment, found by the tenant it reads (DESIGN §11, §12)
        entity["source_tenant_id"] = source
    return entity


def _from_entity(entity: dict[str, Any]) -> Run:
    data = {f.name: entity.get(f.name) for f in fields(Run)}
    for name in _JSON_FIELDS:
        data[name] = json.loads(data[name]) if data[name] else None
    data["counts"] = Counts(**(data["counts"] or {}))
    data["parameters"] = data["parameters"] or {}
    data["warnings"] = data["warnings"] or []  # absent on runs recorded before warnings
    return Run(**data)


@dataclass(frozen=True)
class SeenRun:
    """A run as read, with the ETag of that read."""

    run: Run
    etag: str


class RunStore:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    async def create(self, run: Run) -> None:
        """Record ``run``: its index row first (retried until it lands), then the run row, so
        a run row never exists without the index the 403 check reads (issue 19, finding 5)."""
        runs = await self._storage.table(RUNS)
        await self.ensure_indexed(run)
        # Insert, never overwrite: a start that lost a race must not reset a run the
        # orchestrator already moved on (e.g. back from ``running`` to ``queued``).
        await tables.insert_once(runs, _to_entity(run))

    async def ensure_indexed(self, run: Run, *, only_if_missing: bool = False) -> bool:
        """Write ``run``'s index row, retrying a failed write (bounded); with
        ``only_if_missing``, read first and write nothing when it is there. True if written."""
        index = await self._storage.table(RUN_INDEX)
        if only_if_missing and await tables.get_or_none(index, run.run_id, "run") is not None:
            return False
        row = {"PartitionKey": run.run_id, "RowKey": "run", "tenant_id": run.tenant_id}
        for attempt in range(INDEX_ATTEMPTS):
            try:
                await tables.upsert(index, row, merge=True)
                return True
            except StorageError:
                if attempt == INDEX_ATTEMPTS - 1:
                    raise
                await asyncio.sleep(min(2.0, 0.05 * 2 ** attempt))
        return True  # pragma: no cover

    async def get(self, tenant_id: str, run_id: str) -> Run | None:
        seen = await self.get_seen(tenant_id, run_id)
        return None if seen is None else seen.run

    async def get_seen(self, tenant_id: str, run_id: str) -> SeenRun | None:
        """The run with the ETag it was read at, for an :meth:`update` that follows."""
        runs = await self._storage.table(RUNS)
        entity = await tables.get_or_none(runs, tenant_id, inverted_ulid(run_id))
        return None if entity is None else SeenRun(_from_entity(entity), tables.etag(entity))

    async def tenant_of(self, run_id: str) -> str | None:
        index = await self._storage.table(RUN_INDEX)
        entity = await tables.get_or_none(index, run_id, "run")
        return None if entity is None else entity["tenant_id"]

    async def update(self, tenant_id: str, run_id: str, *, seen: SeenRun | None = None,
                     **changes: Any) -> Run:
        """Apply ``changes`` unless the run is already terminal (terminal states never change).

        ETag-guarded: concurrent updates retry on a fresh read rather than overwrite. ``seen``:
        the run as the caller has just read or written it (:meth:`get_seen`,
        :meth:`update_seen`), so it is not read again unless it changed meanwhile.
        """
        return (await self.update_seen(tenant_id, run_id, seen=seen, **changes)).run

    async def update_seen(self, tenant_id: str, run_id: str, *, seen: SeenRun | None = None,
                          **changes: Any) -> SeenRun:
        """:meth:`update`, returning the run with the ETag it now has."""
        runs = await self._storage.table(RUNS)
        while True:
            if seen is None:
                seen = await self.get_seen(tenant_id, run_id)
                if seen is None:
                    raise NotFound("the run to update does not exist")
            if seen.run.terminal:
                return seen
            run = replace(seen.run)
            for name, value in changes.items():
                setattr(run, name, Counts(**value) if name == "counts" and isinstance(
                    value, dict) else value)
            etag = await tables.replaced_etag(runs, _to_entity(run), seen.etag)
            if etag is not None:
                return SeenRun(run, etag)
            seen = None

    async def list(
        self,
        tenant_id: str,
        *,
        top: int,
        continuation: str | None = None,
        run_type: str | None = None,
        status: str | None = None,
    ) -> Page[Run]:
        runs = await self._storage.table(RUNS)
        conditions: list[str] = []
        params: dict[str, Any] = {}
        if run_type:
            conditions.append("run_type eq @run_type")
            params["run_type"] = run_type
        if status:
            if status not in {s.value for s in RunStatus}:
                raise ValidationFailed(f"status must be one of {', '.join(s for s in RunStatus)}")
            conditions.append("status eq @status")
            params["status"] = status
        page = await tables.query_page(runs, tenant_id, top=top, continuation=continuation,
                                       where=" and ".join(conditions), parameters=params)
        return Page([_from_entity(e) for e in page.value], page.continuation)

    async def in_flight(self, tenant_id: str) -> list[Run]:
        """The tenant's runs still ``queued`` or ``running``."""
        runs = await self._storage.table(RUNS)
        found: list[Run] = []
        for status in (RunStatus.QUEUED, RunStatus.RUNNING):
            rows = await tables.query_all(runs, tenant_id, "status eq @s", {"s": status.value})
            found.extend(_from_entity(e) for e in rows)
        return found

    async def reading_from(self, source_tenant_id: str) -> list[Run]:
        """Runs of any tenant still ``queued`` or ``running`` that read ``source_tenant_id``'s
        data: cross-tenant deployments from it (a scan of every partition, for daily sweeps
        and offboarding, never a request)."""
        runs = await self._storage.table(RUNS)
        rows = await tables.query_table(
            # spaces around the parentheses: the SDK finds @names between spaces
            runs, "source_tenant_id eq @t and ( status eq @q or status eq @r )",
            {"t": source_tenant_id, "q": RunStatus.QUEUED.value, "r": RunStatus.RUNNING.value})
        return [_from_entity(e) for e in rows]

    async def unfinished(self, tenant_id: str, *, since: datetime, until: datetime
                         ) -> list[Run]:
        """The tenant's ``queued`` and ``running`` runs recorded between ``since`` and
        ``until`` (a RowKey range: runs are keyed newest first), oldest last."""
        runs = await self._storage.table(RUNS)
        newest = inverted_ulid(str(ULID.from_datetime(until)))
        oldest = inverted_ulid(str(ULID.from_datetime(since)))
        found: list[Run] = []
        for status in (RunStatus.QUEUED.value, RunStatus.RUNNING.value):
            rows = await tables.query_all(
                runs, tenant_id, "RowKey ge @newest and RowKey le @oldest and status eq @status",
                {"newest": newest, "oldest": oldest, "status": status})
            found.extend(_from_entity(row) for row in rows)
        return found

    async def put_item(self, run_id: str, item: RunItem) -> None:
        items = await self._storage.table(RUN_ITEMS)
        await tables.upsert(items, _item_entity(run_id, item))

    async def put_items(self, run_id: str, items: list[RunItem]) -> None:
        """Upsert many items of one run in entity-group transactions."""
        table = await self._storage.table(RUN_ITEMS)
        await tables.upsert_many(table, [_item_entity(run_id, item) for item in items])

    async def get_item(self, run_id: str, item_id: str) -> RunItem | None:
        items = await self._storage.table(RUN_ITEMS)
        entity = await tables.get_or_none(items, run_id, item_id)
        return None if entity is None else _item_from_entity(entity)

    async def list_items(
        self, run_id: str, *, top: int, continuation: str | None = None
    ) -> Page[RunItem]:
        items = await self._storage.table(RUN_ITEMS)
        page = await tables.query_page(items, run_id, top=top, continuation=continuation)
        return Page([_item_from_entity(e) for e in page.value], page.continuation)

    async def all_items(self, run_id: str) -> list[RunItem]:
        items = await self._storage.table(RUN_ITEMS)
        return [_item_from_entity(e) for e in await tables.query_all(items, run_id)]


def _item_entity(run_id: str, item: RunItem) -> dict[str, Any]:
    entity: dict[str, Any] = {"PartitionKey": run_id, "RowKey": item.item_id}
    for name, value in asdict(item).items():
        entity[name] = json.dumps(value) if name in _ITEM_JSON_FIELDS else value
    if len(entity["diff"]) > _MAX_PROPERTY_CHARS:
        entity["diff"] = json.dumps(_truncate_diff(item.diff or []))
    entity["status"] = item.status
    return entity


def _item_from_entity(entity: dict[str, Any]) -> RunItem:
    data = {f.name: entity.get(f.name) for f in fields(RunItem)}
    for name in _ITEM_JSON_FIELDS:
        data[name] = json.loads(data[name]) if data[name] else None
    return RunItem(**data)


def _truncate_diff(diff: list[dict[str, str]]) -> list[dict[str, str]]:
    kept: list[dict[str, str]] = []
    size = 0
    for entry in diff:
        size += len(json.dumps(entry))
        if size > _MAX_PROPERTY_CHARS - 200:
            kept.append({"path": f"... {len(diff) - len(kept)} more changes", "change": "changed"})
            break
        kept.append(entry)
    return kept

