"""Run records, the run index and per-item outcomes in Azure Tables (DESIGN §4–5).

Runs live under PartitionKey = tenant, RowKey = inverted ULID, so a tenant's runs list newest
first. The index (PartitionKey = run id) finds a run's tenant for the 403 check. Items live
under PartitionKey = run id, RowKey = item key, so a retried activity overwrites its own row.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict, fields
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import (
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
)
from azure.data.tables import UpdateMode

from shared.platform.errors import ValidationFailed
from shared.platform.keys import inverted_ulid
from shared.platform.paging import Page, first_page
from shared.platform.storage import Storage
from shared.runs.model import Counts, Run, RunItem, RunStatus

RUNS, RUN_INDEX, RUN_ITEMS = "runs", "runindex", "runitems"
_JSON_FIELDS = ("counts", "error", "parameters")
_TRANSACTION_LIMIT = 100  # entities per entity-group transaction
_MAX_PROPERTY_CHARS = 30_000  # Azure Table strings hold 32K UTF-16 characters (64 KiB)


def _to_entity(run: Run) -> dict[str, Any]:
    entity: dict[str, Any] = {"PartitionKey": run.tenant_id, "RowKey": inverted_ulid(run.run_id)}
    for name, value in asdict(run).items():
        entity[name] = json.dumps(value) if name in _JSON_FIELDS else value
    return entity


def _from_entity(entity: dict[str, Any]) -> Run:
    data = {f.name: entity.get(f.name) for f in fields(Run)}
    for name in _JSON_FIELDS:
        data[name] = json.loads(data[name]) if data[name] else None
    data["counts"] = Counts(**(data["counts"] or {}))
    data["parameters"] = data["parameters"] or {}
    return Run(**data)


class RunStore:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    async def create(self, run: Run) -> None:
        runs = await self._storage.table(RUNS)
        index = await self._storage.table(RUN_INDEX)
        await asyncio.gather(
            _create_once(runs, _to_entity(run)),
            index.upsert_entity(
                {"PartitionKey": run.run_id, "RowKey": "run", "tenant_id": run.tenant_id}),
        )

    async def get(self, tenant_id: str, run_id: str) -> Run | None:
        runs = await self._storage.table(RUNS)
        try:
            entity = await runs.get_entity(tenant_id, inverted_ulid(run_id))
        except ResourceNotFoundError:
            return None
        return _from_entity(entity)

    async def tenant_of(self, run_id: str) -> str | None:
        index = await self._storage.table(RUN_INDEX)
        try:
            entity = await index.get_entity(run_id, "run")
        except ResourceNotFoundError:
            return None
        return entity["tenant_id"]

    async def update(self, tenant_id: str, run_id: str, **changes: Any) -> Run:
        """Apply ``changes`` unless the run is already terminal (terminal states never change).

        ETag-guarded: concurrent updates retry on a fresh read rather than overwrite.
        """
        runs = await self._storage.table(RUNS)
        while True:
            entity = await runs.get_entity(tenant_id, inverted_ulid(run_id))
            run = _from_entity(entity)
            if run.terminal:
                return run
            for name, value in changes.items():
                setattr(run, name, Counts(**value) if name == "counts" and isinstance(
                    value, dict) else value)
            try:
                await runs.update_entity(
                    _to_entity(run),
                    mode=UpdateMode.REPLACE,
                    etag=entity.metadata["etag"],
                    match_condition=MatchConditions.IfNotModified,
                )
                return run
            except ResourceModifiedError:
                continue

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
        query = "PartitionKey eq @tenant"
        params: dict[str, Any] = {"tenant": tenant_id}
        if run_type:
            query += " and run_type eq @run_type"
            params["run_type"] = run_type
        if status:
            if status not in {s.value for s in RunStatus}:
                raise ValidationFailed(f"status must be one of {', '.join(s for s in RunStatus)}")
            query += " and status eq @status"
            params["status"] = status
        pager = runs.query_entities(query, parameters=params, results_per_page=top)
        page = await first_page(pager, top, continuation)
        return Page([_from_entity(e) for e in page.value], page.continuation)

    async def put_item(self, run_id: str, item: RunItem) -> None:
        items = await self._storage.table(RUN_ITEMS)
        await items.upsert_entity(_item_entity(run_id, item), mode=UpdateMode.REPLACE)

    async def put_items(self, run_id: str, items: list[RunItem]) -> None:
        """Upsert many items of one run, up to 100 per entity-group transaction."""
        table = await self._storage.table(RUN_ITEMS)
        entities = [_item_entity(run_id, item) for item in items]
        for start in range(0, len(entities), _TRANSACTION_LIMIT):
            await table.submit_transaction([
                ("upsert", entity, {"mode": UpdateMode.REPLACE})
                for entity in entities[start:start + _TRANSACTION_LIMIT]
            ])

    async def get_item(self, run_id: str, item_id: str) -> RunItem | None:
        items = await self._storage.table(RUN_ITEMS)
        try:
            return _item_from_entity(await items.get_entity(run_id, item_id))
        except ResourceNotFoundError:
            return None

    async def list_items(
        self, run_id: str, *, top: int, continuation: str | None = None
    ) -> Page[RunItem]:
        items = await self._storage.table(RUN_ITEMS)
        pager = items.query_entities(
            "PartitionKey eq @run", parameters={"run": run_id}, results_per_page=top
        )
        page = await first_page(pager, top, continuation)
        return Page([_item_from_entity(e) for e in page.value], page.continuation)

    async def all_items(self, run_id: str) -> list[RunItem]:
        items = await self._storage.table(RUN_ITEMS)
        pager = items.query_entities("PartitionKey eq @run", parameters={"run": run_id})
        return [_item_from_entity(e) async for e in pager]


def _item_entity(run_id: str, item: RunItem) -> dict[str, Any]:
    entity: dict[str, Any] = {"PartitionKey": run_id, "RowKey": item.item_id}
    for name, value in asdict(item).items():
        entity[name] = json.dumps(value) if name in ("error", "diff") else value
    if len(entity["diff"]) > _MAX_PROPERTY_CHARS:
        entity["diff"] = json.dumps(_truncate_diff(item.diff or []))
    entity["status"] = item.status
    return entity


def _item_from_entity(entity: dict[str, Any]) -> RunItem:
    data = {f.name: entity.get(f.name) for f in fields(RunItem)}
    for name in ("error", "diff"):
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


async def _create_once(table: Any, entity: dict[str, Any]) -> None:
    """Insert, never overwrite: a start that lost a race must not reset a run the
    orchestrator already moved on (e.g. back from ``running`` to ``queued``)."""
    try:
        await table.create_entity(entity)
    except ResourceExistsError:
        pass
