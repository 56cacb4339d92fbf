"""The repair sweep: runs recorded but whose orchestration is missing, failed or terminated
are restarted, or failed once restarting does not help (issue 19, finding 5; DESIGN §4).

A start repairs its own key's run when the same request comes again
(``shared.runs.starter``); nothing repaired a run nobody asks for again — a nightly backup
recorded but never scheduled, a live restore stuck ``queued`` (its tenant answering 409), a
run row without its run-index row (403 forever). The timer (``timers/repair_sweep.py``) runs
:func:`sweep` every few minutes:

- only runs not terminal, recorded at least ``GRACE`` ago and within ``LOOKBACK`` (runs
  lists are newest first: one bounded partition query per tenant and status);
- an orchestration that does not exist (or a ``queued`` run's, still Pending) is scheduled;
  a Failed or Terminated one is started again under the same instance id (the orchestrations
  are safe to re-run) — at most ``MAX_ATTEMPTS`` times, ``GRACE`` apart; then the run is
  failed;
- a missing run-index row is written;
- a tenant being offboarded is left alone: its runs count as final;
- a sweep with nothing to repair writes nothing (reads only).
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from shared.platform import tables
from shared.platform.codes import ErrorCode
from shared.platform.keys import iso, parse_iso
from shared.platform.storage import Storage
from shared.runs.model import Run, RunStatus
from shared.runs.starter import Scheduler, orchestration_input
from shared.runs.store import RunStore
from shared.tenants.store import TenantStore

log = logging.getLogger(__name__)

RUN_REPAIRS = "runrepairs"
GRACE = timedelta(minutes=10)
LOOKBACK = timedelta(days=7)
MAX_ATTEMPTS = 3
# Run type → its orchestrator function (``shared.runs.jobs``); another type is left alone.
ORCHESTRATORS = {"capture_snapshot": "capture_snapshot", "backup": "backup_tenant",
                 "restore": "restore", "drift_check": "check_drift"}
_DEAD = frozenset({"Failed", "Terminated"})


@dataclass
class SweepOutcome:
    inspected: int = 0
    repaired: Counter[str] = field(default_factory=Counter)  # scheduled, restarted, failed, …

    @property
    def wrote(self) -> bool:
        return bool(sum(self.repaired.values()))


async def sweep(storage: Storage, scheduler: Scheduler, now: datetime) -> SweepOutcome:
    outcome = SweepOutcome()
    # Tenants being offboarded are not listed: their runs count as final (offboarding ends them).
    for tenant in await TenantStore(storage).all():
        for run in await _candidates(storage, tenant.tenant_id, now):
            outcome.inspected += 1
            what = await _repair(storage, scheduler, run, now)
            if what:
                outcome.repaired[what] += 1
    return outcome


async def _candidates(storage: Storage, tenant_id: str, now: datetime) -> list[Run]:
    """Runs not terminal, recorded between ``LOOKBACK`` and ``GRACE`` ago."""
    found = await RunStore(storage).unfinished(tenant_id, since=now - LOOKBACK,
                                               until=now - GRACE)
    return [r for r in found if r.run_type in ORCHESTRATORS
            and now - parse_iso(r.created_at) >= GRACE]


async def _repair(storage: Storage, scheduler: Scheduler, run: Run, now: datetime
                  ) -> str | None:
    runs = RunStore(storage)
    indexed = await runs.ensure_indexed(run, only_if_missing=True)
    status = await scheduler.status(run.instance_id)
    missing = status is None  # never scheduled (queued), or its history purged
    # Still Pending long after its start: the start message was lost (the run never began).
    stuck = status == "Pending" and run.status == RunStatus.QUEUED.value
    if not (missing or stuck or status in _DEAD):
        return "indexed" if indexed else None
    repairs = await storage.table(RUN_REPAIRS)
    row = await tables.get_or_none(repairs, run.tenant_id, run.run_id)
    attempts = int(row["attempts"]) if row else 0
    if row and now - parse_iso(row["last_at"]) < GRACE:
        return "indexed" if indexed else None  # the last attempt is still settling
    if attempts >= MAX_ATTEMPTS:
        log.warning("run %s: orchestration %s still %s after %d repairs; failing the run",
                    run.run_id, run.instance_id, status or "missing", attempts)
        await runs.update(run.tenant_id, run.run_id, status=RunStatus.FAILED.value,
                          finished_at=iso(now), error={
                              "code": ErrorCode.INTERNAL_ERROR,
                              "message": "the run stopped before it could finish and could "
                                         "not be restarted"})
        return "failed"
    # Counted before the start: a sweep that dies after scheduling still used its attempt.
    await tables.upsert(repairs, {"PartitionKey": run.tenant_id, "RowKey": run.run_id,
                                  "attempts": attempts + 1, "last_at": iso(now)})
    log.warning("run %s: orchestration %s is %s; starting it (attempt %d of %d)", run.run_id,
                run.instance_id, status or "missing", attempts + 1, MAX_ATTEMPTS)
    try:
        await scheduler.schedule(ORCHESTRATORS[run.run_type], run.instance_id,
                                 orchestration_input(run))
    except Exception as exc:  # counted: after MAX_ATTEMPTS the run is failed
        log.warning("run %s: restart refused (%s)", run.run_id, type(exc).__name__)
        return "refused"
    return "scheduled" if missing or stuck else "restarted"


__all__ = ["GRACE", "MAX_ATTEMPTS", "SweepOutcome", "sweep"]
