"""Which of a tenant's backup sets the purge deletes (DESIGN §12).

A set is purged when it is older than the tenant's ``retention_days`` at the purge's logical
``now`` and none of these keeps it:

- it is the drift baseline: the pinned set, or else the newest eligible backup that a check
  compares with (``shared.drift.baseline``);
- it is one of the newest ``keep_min_sets`` sets, or one of the newest ``keep_min_sets``
  tenant backups (kind ``backup``) — so a run of single-policy captures never pushes the last
  full backups out;
- a run still ``queued`` or ``running`` reads it or writes it (a restore's set and its
  pre-restore set, a drift check's baseline);
- it is younger than the retention — pre-restore sets included.

:func:`choose` is the decision, on data; :func:`plan_purge` reads what it needs. In-flight
runs are read before the sets, so a run that finishes in between has written its set.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from shared.backups.sets import BackupSet, BackupSetStore
from shared.drift.baseline import BaselineStore, newest_eligible
from shared.platform.keys import parse_iso
from shared.platform.storage import Storage
from shared.runs.store import RunStore
from shared.tenants.store import Tenant


class Kept(StrEnum):
    """Why a set old enough to purge stays."""

    BASELINE = "baseline"
    NEWEST = "newest"
    IN_USE = "in_use"


@dataclass(frozen=True)
class PurgePlan:
    purge: list[str]  # set ids, oldest first
    kept: dict[str, Kept] = field(default_factory=dict)  # old sets that stay, and why


def choose(sets: list[BackupSet], *, now: datetime, retention_days: int, keep_min_sets: int,
           baseline: set[str], in_use: set[str]) -> PurgePlan:
    """The plan for ``sets`` (any order): see the module docstring."""
    newest_first = sorted(sets, key=lambda s: s.backup_set_id, reverse=True)
    newest = {s.backup_set_id for s in newest_first[:keep_min_sets]}
    newest |= {s.backup_set_id for s in
               [s for s in newest_first if s.kind == "backup"][:keep_min_sets]}
    cutoff = now - timedelta(days=retention_days)
    purge: list[str] = []
    kept: dict[str, Kept] = {}
    for backup_set in reversed(newest_first):
        set_id = backup_set.backup_set_id
        if parse_iso(backup_set.created_at) >= cutoff:
            continue
        if set_id in baseline:
            kept[set_id] = Kept.BASELINE
        elif set_id in in_use:
            kept[set_id] = Kept.IN_USE
        elif set_id in newest:
            kept[set_id] = Kept.NEWEST
        else:
            purge.append(set_id)
    return PurgePlan(purge, kept)


async def in_use_sets(storage: Storage, tenant_id: str) -> set[str]:
    """The tenant's sets that runs in flight read or write: its own runs' (a report's
    ``compare_to`` too), and those of deployments from it into other tenants."""
    runs = RunStore(storage)
    ids: set[str] = set()
    for run in await runs.in_flight(tenant_id):
        ids.update(i for i in (run.backup_set_id, run.pre_restore_backup_set_id,
                               run.parameters.get("compare_to")) if i)
    ids.update(run.backup_set_id for run in await runs.reading_from(tenant_id)
               if run.backup_set_id)
    return ids


async def baseline_sets(storage: Storage, tenant_id: str) -> set[str]:
    """The pinned baseline and the default one (both, when a pin exists: unpinning falls
    back to the default, which must still be there)."""
    ids: set[str] = set()
    pin = await BaselineStore(storage).pin_of(tenant_id)
    if pin is not None:
        ids.add(pin.backup_set_id)
    default = await newest_eligible(storage, tenant_id)
    if default is not None:
        ids.add(default.backup_set_id)
    return ids


async def plan_purge(storage: Storage, tenant: Tenant, now: datetime) -> PurgePlan:
    in_use = await in_use_sets(storage, tenant.tenant_id)
    sets = await BackupSetStore(storage).all(tenant.tenant_id)
    return choose(sets, now=now, retention_days=tenant.retention_days,
                  keep_min_sets=tenant.keep_min_sets,
                  baseline=await baseline_sets(storage, tenant.tenant_id), in_use=in_use)
