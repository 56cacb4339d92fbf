"""Building a deployment's mapping plan from the source set and the target (DESIGN §11).

Reads only the source tenant's backup set and snapshots (never its Graph objects; its
``organization`` is read once for its domain) and the target tenant's Graph; writes nothing.
The start request builds it to refuse bad overrides and an unresolved live run before a run
exists; the run's plan activity builds it again and persists it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from shared.backups.sets import BackupItem, BackupSetStore
from shared.backups.snapshots import SnapshotStore
from shared.deploy.plan import (
    CLIENT_CHOSEN_IDS,
    TENANT_VALUE,
    MappingRow,
    Resolution,
    SourceItem,
    Status,
    Via,
    discover,
    reserve_client_ids,
    resolve,
)
from shared.deploy.store import MappingRegistry
from shared.deploy.target import initial_domain, read_target
from shared.deploy.transform import find_tenant_values, tenant_value_pairs
from shared.graph.catalog import BY_KEY
from shared.graph.documents import own_fields
from shared.graph.entries.identity import USERS
from shared.platform.errors import NotFound
from shared.platform.storage import Storage

READS_AT_ONCE = 16  # snapshot blobs read at once


@dataclass(frozen=True)
class Deployment:
    source_tenant_id: str
    target_tenant_id: str
    backup_set_id: str
    item_ids: list[str] | None = None
    mappings: dict[str, str | None] = field(default_factory=dict)
    create_missing_groups: bool = False

    @classmethod
    def of_run(cls, tenant_id: str, backup_set_id: str, parameters: dict[str, Any]
               ) -> Deployment:
        return cls(source_tenant_id=parameters["source_tenant_id"], target_tenant_id=tenant_id,
                   backup_set_id=backup_set_id, item_ids=parameters.get("item_ids"),
                   mappings=dict(parameters.get("mappings") or {}),
                   create_missing_groups=bool(parameters.get("create_missing_groups")))


async def source_documents(storage: Storage, tenant_id: str, items: list[BackupItem]
                           ) -> list[dict[str, Any]]:
    snapshots, gate = SnapshotStore(storage), asyncio.Semaphore(READS_AT_ONCE)

    async def one(item: BackupItem) -> dict[str, Any]:
        async with gate:
            return await snapshots.get(item.blob_path, tenant_id=tenant_id)

    return list(await asyncio.gather(*(one(i) for i in items)))


async def build_plan(storage: Storage, deployment: Deployment, *,
                     tenant_values: bool) -> Resolution:
    """The plan's rows (and the overrides it refuses); with ``tenant_values``, the rows of
    the tenant values too (one per item and property path)."""
    d = deployment
    sets = BackupSetStore(storage)
    if await sets.get(d.source_tenant_id, d.backup_set_id) is None:
        raise NotFound("the backup set is not the source tenant's")
    every = await sets.items(d.backup_set_id)
    names = {(i.policy_type, i.policy_id): i.display_name for i in every}
    wanted = None if d.item_ids is None else set(d.item_ids)
    chosen = [i for i in every if (wanted is None or i.item_id in wanted)
              and i.policy_type in BY_KEY]
    documents = await source_documents(storage, d.source_tenant_id, chosen)
    items = [SourceItem(i.item_id, i.policy_type, i.policy_id, doc)
             for i, doc in zip(chosen, documents, strict=True)]
    uses = discover(items, names)
    registry = await MappingRegistry(storage).targets(d.target_tenant_id, d.source_tenant_id)
    users = [t for (kind, sid) in uses if kind == USERS
             for t in (d.mappings.get(sid), registry.get(sid)) if t]
    kinds = {kind for kind, _ in uses} | {i.policy_type for i in items
                                          if i.policy_type in CLIENT_CHOSEN_IDS}
    target = await read_target(d.target_tenant_id, kinds, users)
    resolution = resolve(
        uses, names=names, deployment={(i.policy_type, i.policy_id): i.document for i in items},
        target=target, overrides=d.mappings, registry=registry,
        create_missing_groups=d.create_missing_groups)
    reserve_client_ids(resolution.rows, items, target)
    if tenant_values:
        resolution.rows += await _tenant_values(d, items)
    return resolution


async def _tenant_values(d: Deployment, items: list[SourceItem]) -> list[MappingRow]:
    source_domain, target_domain = await asyncio.gather(
        initial_domain(d.source_tenant_id), initial_domain(d.target_tenant_id))
    pairs = tenant_value_pairs(d.source_tenant_id, d.target_tenant_id, source_domain,
                               target_domain)
    return [MappingRow(kind=TENANT_VALUE, source_id=value, target_id=replacement,
                       status=Status.MAPPED, via=Via.TENANT, referenced_by=[item.item_id],
                       path=path)
            for item in items
            for path, value, replacement in find_tenant_values(
                own_fields(BY_KEY[item.policy_type], item.document), pairs)]
