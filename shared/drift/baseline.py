"""A tenant's drift baseline (DESIGN §10): the set a drift check compares the live tenant with.

The baseline is the set the tenant's admin pinned (``PUT …/baseline``), else the tenant's
newest ``succeeded`` backup of every type — never a capture or a pre-restore set, which hold
only what one capture or one restore touched. "Since the baseline" is since its run's
``started_at``. Pins live in their own table (PartitionKey = tenant, RowKey ``baseline``).

A set is refused as a baseline with 404 when it is not the tenant's (as restores do) and
with 400 ``validation_failed`` when it is the tenant's but a capture or pre-restore set.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.backups.sets import BackupSet, BackupSetStore
from shared.platform import tables
from shared.platform.errors import NoBaseline, NotFound, ValidationFailed
from shared.platform.storage import Storage
from shared.runs.jobs import backs_up_every_type
from shared.runs.model import Run, RunStatus
from shared.runs.store import RunStore

BASELINES = "baselines"
_ROW = "baseline"
_PAGE = 100  # backup sets read per page while looking for the newest eligible one


@dataclass(frozen=True)
class Pin:
    """An admin's choice of baseline."""

    backup_set_id: str
    pinned_by: str
    pinned_at: str


@dataclass(frozen=True)
class Baseline:
    """A resolved baseline: the set, the run that made it, and the pin it came from (None:
    the newest eligible backup)."""

    backup_set: BackupSet
    run: Run
    pin: Pin | None = None

    @property
    def backup_set_id(self) -> str:
        return self.backup_set.backup_set_id

    @property
    def since(self) -> str:
        """What "since the baseline" means: its run's start (its creation for a run that
        never recorded one)."""
        return self.run.started_at or self.run.created_at

    @property
    def policy_types(self) -> list[str]:
        """The types the baseline's backup read: what a check compares by default."""
        return sorted(self.run.parameters.get("policy_types") or [])


class BaselineStore:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    async def pin_of(self, tenant_id: str) -> Pin | None:
        table = await self._storage.table(BASELINES)
        row = await tables.get_or_none(table, tenant_id, _ROW)
        return None if row is None else Pin(row["backup_set_id"], row["pinned_by"],
                                            row["pinned_at"])

    async def pin(self, tenant_id: str, pin: Pin) -> None:
        table = await self._storage.table(BASELINES)
        await tables.upsert(table, {"PartitionKey": tenant_id, "RowKey": _ROW,
                                    "backup_set_id": pin.backup_set_id,
                                    "pinned_by": pin.pinned_by, "pinned_at": pin.pinned_at})

    async def unpin(self, tenant_id: str) -> bool:
        """Drop the pin; False when there was none."""
        existed = await self.pin_of(tenant_id) is not None
        table = await self._storage.table(BASELINES)
        await tables.delete(table, tenant_id, _ROW)
        return existed


async def chosen_baseline(storage: Storage, tenant_id: str, backup_set_id: str) -> Baseline:
    """``backup_set_id`` as the tenant's baseline, as a pin or a check's
    ``baseline_backup_set_id`` names it: 404 when it is not the tenant's set, 400 when it is
    a capture or pre-restore set."""
    backup_set = await BackupSetStore(storage).get(tenant_id, backup_set_id)
    if backup_set is None:
        raise NotFound("no such backup set in this tenant")
    if backup_set.kind != "backup":
        raise ValidationFailed(
            f"backup set {backup_set_id} is a {backup_set.kind} set; a baseline must be a "
            "tenant backup")
    run = await RunStore(storage).get(tenant_id, backup_set.run_id)
    if run is None:
        raise NotFound("the run of this backup set is gone")
    return Baseline(backup_set, run)


async def resolve_baseline(storage: Storage, tenant_id: str,
                           backup_set_id: str | None = None) -> Baseline:
    """The set a drift check compares with: ``backup_set_id`` if given
    (:func:`chosen_baseline`), else the pinned set, else the newest eligible backup
    (:func:`is_eligible`). Raises :class:`NoBaseline` when there is none, or when the
    pinned set no longer exists (a silent fallback would compare with another state)."""
    if backup_set_id is not None:
        return await chosen_baseline(storage, tenant_id, backup_set_id)
    pin = await BaselineStore(storage).pin_of(tenant_id)
    if pin is not None:
        try:
            chosen = await chosen_baseline(storage, tenant_id, pin.backup_set_id)
        except NotFound as exc:
            raise NoBaseline(f"the pinned baseline {pin.backup_set_id} no longer exists; "
                             "pin another backup set") from exc
        return Baseline(chosen.backup_set, chosen.run, pin)
    newest = await newest_eligible(storage, tenant_id)
    if newest is None:
        raise NoBaseline("this tenant has no baseline: pin a backup set, or run a backup of "
                         "every type that succeeds")
    return newest


async def newest_eligible(storage: Storage, tenant_id: str) -> Baseline | None:
    """The tenant's newest backup set :func:`is_eligible` as a default baseline."""
    sets, runs = BackupSetStore(storage), RunStore(storage)
    continuation = None
    while True:
        page = await sets.list(tenant_id, top=_PAGE, continuation=continuation)
        for backup_set in page.value:
            if backup_set.kind != "backup" or backup_set.run_status not in (
                    None, RunStatus.SUCCEEDED.value) or backup_set.all_types is False:
                continue
            run = await runs.get(tenant_id, backup_set.run_id)
            if run is not None and is_eligible(backup_set, run):
                return Baseline(backup_set, run)
        continuation = page.continuation
        if not continuation:
            return None


def is_eligible(backup_set: BackupSet, run: Run) -> bool:
    """A default baseline is a tenant backup whose run succeeded and read every type. Sets
    sealed before ``run_status`` / ``all_types`` were recorded are judged by their run."""
    status = backup_set.run_status or run.status
    all_types = (backup_set.all_types if backup_set.all_types is not None
                 else backs_up_every_type(run))
    return backup_set.kind == "backup" and status == RunStatus.SUCCEEDED.value and all_types
