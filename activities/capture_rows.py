"""The table rows a capture writes: backup set items, run items and latest-content hints.

Set items and run items are one partition per kind (the set, the run), so rows of several
types and pages share entity-group transactions (DESIGN §5: up to 100 per partition). Nothing
is written for a tenant being offboarded (DESIGN §12): rows with no snapshot behind them (items
Graph kept refusing) ask the gate as sealing does, so an activity outliving its terminated
orchestration leaves nothing for after the offboarding's last sweep.
"""

import asyncio
from typing import Protocol

from shared.backups.latest import LatestContent, LatestContentStore
from shared.backups.sets import BackupItem, BackupSetStore
from shared.platform.concurrency import bounded
from shared.platform.storage import Storage
from shared.runs.model import RunItem
from shared.runs.store import RunStore
from shared.tenants import gate

FLUSH_ROWS = 100  # items gathered before their rows are written: one full transaction
_DELETE_CONCURRENCY = 8


class CaptureJob(Protocol):
    """What the rows are keyed by: any capture activity's input."""

    @property
    def run_id(self) -> str: ...

    @property
    def tenant_id(self) -> str: ...

    @property
    def backup_set_id(self) -> str: ...


class Recorder:
    """The rows one activity's captures write, gathered across its types and pages: set
    items and run items in transactions of up to 100 (each kind is one partition: the set,
    the run), then — with ``hints`` — the latest-content rows pointing at them, never before
    them. Flushed every :data:`FLUSH_ROWS` items and by the caller at the end, so an activity
    of several small types pays a transaction per kind, not one per type and page. Rows not
    yet flushed when an activity dies are written by its retry, as a failed page's are.
    ``recorded``: the run items written so far."""

    def __init__(self, storage: Storage, job: CaptureJob, *, hints: bool = False) -> None:
        self._storage, self._job, self._hints = storage, job, hints
        self._captured: list[tuple[BackupItem, RunItem]] = []
        self._failed: list[RunItem] = []
        self._fresh: list[tuple[str, LatestContent]] = []
        self._lock = asyncio.Lock()
        self.recorded: list[RunItem] = []

    async def add(self, captured: list[tuple[BackupItem, RunItem]], failed: list[RunItem],
                  fresh: list[tuple[str, LatestContent]]) -> None:
        self._captured += captured
        self._failed += failed
        self._fresh += fresh
        if len(self._captured) + len(self._failed) >= FLUSH_ROWS:
            await self.flush()

    async def flush(self) -> None:
        async with self._lock:
            captured, failed, fresh = self._captured, self._failed, self._fresh
            self._captured, self._failed, self._fresh = [], [], []
            await record_rows(self._storage, self._job, captured, failed)
            self.recorded += [run_item for _, run_item in captured] + failed
            if not self._hints:
                return
            await LatestContentStore(self._storage).put_many(self._job.tenant_id, fresh)


async def record_rows(storage: Storage, job: CaptureJob,
                      captured: list[tuple[BackupItem, RunItem]], failed: list[RunItem]
                      ) -> None:
    """Write the batch's set items and run items (one transaction each per 100 rows). A
    failed item drops the set item an earlier attempt of the batch may have left."""
    if captured or failed:
        await gate.require_open(storage, job.tenant_id, refusal="nothing more is recorded")
    sets, backup_set_id = BackupSetStore(storage), job.backup_set_id
    await bounded(_DELETE_CONCURRENCY, [sets.delete_item(backup_set_id, i.item_id)
                                        for i in failed])
    if captured:
        await sets.put_items(backup_set_id, [item for item, _ in captured])
    if captured or failed:
        await RunStore(storage).put_items(job.run_id,
                                          [run_item for _, run_item in captured] + failed)
