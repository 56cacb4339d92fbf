"""Starting a job: create or reuse the run for an idempotency key, then schedule it (DESIGN §4).

The request path only validates, records and schedules — it never calls Graph. N concurrent
identical starts produce one run and one orchestration: the ETag-guarded idempotency record
decides the winner; everybody else returns the winner's run with ``reused = True``.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any, Protocol

from shared.platform.codes import ErrorCode
from shared.platform.errors import IdempotencyMismatch, TenantOffboarding
from shared.platform.keys import iso, new_ulid, parse_iso, utc_now
from shared.platform.storage import Storage
from shared.runs.idempotency import IdempotencyRecord, IdempotencyStore, LostRace
from shared.runs.jobs import JobRequest
from shared.runs.model import Run, RunStatus
from shared.runs.store import RunStore
from shared.tenants.store import MSP_SCOPE, Tenant, TenantStore, closed_to_new_work

log = logging.getLogger(__name__)

# A queued run younger than this is being scheduled by the request that created it.
REPAIR_GRACE = timedelta(seconds=10)
_DEAD = frozenset({"Failed", "Terminated"})  # ended without settling its run
_MAX_ATTEMPTS = 25

# The flow an orchestration is scheduled with: an orchestrator picks its steps by the flow in
# its input, so an instance in flight at an upgrade replays the steps it was started with.
# 1: inputs without ``flow`` (every run scheduled before it); 2: a capture is one activity.
CAPTURE_IN_ONE_ACTIVITY = 2
CURRENT_FLOW = CAPTURE_IN_ONE_ACTIVITY


class Scheduler(Protocol):
    async def schedule(self, orchestrator: str, instance_id: str, payload: dict[str, Any]) -> None:
        """Start the orchestration; starting an instance that already runs is not an error."""

    async def status(self, instance_id: str) -> str | None:
        """The instance's Durable runtime status ("Running", "Failed", …); None if it was
        never scheduled."""


def orchestration_input(run: Run) -> dict[str, Any]:
    """What the orchestrator receives: references only, never documents, and the flow it
    is scheduled with (:data:`CURRENT_FLOW`)."""
    return {"run_id": run.run_id, "tenant_id": run.tenant_id, "flow": CURRENT_FLOW}


async def start_job(
    request: JobRequest, *, storage: Storage, scheduler: Scheduler, now: datetime | None = None,
    tenant: Tenant | None = None,
) -> tuple[Run, bool]:
    """Return ``(run, reused)``; raises :class:`IdempotencyMismatch` for a reused client key
    and :class:`TenantOffboarding` in a tenant being offboarded (DESIGN §12). ``tenant``: the
    job's tenant as the caller has just read it (authorization), so it is not read again."""
    keys, runs, job = IdempotencyStore(storage), RunStore(storage), request.job
    await _refuse_if_offboarding(storage, job.tenant_id, tenant)
    record: IdempotencyRecord | None = None
    # A client's key is nearly always new (a retry is the exception): claim it straight away
    # and read the record only when the claim finds one. A derived key is usually on record.
    look_first = not request.client_key
    for _ in range(_MAX_ATTEMPTS):
        moment = now or utc_now()
        if look_first:
            record = await keys.get(job.tenant_id, request.key)
        if look_first and record is not None:
            live_client_key = request.client_key and not record.expired(moment)
            if live_client_key and record.fingerprint != request.fingerprint:
                raise IdempotencyMismatch(
                    "this Idempotency-Key was used with a different request in the last 24 hours"
                )
            if live_client_key or not request.client_key:
                run = await runs.get(job.tenant_id, record.run_id)
                if run is None:
                    # The claimer crashed before writing its run (or is writing it now):
                    # record the same run, with the same id, from this identical request.
                    run = request.new_run(record)
                    await runs.create(run)
                run = await _check_in_flight(run, request, scheduler, runs, moment)
                if live_client_key or not run.terminal:
                    return run, True
        try:
            claimed = await keys.claim(
                record,
                tenant_id=job.tenant_id,
                key=request.key,
                run_id=new_ulid(),
                fingerprint=request.fingerprint,
                now=moment,
                client_key=request.client_key,
            )
        except LostRace:
            if look_first:  # somebody else changed the record since we read it
                await asyncio.sleep(0.01)
            look_first = True
            continue
        run = request.new_run(claimed)
        await runs.create(run)
        await _settle_if_offboarding(storage, run)
        await scheduler.schedule(job.orchestrator, run.instance_id, orchestration_input(run))
        log.info("run %s started (%s, instance %s)", run.run_id, run.run_type, run.instance_id)
        return run, False
    raise RuntimeError("idempotency record kept changing; giving up")  # pragma: no cover


async def reused_run(request: JobRequest, *, storage: Storage,
                     now: datetime | None = None) -> Run | None:
    """The run :func:`start_job` would hand back as reused for ``request``, read without a
    write: lets a start skip checks that cost the customer's Graph budget (a deployment's
    plan) on a retry. None when a start would create a run (or refuse the key)."""
    job = request.job
    record = await IdempotencyStore(storage).get(job.tenant_id, request.key)
    if record is None:
        return None
    live_client_key = bool(request.client_key) and not record.expired(now or utc_now())
    if request.client_key and not (live_client_key and
                                   record.fingerprint == request.fingerprint):
        return None
    run = await RunStore(storage).get(job.tenant_id, record.run_id)
    if run is None or (run.terminal and not live_client_key):
        return None
    return run


async def _refuse_if_offboarding(storage: Storage, tenant_id: str,
                                 known: Tenant | None = None) -> None:
    """``known``: the tenant as just read, if it is this one (else it is read now). A tenant
    no longer registered is refused as one being offboarded."""
    if tenant_id == MSP_SCOPE:
        return
    if known is not None and known.tenant_id == tenant_id:
        closed = closed_to_new_work(known)
    else:
        closed = await TenantStore(storage).closed_to_new_work(tenant_id)
    if closed:
        raise TenantOffboarding("this tenant is being offboarded; nothing new starts")


async def _settle_if_offboarding(storage: Storage, run: Run) -> None:
    """Look again once the run is recorded: an offboarding marked since the first look
    lists the tenant's runs only after its mark, so it either sees this run (and stops its
    instance) or this look sees the mark — and the run ends failed, never scheduled."""
    try:
        await _refuse_if_offboarding(storage, run.tenant_id)
    except TenantOffboarding as refused:
        await RunStore(storage).update(run.tenant_id, run.run_id, status=RunStatus.FAILED.value,
                                       finished_at=iso(utc_now()), error=refused.to_dict())
        raise


async def _check_in_flight(run: Run, request: JobRequest, scheduler: Scheduler,
                           runs: RunStore, now: datetime) -> Run:
    """A run recorded but never scheduled (a crash in between) is scheduled again; a run
    whose orchestration died without settling it (its bookkeeping kept failing) is marked
    failed, so its key can start a new run instead of returning a dead one forever."""
    if run.terminal or now - parse_iso(run.created_at) < REPAIR_GRACE:
        return run
    status = await scheduler.status(run.instance_id)
    if status is None and run.status == RunStatus.QUEUED.value:
        log.warning("run %s was never scheduled; scheduling %s", run.run_id, run.instance_id)
        await scheduler.schedule(request.job.orchestrator, run.instance_id,
                                 orchestration_input(run))
    elif status in _DEAD:
        log.warning("run %s: orchestration %s is %s; marking the run failed", run.run_id,
                    run.instance_id, status)
        run = await runs.update(run.tenant_id, run.run_id, status=RunStatus.FAILED.value,
                                finished_at=iso(now), error={
                                    "code": ErrorCode.INTERNAL_ERROR,
                                    "message": "the run stopped before it could finish"})
    return run


__all__ = ["Scheduler", "orchestration_input", "start_job"]
