"""`backup_tenant`: read every requested type whole, capturing complete snapshots as it goes.

Each type is read whole through its collection with the ``$expand`` Graph serves there
(``shared.graph.read_collection``: about one Graph request per object at most, far fewer for
types whose listing is complete), every page stored as it arrives; one ``capture_types``
activity reads the run's ``types_per_activity`` types at once (runs recorded before that
parameter: one ``capture_type`` per type). Up to the run's ``types_at_once`` types of one
tenant are read at once, and as each activity finishes the next starts and the counters are
published, so pollers see the run grow (``total`` grows as types are listed). History stays
small: activities return counts and, for objects Graph refused transiently, ids — those are
fetched again by id in batches of ``BATCH_SIZE`` (``capture_policies``), up to
``ITEM_ATTEMPTS`` tries in all.

Runs recorded before this engine (no ``read`` parameter) replay the earlier flow — one
listing activity, then every id in batches, sliced into ``backup_slice`` sub-orchestrations
above ``SLICE_SIZE`` items — so histories in flight at an upgrade stay deterministic.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import azure.durable_functions as df

from activities.contracts.base import Payload, RunRef
from activities.contracts.runs import FinishRun, RecordProgress, StartedRun, StartRun
from activities.contracts.snapshots import (
    CapturedBatch,
    CapturedType,
    CapturePolicies,
    CaptureType,
    CaptureTypes,
    Listing,
    ListPolicies,
    PolicyGroup,
    RecordUnfetched,
    TransientMode,
    TypeListing,
)
from activities.runs import finish_run, record_progress, start_run
from activities.snapshots import (
    capture_policies,
    capture_type,
    capture_types,
    list_policies,
    record_unfetched,
)
from orchestrators.retry import BOOKKEEPING, GRAPH_BATCH
from orchestrators.run_steps import call_orchestrator, failed_run_error, now_iso, step_error
from orchestrators.type_fanout import ITEM_ATTEMPTS, Fanout, mode_for, read_types
from shared.runs.jobs import READ_BY_COLLECTION
from shared.runs.model import TYPE_LEVEL_ID, Counts, ItemTally

bp = df.Blueprint()

BATCH_SIZE = 20  # items per capture activity: one Graph $batch envelope of item GETs
PARALLEL_BATCHES = 4  # per tenant; the host's activity limit bounds all tenants together
PARALLEL_TYPES = 4  # types of one tenant read at once, for runs recorded without types_at_once
SLICE_SIZE = 1000  # items per sub-orchestration


@dataclass(frozen=True)
class Batch(Payload):
    """Ids of one capture activity, type by type; ``attempt`` counts the batches they have
    been tried in (items Graph refused transiently come back in a later batch)."""

    groups: list[PolicyGroup]
    attempt: int = 1

    @classmethod
    def from_payload(cls, payload: dict) -> Batch:
        return cls(groups=[PolicyGroup.from_payload(g) for g in payload["groups"]],
                   attempt=payload.get("attempt", 1))


@dataclass(frozen=True)
class BackupJob(RunRef):
    """What every capture batch of one run shares."""

    backup_set_id: str
    at: str


@dataclass(frozen=True)
class BackupSlice(BackupJob):
    """Input of a ``backup_slice`` sub-orchestration; ``counts``: the parent's totals so far."""

    batches: list[Batch]
    counts: Counts

    @classmethod
    def from_payload(cls, payload: dict) -> BackupSlice:
        return cls(run_id=payload["run_id"], tenant_id=payload["tenant_id"],
                   backup_set_id=payload["backup_set_id"], at=payload["at"],
                   batches=[Batch.from_payload(b) for b in payload["batches"]],
                   counts=Counts.from_payload(payload["counts"]))



def _batches(listed: list[TypeListing]) -> list[Batch]:
    """Pack listed ids, type by type, into batches of at most BATCH_SIZE items."""
    batches: list[Batch] = []
    groups: list[PolicyGroup] = []
    size = 0
    for entry in listed:
        start = 0
        while start < len(entry.ids):
            take = entry.ids[start:start + BATCH_SIZE - size]
            groups.append(PolicyGroup(entry.policy_type, take))
            size += len(take)
            start += len(take)
            if size == BATCH_SIZE:
                batches.append(Batch(groups))
                groups, size = [], 0
    if groups:
        batches.append(Batch(groups))
    return batches


def _capture(context: df.DurableOrchestrationContext, job: BackupJob, batches: list[Batch],
             counts: Counts):
    """Keep PARALLEL_BATCHES batches in flight; after each one, start the next and publish
    the counters. Items Graph refused transiently come back and join a later batch, up to
    ITEM_ATTEMPTS batches; a batch whose activity still fails after its retries is
    recorded as failed items. Either way the run goes on."""
    pending: dict = {}  # task → batch
    waiting = list(batches)

    def fill() -> None:
        while waiting and len(pending) < PARALLEL_BATCHES:
            batch = waiting.pop(0)
            task = context.call_activity_with_retry(capture_policies, GRAPH_BATCH, asdict(
                CapturePolicies.for_run(job, backup_set_id=job.backup_set_id, at=job.at,
                                        groups=batch.groups, mode=mode_for(batch.attempt))))
            pending[task] = batch

    fill()
    while pending:
        done = yield context.task_any(list(pending))
        batch = pending.pop(done)
        if isinstance(done.result, Exception):  # failed after its retries
            tally = ItemTally.from_payload((yield context.call_activity_with_retry(
                record_unfetched, BOOKKEEPING, asdict(RecordUnfetched.for_run(
                    job, backup_set_id=job.backup_set_id, groups=batch.groups,
                    error=step_error(done.result))))))
        else:
            captured = CapturedBatch.from_payload(done.result)
            tally = captured.tally
            if captured.retry:  # items Graph refused transiently: a later batch
                waiting.append(Batch(captured.retry, attempt=batch.attempt + 1))
        counts.add(tally)
        fill()  # the next batch starts before the counters are published
        yield context.call_activity_with_retry(record_progress, BOOKKEEPING,
                                               asdict(RecordProgress.for_run(job, counts=counts)))


def _list(context: df.DurableOrchestrationContext, ref: RunRef, types: list[str]):
    """List every type in one activity; types Graph refused transiently are listed again,
    up to ITEM_ATTEMPTS times, then recorded as failed type-level items."""
    listed: list[TypeListing] = []
    for attempt in range(1, ITEM_ATTEMPTS + 1):
        answer = Listing.from_payload((yield context.call_activity_with_retry(
            list_policies, GRAPH_BATCH,
            asdict(ListPolicies.for_run(ref, policy_types=types, mode=mode_for(attempt))))))
        listed += [entry for entry in answer.types if not entry.retry]
        types = [entry.policy_type for entry in answer.types if entry.retry]
        if not types:
            break
    return listed


def _capture_types(context: df.DurableOrchestrationContext, job: BackupJob, types: list[str],
                   counts: Counts, fanout: Fanout):
    """Read the run's ``types_at_once`` types at a time, ``types_per_activity`` in one
    activity (recorded with the run, so a replay schedules exactly what the first execution
    did; ``orchestrators.type_fanout``); a type whose activity fails after its retries is one
    failed type-level item. Returns the batches of ids to fetch again by id."""
    def read(policy_types: list[str], mode: TransientMode):
        if not fanout.grouped:  # a run recorded before reads were grouped: one type each
            [policy_type] = policy_types
            return context.call_activity_with_retry(capture_type, GRAPH_BATCH, asdict(
                CaptureType.for_run(job, backup_set_id=job.backup_set_id, at=job.at,
                                    policy_type=policy_type, mode=mode)))
        return context.call_activity_with_retry(capture_types, GRAPH_BATCH, asdict(
            CaptureTypes.for_run(job, backup_set_id=job.backup_set_id, at=job.at,
                                 policy_types=policy_types, mode=mode)))

    def unread(policy_type: str, error: dict[str, str] | None):
        tally = ItemTally.from_payload((yield context.call_activity_with_retry(
            record_unfetched, BOOKKEEPING, asdict(RecordUnfetched.for_run(
                job, backup_set_id=job.backup_set_id,
                groups=[PolicyGroup(policy_type, [TYPE_LEVEL_ID])], error=error)))))
        return CapturedType(policy_type, listed=tally.processed, tally=tally)

    outcomes = yield from read_types(context, job, types, fanout, read, unread, counts)
    again = [PolicyGroup(o.policy_type, o.retry) for o in outcomes if o.retry]
    return [replace(batch, attempt=2) for batch in _batches(
        [TypeListing(group.policy_type, ids=group.policy_ids) for group in again])]


@bp.orchestration_trigger(context_name="context")
def backup_slice(context: df.DurableOrchestrationContext):
    """Capture one slice of a large tenant; returns the parent's counts plus this slice's."""
    job = BackupSlice.from_payload(context.get_input())
    counts = replace(job.counts)
    yield from _capture(context, job, job.batches, counts)
    return asdict(counts)


@bp.orchestration_trigger(context_name="context")
def backup_tenant(context: df.DurableOrchestrationContext):
    ref = RunRef.from_payload(context.get_input())
    run = StartedRun.from_payload((yield context.call_activity_with_retry(
        start_run, BOOKKEEPING, asdict(StartRun.for_run(ref, at=now_iso(context))))))
    if run.terminal:  # started again for a finished run: nothing to do
        return run.finished()
    error = None
    try:
        if run.parameters.get("read") == READ_BY_COLLECTION:
            yield from _backup_by_collection(context, ref, run)
        else:
            yield from _backup_by_ids(context, ref, run)
    except Exception as exc:
        error = failed_run_error(exc)
    return (yield context.call_activity_with_retry(finish_run, BOOKKEEPING, asdict(
        FinishRun.for_run(ref, at=now_iso(context), error=error, backup_set_kind="backup"))))


def _backup_by_collection(context: df.DurableOrchestrationContext, ref: RunRef,
                          run: StartedRun):
    job = BackupJob.for_run(ref, backup_set_id=run.backup_set_id, at=now_iso(context))
    counts = Counts()
    retry = yield from _capture_types(context, job, run.parameters["policy_types"], counts,
                                      Fanout.of(run.parameters, PARALLEL_TYPES))
    yield from _capture(context, job, retry, counts)


def _backup_by_ids(context: df.DurableOrchestrationContext, ref: RunRef, run: StartedRun):
    """The flow of runs recorded before ``read_by_collection`` (see the module docstring)."""
    listed = yield from _list(context, ref, run.parameters["policy_types"])
    batches = _batches(listed)
    counts = Counts()
    # A type that could not be listed is one item, already recorded.
    counts.add(ItemTally.of(entry.outcome for entry in listed if entry.outcome))
    counts.total = counts.processed + sum(len(entry.ids) for entry in listed)
    yield context.call_activity_with_retry(
        record_progress, BOOKKEEPING, asdict(RecordProgress.for_run(ref, counts=counts)))
    job = BackupJob.for_run(ref, backup_set_id=run.backup_set_id, at=now_iso(context))
    per_slice = SLICE_SIZE // BATCH_SIZE
    if len(batches) <= per_slice:
        yield from _capture(context, job, batches, counts)
        return
    for n, start in enumerate(range(0, len(batches), per_slice)):
        counts = Counts.from_payload((yield call_orchestrator(
            context, backup_slice,
            asdict(BackupSlice(**asdict(job), batches=batches[start:start + per_slice],
                               counts=counts)),
            f"{context.instance_id}:slice:{n}")))
