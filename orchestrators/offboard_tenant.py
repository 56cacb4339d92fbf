"""`offboard_tenant`: delete everything of a customer tenant (DESIGN §12).

mark the tenant ``offboarding`` (nothing new starts) → terminate its runs' orchestrations,
as target or source, and wait until every one has stopped → purge their Durable instances
and history → sweep the ownership table (``shared.offboarding.plan``) → wait
``drain_seconds`` (an activity that was running when its orchestration was terminated still
finishes) → stop, purge and sweep again, the data key among it → delete the tenant row →
audit ``tenant_offboarded`` in the MSP's scope.

Every step deletes by query, so a replay after a crash — or a new run after a failed one —
just carries on. History holds the run ref, indexes and counts: never the tenant's id.
"""

from dataclasses import asdict
from datetime import timedelta

import azure.durable_functions as df

from activities.contracts.base import RunRef
from activities.contracts.offboarding import (
    BeginOffboarding,
    FinishOffboarding,
    OffboardingBegun,
    PurgeInstances,
    StopRuns,
    SweepStep,
)
from activities.contracts.runs import RecordProgress
from activities.offboarding import (
    begin_offboarding,
    finish_offboarding,
    purge_tenant_instances,
    stop_tenant_runs,
    sweep_tenant_step,
)
from activities.runs import record_progress
from orchestrators.retry import BOOKKEEPING
from orchestrators.run_steps import failed_run_error, now_iso
from shared.runs.model import Counts

bp = df.Blueprint()

POLL_SECONDS = 2
MAX_POLLS = 300  # ten minutes of waiting for orchestrations to stop, then sweep anyway
SWEEP_LIMIT = 500


def _call(context: df.DurableOrchestrationContext, activity, payload):
    return context.call_activity_with_retry(activity, BOOKKEEPING, asdict(payload))


def _stop_and_purge(context: df.DurableOrchestrationContext, ref: RunRef, stopped: set[str]):
    """Stop (adding what it terminated to ``stopped``), then purge."""
    for _ in range(MAX_POLLS):
        active = yield _call(context, stop_tenant_runs, StopRuns.for_run(ref, at=now_iso(context)))
        stopped.update(active)
        if not active:
            break
        yield context.create_timer(context.current_utc_datetime + timedelta(seconds=POLL_SECONDS))
    after = None
    while True:
        after = yield _call(context, purge_tenant_instances,
                            PurgeInstances.for_run(ref, after=after))
        if after is None:
            return


def _sweep(context: df.DurableOrchestrationContext, ref: RunRef, steps: int, last: int,
           progress: bool):
    """Entries ``0 … last - 1`` of the ownership table, each until it finds nothing; how
    many rows and blobs it deleted."""
    deleted = 0
    for step in range(last):
        while True:
            found = yield _call(context, sweep_tenant_step,
                                SweepStep.for_run(ref, step=step, limit=SWEEP_LIMIT))
            deleted += found
            if found < SWEEP_LIMIT:
                break
        if progress:
            counts = Counts(total=steps, processed=step + 1, succeeded=step + 1)
            yield _call(context, record_progress, RecordProgress.for_run(ref, counts=counts))
    return deleted


@bp.orchestration_trigger(context_name="context")
def offboard_tenant(context: df.DurableOrchestrationContext):
    ref = RunRef.from_payload(context.get_input())
    begun = OffboardingBegun.from_payload((yield _call(
        context, begin_offboarding, BeginOffboarding.for_run(ref, at=now_iso(context)))))
    tenant_row = begun.steps - 1  # the last entry: the row that carries the mark
    error, stopped, deleted = None, set(), 0
    try:
        yield from _stop_and_purge(context, ref, stopped)
        deleted += yield from _sweep(context, ref, begun.steps, tenant_row, progress=True)
        if begun.drain_seconds:
            yield context.create_timer(
                context.current_utc_datetime + timedelta(seconds=begun.drain_seconds))
        yield from _stop_and_purge(context, ref, stopped)
        deleted += yield from _sweep(context, ref, begun.steps, tenant_row, progress=False)
        deleted += yield _call(context, sweep_tenant_step, SweepStep.for_run(ref, step=tenant_row))
    except Exception as exc:  # a step exhausted its retries: the tenant stays marked
        error = failed_run_error(exc)
    return (yield _call(context, finish_offboarding, FinishOffboarding.for_run(
        ref, at=now_iso(context), error=error, stopped=len(stopped), deleted=deleted)))
