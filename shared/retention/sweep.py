"""After a tenant's old sets are gone: versions, latest-content hints and snapshot blobs that
nothing remaining refers to (DESIGN §12). Idempotent: every step reads what is there now, so
a sweep stopped anywhere is finished by the next one.

1. **References**: the blob paths of the items of every remaining set and of every set a run
   in flight is writing (its set row comes only when it finishes). Runs are read first.
2. **Versions** whose set is gone (purged, or a run that failed without a set) are pointed at
   the oldest remaining set holding the same content, or deleted when none does. A set id
   that is neither listed nor in flight is looked up again (its run may have finished since),
   so a version a running backup just wrote is never taken for an orphan.
3. **Latest-content hints** (``shared.backups.latest``) pointing at an unreferenced blob are
   dropped, before the blob is marked: a backup that reads the hints afterwards takes the
   long way (``SnapshotStore.store``), which clears the mark under the blob's ETag.
4. **Blobs** of the tenant: an unreferenced one is marked; one marked at least ``grace``
   before ``now``, still unreferenced, and whose hint was not dropped just now, is deleted
   if it is still in the state listed (``If-Match``); a referenced one loses its mark. A
   blob created after the sweep began is left for the next sweep.

``grace`` exceeds any activity's run time, so a backup that read a hint before it was
dropped has written its items — and so referenced the blob — before the blob can go.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from shared.backups.latest import LATEST
from shared.backups.sets import BackupSetStore
from shared.backups.snapshots import SNAPSHOTS, blob_path
from shared.backups.versions import VERSIONS
from shared.platform import tables
from shared.platform.keys import utc_now
from shared.platform.storage import Storage, list_blob_states
from shared.retention import orphans
from shared.retention.plan import in_use_sets

log = logging.getLogger(__name__)


@dataclass
class SweepOutcome:
    counts: Counter[str] = field(default_factory=Counter)


def _tenant_partitions(tenant_id: str) -> tuple[str, str]:
    """``[low, high)`` covering every ``{tenant}|…`` partition key."""
    return f"{tenant_id}|", f"{tenant_id}}}"  # "}" sorts right after "|"


async def _references(storage: Storage, tenant_id: str) -> tuple[dict[str, str], set[str]]:
    """``(path → oldest remaining set holding it, ids of sets that count as remaining)``."""
    live = await in_use_sets(storage, tenant_id)
    store = BackupSetStore(storage)
    remaining = sorted(s.backup_set_id for s in await store.all(tenant_id))
    oldest: dict[str, str] = {}
    for set_id in [*remaining, *sorted(live - set(remaining))]:
        for path in await store.blob_paths(set_id):
            oldest.setdefault(path, set_id)
    return oldest, set(remaining) | live


async def sweep_snapshots(storage: Storage, tenant_id: str, now: datetime,
                          grace: timedelta) -> SweepOutcome:
    began = utc_now()  # real time: guards blobs written during the sweep, not retention
    outcome = SweepOutcome()
    referenced, remaining = await _references(storage, tenant_id)
    await _versions(storage, tenant_id, referenced, remaining, outcome)
    dropped = await _hints(storage, tenant_id, referenced, outcome)
    container = await storage.container(SNAPSHOTS)
    for state in await list_blob_states(container, f"{tenant_id}/"):
        if state.name in referenced:
            if orphans.marked_at(state) is not None and await orphans.unmark(container, state):
                outcome.counts["blobs_unmarked"] += 1
        elif state.created_on is not None and state.created_on >= began:
            continue
        elif orphans.marked_at(state) is None or state.name in dropped:
            if await orphans.mark(container, state, now):
                outcome.counts["blobs_marked"] += 1
        elif await orphans.delete_marked(container, state, now, grace):
            outcome.counts["blobs_deleted"] += 1
    log.info("tenant %s: snapshot sweep %s", tenant_id, dict(outcome.counts))
    return outcome


async def _versions(storage: Storage, tenant_id: str, referenced: dict[str, str],
                    remaining: set[str], outcome: SweepOutcome) -> None:
    table = await storage.table(VERSIONS)
    rows = await tables.query_range(table, *_tenant_partitions(tenant_id))
    sets = BackupSetStore(storage)
    gone: set[str] = set()
    unknown = {str(r.get("backup_set_id") or "") for r in rows} - remaining
    if unknown:
        live = await in_use_sets(storage, tenant_id)  # runs that started since step 1
        for set_id in unknown - live:
            if not set_id or await sets.get(tenant_id, set_id) is None:
                gone.add(set_id)
    for row in rows:
        _, policy_type, policy_id = row["PartitionKey"].split("|", 2)
        path = blob_path(tenant_id, policy_type, policy_id, row["sha256"])
        set_id = str(row.get("backup_set_id") or "")
        if set_id not in gone:  # a version that stays keeps its blob too
            referenced.setdefault(path, set_id)
            continue
        holder = referenced.get(path)
        if holder is None:
            await tables.delete(table, row["PartitionKey"], row["RowKey"],
                                etag=tables.etag(row))
            outcome.counts["versions_deleted"] += 1
        elif await tables.replace_if_unchanged(
                table, {**row, "backup_set_id": holder}, tables.etag(row)):
            outcome.counts["versions_repointed"] += 1


async def _hints(storage: Storage, tenant_id: str, referenced: dict[str, str],
                 outcome: SweepOutcome) -> set[str]:
    """Drop the latest-content rows of unreferenced blobs; the paths they pointed at."""
    table = await storage.table(LATEST)
    dropped: set[str] = set()
    for row in await tables.query_range(table, *_tenant_partitions(tenant_id)):
        path = row.get("blob_path")
        if path and path not in referenced and await tables.delete(
                table, row["PartitionKey"], row["RowKey"], etag=tables.etag(row)):
            dropped.add(path)
            outcome.counts["hints_dropped"] += 1
    return dropped
