"""Where a deployment's plan and the saved mappings live (DESIGN §5, §11).

- **plan rows** (PartitionKey = run id, RowKey = hash of the row's key): one row per
  reference; a retried plan activity rewrites its own rows.
- **registry** (PartitionKey = ``{target}|{source}``, RowKey = source id): the target id a
  source object maps to for that tenant pair, reused by the next deployment.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from shared.deploy.plan import MappingRow
from shared.platform import tables
from shared.platform.storage import Storage

DEPLOY_PLANS, DEPLOY_REGISTRY = "deployplans", "deployregistry"
_MAX_REFERENCED_BY = 500  # item ids kept on one row (64 KiB property limit)


class PlanStore:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    async def put(self, run_id: str, rows: Iterable[MappingRow]) -> None:
        table = await self._storage.table(DEPLOY_PLANS)
        await tables.upsert_many(table, [{
            "PartitionKey": run_id,
            "RowKey": hashlib.sha256(row.key.encode()).hexdigest()[:40],
            "row": json.dumps({**row.to_dict(),
                               "referenced_by": row.referenced_by[:_MAX_REFERENCED_BY]}),
        } for row in rows])

    async def rows(self, run_id: str) -> list[MappingRow]:
        table = await self._storage.table(DEPLOY_PLANS)
        rows = [MappingRow.from_dict(json.loads(e["row"]))
                for e in await tables.query_all(table, run_id)]
        return sorted(rows, key=lambda r: (r.kind, r.source_id, r.referenced_by, r.path or ""))


@dataclass(frozen=True)
class SavedMapping:
    source_id: str
    target_id: str
    kind: str | None
    updated_at: str
    updated_by: str


class MappingRegistry:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    async def get(self, target_tenant_id: str, source_tenant_id: str) -> list[SavedMapping]:
        table = await self._storage.table(DEPLOY_REGISTRY)
        return [SavedMapping(e["RowKey"], e["target_id"], e.get("kind"), e["updated_at"],
                             e["updated_by"])
                for e in await tables.query_all(table, _pair(target_tenant_id,
                                                             source_tenant_id))]

    async def targets(self, target_tenant_id: str, source_tenant_id: str) -> dict[str, str]:
        return {m.source_id: m.target_id
                for m in await self.get(target_tenant_id, source_tenant_id)}

    async def save(self, target_tenant_id: str, source_tenant_id: str,
                   mappings: Mapping[str, tuple[str, str | None]], *, at: str, by: str,
                   replace: bool = False) -> None:
        """Save ``{source id: (target id, kind)}``; with ``replace``, the pair's registry
        becomes exactly that."""
        table = await self._storage.table(DEPLOY_REGISTRY)
        pair = _pair(target_tenant_id, source_tenant_id)
        if replace:
            for entity in await tables.query_all(table, pair):
                if entity["RowKey"] not in mappings:
                    await tables.delete(table, pair, entity["RowKey"])
        await tables.upsert_many(table, [
            {"PartitionKey": pair, "RowKey": source_id, "target_id": target_id, "kind": kind,
             "updated_at": at, "updated_by": by, "target_tenant_id": target_tenant_id,
             "source_tenant_id": source_tenant_id}  # what offboarding finds either side by
            for source_id, (target_id, kind) in mappings.items()])


def _pair(target_tenant_id: str, source_tenant_id: str) -> str:
    return f"{target_tenant_id}|{source_tenant_id}"
