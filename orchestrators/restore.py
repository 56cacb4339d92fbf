"""`restore`: preview (``dry_run``) or live restore of a backup set (DESIGN §8).

Preview: plan → read live state and record planned actions and diffs per batch → finish.
A cross-tenant deployment (DESIGN §11) plans its mapping first (a live one whose plan is
not complete ends there, having written nothing).
Live: audit the start and give the run its pre-restore backup set → plan → capture the live
state of everything the restore may touch into that set (all of it, before the first write)
→ write level by level of the catalog's dependency order (scope tags and named locations,
then filters and notification templates, then what refers to them), so ids of recreated
objects are in the run's id map before their dependents are written → finish → audit.

History holds references only: item keys and counts, never documents. Items of one level are
written ``PARALLEL_BATCHES`` batches at a time; counters are published after each wave. An
object Graph keeps refusing transiently fails alone (the batch's last try records it), so the
run ends ``partial``; only a live capture that cannot be made whole ends the run before any
write.
"""

from collections.abc import Callable
from dataclasses import asdict, replace

import azure.durable_functions as df

from activities.contracts.base import RunRef
from activities.contracts.deploy import DeploymentPlanned, PlanDeployment
from activities.contracts.restore import (
    ApplyItems,
    AuditRestoreFinished,
    BeginRestore,
    CaptureLiveItems,
    PlanRestore,
    PreviewItems,
    RestoreBatch,
    RestoreBegun,
    RestoreItems,
    RestorePlan,
    SealPreRestoreSet,
)
from activities.contracts.runs import FinishRun, RecordProgress, StartedRun, StartRun
from activities.contracts.snapshots import TransientMode
from activities.deploy import plan_deployment
from activities.restore import (
    apply_items,
    audit_restore_finished,
    begin_restore,
    capture_live_items,
    plan_restore,
    preview_items,
    seal_pre_restore_set,
)
from activities.runs import finish_run, record_progress, start_run
from orchestrators.retry import BOOKKEEPING, GRAPH_BATCH
from orchestrators.run_steps import failed_run_error, now_iso
from shared.runs.model import Counts, ItemTally

bp = df.Blueprint()

PARALLEL_BATCHES = 4


def _waves(context: df.DurableOrchestrationContext, activity, inputs: list[RestoreItems],
           counts: Counts | None, *, last_try: bool = True):
    """Run ``activity`` over ``inputs`` PARALLEL_BATCHES at a time; with ``counts``, add
    each outcome (an ``ItemTally``) and publish the counters after every wave. A batch that
    exhausted its retries runs once more with ``last_try`` (``RECORD_FAILED``: an item Graph
    still refuses transiently is recorded failed, the others go on), so one object Graph
    keeps answering 5xx leaves the run ``partial``, not ``failed`` with its items unwritten.
    Without ``last_try`` (the live capture, which must be whole before the first write) the
    run ends there."""
    for start in range(0, len(inputs), PARALLEL_BATCHES):
        wave = inputs[start:start + PARALLEL_BATCHES]
        tasks = [context.call_activity_with_retry(activity, GRAPH_BATCH, asdict(job))
                 for job in wave]
        # Not task_all: it fails on the first failed batch while its siblings still write to
        # Graph, and the run would be finished (and the tenant unlocked) under them.
        pending, failure = list(tasks), None
        while pending:
            done = yield context.task_any(pending)
            pending.remove(done)
            if not isinstance(done.result, Exception):
                continue
            n = tasks.index(done)
            if last_try and wave[n].mode is not TransientMode.RECORD_FAILED:
                wave[n] = replace(wave[n], mode=TransientMode.RECORD_FAILED)
                tasks[n] = context.call_activity_with_retry(activity, GRAPH_BATCH,
                                                            asdict(wave[n]))
                pending.append(tasks[n])
            elif failure is None:
                failure = done.result
        if failure is not None:
            raise failure
        if counts is not None:
            for task in tasks:
                counts.add(ItemTally.from_payload(task.result))
            yield context.call_activity_with_retry(record_progress, BOOKKEEPING, asdict(
                RecordProgress.for_run(inputs[start], counts=counts)))


def _items(kind: Callable[..., RestoreItems], ref: RunRef, run: StartedRun,
           batch: RestoreBatch, **extra: str) -> RestoreItems:
    """The input of one batch's item activity (``kind``: that activity's contract)."""
    return kind(run_id=ref.run_id, tenant_id=ref.tenant_id, backup_set_id=run.backup_set_id,
                include_assignments=run.parameters["include_assignments"],
                ca_state=run.parameters["ca_state"], policy_type=batch.policy_type,
                item_ids=batch.item_ids,
                create_missing_groups=run.parameters.get("create_missing_groups", False),
                source_tenant_id=run.parameters.get("source_tenant_id"), **extra)


class DeploymentRefused(Exception):
    """A live deployment whose mapping plan is not complete: the run ends with ``error``."""

    def __init__(self, error: dict[str, str]) -> None:
        super().__init__(error["code"])
        self.error = error


@bp.orchestration_trigger(context_name="context")
def restore(context: df.DurableOrchestrationContext):
    ref = RunRef.from_payload(context.get_input())
    run = StartedRun.from_payload((yield context.call_activity_with_retry(
        start_run, BOOKKEEPING, asdict(StartRun.for_run(ref, at=now_iso(context))))))
    if run.terminal:  # started again for a finished run: nothing to do
        return run.finished()
    params, live = run.parameters, not run.dry_run
    error = None
    try:
        if live:
            begun = RestoreBegun.from_payload((yield context.call_activity_with_retry(
                begin_restore, BOOKKEEPING,
                asdict(BeginRestore.for_run(ref, at=now_iso(context))))))
        source = params.get("source_tenant_id")
        if source is not None:  # a cross-tenant deployment: its mapping plan first (§11)
            planned = DeploymentPlanned.from_payload((yield context.call_activity_with_retry(
                plan_deployment, BOOKKEEPING,
                asdict(PlanDeployment.for_run(ref, at=now_iso(context))))))
            if planned.error is not None:
                raise DeploymentRefused(planned.error)
        plan = RestorePlan.from_payload((yield context.call_activity_with_retry(
            plan_restore, BOOKKEEPING, asdict(PlanRestore.for_run(
                ref, backup_set_id=run.backup_set_id, item_ids=params.get("item_ids"),
                source_tenant_id=source)))))
        counts = Counts(total=plan.total)
        yield context.call_activity_with_retry(
            record_progress, BOOKKEEPING, asdict(RecordProgress.for_run(ref, counts=counts)))
        if not live:
            yield from _waves(context, preview_items,
                              [_items(PreviewItems, ref, run, b) for b in plan.batches], counts)
        else:
            at, pre_id = now_iso(context), begun.pre_restore_backup_set_id
            yield from _waves(context, capture_live_items, [
                _items(CaptureLiveItems, ref, run, b, pre_restore_backup_set_id=pre_id, at=at)
                for b in plan.batches], None, last_try=False)
            yield context.call_activity_with_retry(seal_pre_restore_set, BOOKKEEPING, asdict(
                SealPreRestoreSet.for_run(ref, pre_restore_backup_set_id=pre_id, at=at)))
            for level in sorted({b.level for b in plan.batches}):
                yield from _waves(context, apply_items, [_items(ApplyItems, ref, run, b)
                                                         for b in plan.batches
                                                         if b.level == level], counts)
    except DeploymentRefused as refused:
        error = refused.error
    except Exception as exc:  # an activity exhausted its retries
        error = failed_run_error(exc)
    if live:
        yield context.call_activity_with_retry(audit_restore_finished, BOOKKEEPING, asdict(
            AuditRestoreFinished.for_run(ref, at=now_iso(context), error=error)))
    return (yield context.call_activity_with_retry(finish_run, BOOKKEEPING, asdict(
        FinishRun.for_run(ref, at=now_iso(context), error=error))))
