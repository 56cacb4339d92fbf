"""The table rows a capture writes: versions, backup set items, run items, latest-content hints.

Each kind is one partition for an activity (versions and hints: the tenant; set items: the
set; run items: the run), so rows of several types and pages share entity-group transactions
(DESIGN §5: up to 100 per partition).
"""

import asyncio
from dataclasses import dataclass
from typing import Any, Protocol

from shared.backups.latest import LatestContent, LatestContentStore
from shared.backups.sets import BackupItem, BackupSetStore
from shared.backups.versions import VersionStore
from shared.platform.concurrency import bounded
from shared.platform.storage import Storage
from shared.runs.model import RunItem
from shared.runs.store import RunStore

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


@dataclass(frozen=True)
class Stored:
    """One object whose snapshot blob is stored, and the rows that record it."""

    item: BackupItem
    run_item: RunItem
    hint: LatestContent | None = None  # the latest-content row to write (None: still right)
    version: dict[str, Any] | None = None  # the version row to write (None: one holds it)


class Recorder:
    """The rows one activity's captures write, gathered across its types and pages and
    written in transactions of up to 100: first the version rows (after the blobs, which are
    stored by then), then set items and run items, then — with ``hints`` — the
    latest-content rows, which point at all of them and so never come first. Flushed every
    :data:`FLUSH_ROWS` items and by the caller at the end, so an activity of several small
    types pays a transaction per kind, not one per type, page or object. Rows not yet flushed
    when an activity dies are written by its retry: its blobs exist then, so it looks their
    versions up, finds none, and records them as its own."""

    def __init__(self, storage: Storage, job: CaptureJob, *, hints: bool = False) -> None:
        self._storage, self._job, self._hints = storage, job, hints
        self._stored: list[Stored] = []
        self._failed: list[RunItem] = []
        self._lock = asyncio.Lock()

    async def add(self, stored: list[Stored], failed: list[RunItem]) -> None:
        self._stored += stored
        self._failed += failed
        if len(self._stored) + len(self._failed) >= FLUSH_ROWS:
            await self.flush()

    async def flush(self) -> None:
        async with self._lock:
            stored, failed = self._stored, self._failed
            self._stored, self._failed = [], []
            await VersionStore(self._storage).put_many(
                [s.version for s in stored if s.version is not None])
            await record_rows(self._storage, self._job,
                              [(s.item, s.run_item) for s in stored], failed)
            if self._hints:
                await LatestContentStore(self._storage).put_many(
                    self._job.tenant_id,
                    [(s.item.policy_type, s.hint) for s in stored if s.hint is not None])


async def record_rows(storage: Storage, job: CaptureJob,
                      captured: list[tuple[BackupItem, RunItem]], failed: list[RunItem]
                      ) -> None:
    """Write the batch's set items and run items (one transaction each per 100 rows). A
    failed item drops the set item an earlier attempt of the batch may have left."""
    sets, backup_set_id = BackupSetStore(storage), job.backup_set_id
    await bounded(_DELETE_CONCURRENCY, [sets.delete_item(backup_set_id, i.item_id)
                                        for i in failed])
    if captured:
        await sets.put_items(backup_set_id, [item for item, _ in captured])
    if captured or failed:
        await RunStore(storage).put_items(job.run_id,
                                          [run_item for _, run_item in captured] + failed)
