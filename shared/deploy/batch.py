"""One batch of a cross-tenant run, made to fit the target (DESIGN §11).

The restore item activities call :func:`fit_batch` when their run has a source tenant: the
snapshots get the plan's drops, tenant values and secret handling
(:func:`shared.deploy.transform.for_target`), and the plan's mapped ids join the run's id map
(the run's own entries — objects it created or matched — win).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.deploy.plan import Status
from shared.deploy.plan import id_map as plan_id_map
from shared.deploy.store import PlanStore
from shared.deploy.transform import for_target
from shared.graph.catalog import BY_KEY
from shared.platform.storage import Storage
from shared.runs.store import RunStore


@dataclass
class FittedBatch:
    documents: list[dict[str, Any]]
    id_map: dict[str, dict[str, str]]
    warnings: dict[str, list[dict[str, str]]]  # by item id


async def fit_batch(storage: Storage, *, run_id: str, tenant_id: str, policy_type: str,
                    loaded: list[tuple[str, dict[str, Any]]],
                    id_map: Mapping[str, Mapping[str, str]] | None) -> FittedBatch:
    run = await RunStore(storage).get(tenant_id, run_id)
    copy_secrets = bool(run and run.parameters.get("copy_secrets"))
    rows = await PlanStore(storage).rows(run_id)
    names = {(r.kind, r.source_id): r.source_name or "" for r in rows}
    rtype = BY_KEY[policy_type]
    reserved = {r.source_id: r.target_id for r in rows if r.kind == policy_type
                and r.status == Status.WILL_CREATE and r.target_id}
    documents, warnings = [], {}
    for item_id, document in loaded:
        if reserved.get(str(document.get("id"))):  # created under another id than its own
            document = {**document, "id": reserved[str(document["id"])]}
        mine = [r for r in rows if r.kind != "tenant_value" or item_id in r.referenced_by]
        fitted, notes = for_target(rtype, document, mine, copy_secrets=copy_secrets,
                                   names=names)
        documents.append(fitted)
        if notes:
            warnings[item_id] = notes
    merged = plan_id_map(rows)
    for kind, entries in (id_map or {}).items():
        merged.setdefault(kind, {}).update(entries)
    return FittedBatch(documents, merged, warnings)
