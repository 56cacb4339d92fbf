"""One scheduler tick: start every (tenant, job) that is due at ``now`` (DESIGN §10).

The timer function (``timers/schedule_tick.py``) runs this every five minutes with the real
clock; tests pass their own ``now``. A tick reads the tenant list once and, only for jobs that
might be due, their markers (one partition query per job), decides in memory
(``shared.schedules.due``) and touches nothing else unless something is due: a tick with
nothing due writes nothing.

Each due job is fired in this order, so that neither a crash nor a concurrent tick loses or
doubles a start:

1. build the job (its normal idempotency key; a drift check without a baseline refuses here
   with a ``Conflict``: the marker is advanced as ``skipped``, nothing starts);
2. read the key's idempotency record: its generation, and a run of it still in flight;
3. **claim** the marker (ETag-guarded: of concurrent ticks one wins, the rest do nothing);
4. start the job through ``shared.runs.starter.start_job`` — a run of the key in flight
   (a manual backup) is reused, not doubled;
5. **confirm** the marker with the run.

A tick that stops between 3 and 5 leaves a claim; once its lease is over the next tick takes
it over (ETag-guarded again) and finishes it: if the key's generation rose since the claim,
the start got as far as recording its run — that run is the fire's (``start_job`` reuses it,
and schedules it if it never was); if a run was in flight at the claim, it served the fire;
otherwise nothing started, and it starts now. At most ``STARTS_PER_TICK`` fires per tick,
``CONCURRENT_STARTS`` at a time, longest-waiting first: when hundreds of schedules share one
minute the rest wait for the next tick (they stay due), so starts spread instead of piling up.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from shared.platform.errors import Conflict
from shared.platform.storage import Storage
from shared.runs.idempotency import IdempotencyStore
from shared.runs.jobs import Job
from shared.runs.model import Run, RunStatus
from shared.runs.starter import Scheduler, start_job
from shared.runs.store import RunStore
from shared.schedules.due import Due, candidates, due_jobs
from shared.schedules.jobs import SCHEDULED_JOBS, SCHEDULER, BuildJob
from shared.schedules.marks import Mark, MarkState, MarkStore
from shared.tenants.store import TenantStore

log = logging.getLogger(__name__)

STARTS_PER_TICK = 100
CONCURRENT_STARTS = 8

StartJob = Callable[..., Awaitable[tuple[Run, bool]]]  # the shape of start_job


class Fired(StrEnum):
    STARTED = "started"  # this tick started a new run
    REUSED = "reused"  # no new run: one in flight (or the stopped tick's) serves the occurrence
    SKIPPED = "skipped"  # the job refused to start (e.g. no_baseline); the marker moved on
    LOST = "lost"  # another tick fired it first
    FAILED = "failed"  # an error: a later tick fires it (after the claim's lease)


@dataclass
class TickOutcome:
    due: int = 0
    deferred: int = 0  # due, but beyond this tick's limit: the next tick fires them
    resumed: int = 0  # claims left by a tick that stopped midway, finished by this one
    fired: Counter[str] = field(default_factory=Counter)

    def summary(self) -> dict[str, int]:
        return {"due": self.due, "deferred": self.deferred, "resumed": self.resumed,
                **{kind.value: self.fired[kind] for kind in Fired}}


async def run_tick(storage: Storage, scheduler: Scheduler, now: datetime, *,
                   start: StartJob = start_job,
                   jobs: Mapping[str, BuildJob] = SCHEDULED_JOBS,
                   limit: int = STARTS_PER_TICK) -> TickOutcome:
    """Fire what is due at ``now``. ``start`` and ``jobs`` are seams for tests (a start that
    stops midway); production passes neither."""
    outcome = TickOutcome()
    found = [c for c in candidates(await TenantStore(storage).all(), now) if c.job in jobs]
    if not found:
        return outcome
    store = MarkStore(storage)
    marks = {job: await store.of_job(job) for job in sorted({c.job for c in found})}
    due = due_jobs(found, marks, now)
    outcome.due, outcome.deferred = len(due), max(0, len(due) - limit)
    tick = _Tick(storage, scheduler, now, start, jobs, store)
    gate = asyncio.Semaphore(CONCURRENT_STARTS)

    async def fire(item: Due) -> Fired:
        async with gate:
            return await tick.fire(item)

    results = await asyncio.gather(*(fire(item) for item in due[:limit]))
    outcome.fired.update(results)
    outcome.resumed = sum(1 for item in due[:limit] if item.resumes)
    return outcome


@dataclass
class _Tick:
    storage: Storage
    scheduler: Scheduler
    now: datetime
    start: StartJob
    jobs: Mapping[str, BuildJob]
    marks: MarkStore

    async def fire(self, due: Due) -> Fired:
        claim: Mark | None = None
        try:
            if due.resumes:
                assert due.mark is not None
                claim = await self.marks.take_over(due.mark, self.now)
                if claim is None:
                    return Fired.LOST
            job = await self.jobs[due.job](self.storage, due.tenant_id, due.occurrence)
            if claim is not None:
                return await self._resume(claim, job)
            generation, covering = await self._key_state(job)
            claim = await self.marks.claim(
                due.mark, job=due.job, tenant_id=due.tenant_id, now=self.now,
                occurrence=due.occurrence, generation=generation, covering_run=covering)
            if claim is None:
                return Fired.LOST
            return await self._start(claim, job)
        except Conflict as refused:
            log.info("tenant %s: scheduled %s not started (%s): %s", due.tenant_id, due.job,
                     refused.code, refused.message)
            if claim is not None:
                await self.marks.confirm(claim, MarkState.SKIPPED, code=str(refused.code))
                return Fired.SKIPPED
            skipped = await self.marks.claim(
                due.mark, job=due.job, tenant_id=due.tenant_id, now=self.now,
                occurrence=due.occurrence, state=MarkState.SKIPPED, code=str(refused.code))
            return Fired.SKIPPED if skipped else Fired.LOST
        except Exception:
            log.exception("tenant %s: scheduled %s due %s failed; a later tick fires it",
                          due.tenant_id, due.job, due.occurrence.isoformat())
            return Fired.FAILED

    async def _key_state(self, job: Job) -> tuple[int, str | None]:
        """The key's idempotency generation (0: never started) and its run, if in flight."""
        record = await IdempotencyStore(self.storage).get(job.tenant_id, job.key)
        if record is None:
            return 0, None
        run = await RunStore(self.storage).get(job.tenant_id, record.run_id)
        return record.generation, (run.run_id if run is not None and not run.terminal else None)

    async def _start(self, claim: Mark, job: Job, *, ours: bool = False) -> Fired:
        run, reused = await self.start(job.request(SCHEDULER), storage=self.storage,
                                       scheduler=self.scheduler, now=self.now)
        reused = reused and not ours
        await self.marks.confirm(claim, MarkState.STARTED, run_id=run.run_id, reused=reused)
        log.info("tenant %s: scheduled %s due %s: %s run %s", job.tenant_id, claim.job,
                 claim.occurrence, "reused" if reused else "started", run.run_id)
        return Fired.REUSED if reused else Fired.STARTED

    async def _resume(self, claim: Mark, job: Job) -> Fired:
        """Finish a claim whose tick stopped between claiming and confirming."""
        record = await IdempotencyStore(self.storage).get(job.tenant_id, job.key)
        if record is not None and record.generation > claim.generation:
            # The stopped tick's start recorded this run: it is the fire's own, not a new one.
            run = await RunStore(self.storage).get(job.tenant_id, record.run_id)
            if run is not None and run.status != RunStatus.QUEUED:
                await self.marks.confirm(claim, MarkState.STARTED, run_id=run.run_id,
                                         reused=False)
            else:  # maybe never scheduled: start_job reuses it and schedules it
                await self._start(claim, job, ours=True)
            return Fired.REUSED
        if claim.covering_run is not None:  # a run in flight at the claim served the fire
            await self.marks.confirm(claim, MarkState.STARTED, run_id=claim.covering_run,
                                     reused=True)
            return Fired.REUSED
        return await self._start(claim, job)


__all__ = ["CONCURRENT_STARTS", "STARTS_PER_TICK", "Fired", "TickOutcome", "run_tick"]
