"""What a live restore remembers between attempts (DESIGN §4, §8): write intents and the
run's old→new id map.

- A **step** row per run and item (PartitionKey = run id, RowKey = item key) records intent
  *before* a write: ``creating`` before a POST, ``created`` with the new id after it,
  ``writing`` before an update. A retried or replayed activity that finds ``creating`` looks
  for the object it may have created (by its unique display name, with a bounded wait for a
  lagging listing: ``shared.restore.uncertain``) instead of creating a second copy, and an
  object found equal to the snapshot after ``writing`` is reported as updated, not
  ``no_change``. ``refused``: the POST was refused, nothing to look for.
- The **id map** (PartitionKey = run id, RowKey = ``{type}.{old id}``) holds every object the
  restore wrote under another id than its snapshot's (recreated, or matched by name), so
  references in dependents are rewritten before they are written.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from shared.platform import tables
from shared.platform.storage import Storage

RESTORE_STEPS, RESTORE_ID_MAP = "restoresteps", "restoreidmap"


class StepState(StrEnum):
    CREATING = "creating"
    CREATED = "created"
    WRITING = "writing"
    REFUSED = "refused"  # the POST was answered with a refusal: nothing was created


@dataclass
class Step:
    state: str
    target_id: str | None = None  # the live object written (the new id once created)


class RestoreState:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    async def step(self, run_id: str, item_id: str) -> Step | None:
        table = await self._storage.table(RESTORE_STEPS)
        entity = await tables.get_or_none(table, run_id, item_id)
        if entity is None:
            return None
        return Step(state=entity["state"], target_id=entity.get("target_id"))

    async def put_step(self, run_id: str, item_id: str, step: Step) -> None:
        table = await self._storage.table(RESTORE_STEPS)
        await tables.upsert(table, {"PartitionKey": run_id, "RowKey": item_id,
                                    "state": step.state, "target_id": step.target_id})

    async def id_map(self, run_id: str) -> dict[str, dict[str, str]]:
        """``{type key: {old id: new id}}`` as :func:`shared.graph.rewrite_references` takes."""
        table = await self._storage.table(RESTORE_ID_MAP)
        out: dict[str, dict[str, str]] = {}
        for entity in await tables.query_all(table, run_id):
            out.setdefault(entity["policy_type"], {})[entity["old_id"]] = entity["new_id"]
        return out

    async def map_id(self, run_id: str, policy_type: str, old_id: str, new_id: str) -> None:
        table = await self._storage.table(RESTORE_ID_MAP)
        await tables.upsert(table, {"PartitionKey": run_id, "RowKey": f"{policy_type}.{old_id}",
                                    "policy_type": policy_type, "old_id": old_id,
                                    "new_id": new_id})
