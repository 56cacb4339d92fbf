"""`backup_tenant`: list every requested type, then capture complete snapshots in batches.

History stays small: one activity lists every type and returns only ids; each capture
activity handles a batch of up to ``BATCH_SIZE`` items (small types share a batch) and
returns counts; tenants with more than ``SLICE_SIZE`` items are captured through
``backup_slice`` sub-orchestrations so no single history grows without bound. Up to
``PARALLEL_BATCHES`` batches of one tenant are in flight: as one finishes the next starts
and the counters are published, so pollers see the run grow.
"""

import azure.durable_functions as df

from activities.runs import finish_run, record_progress, start_run
from activities.snapshots import capture_policies, list_policies, record_unfetched
from orchestrators.retry import BOOKKEEPING, GRAPH_BATCH
from orchestrators.run_steps import add_counts, failed_run_error, now_iso

bp = df.Blueprint()

BATCH_SIZE = 20  # items per capture activity: one Graph $batch envelope of item GETs
PARALLEL_BATCHES = 4  # per tenant; the host's activity limit bounds all tenants together
SLICE_SIZE = 1000  # items per sub-orchestration
ITEM_ATTEMPTS = 3  # batches an item Graph keeps refusing transiently is tried in


def _batches(listed: list[dict]) -> list[dict]:
    """Pack listed ids, type by type, into batches of at most BATCH_SIZE items; a batch
    is ``{"groups": [{"policy_type", "policy_ids"}, ...]}``."""
    batches: list[dict] = []
    groups: list[dict] = []
    size = 0
    for entry in listed:
        ids = entry.get("ids") or []
        start = 0
        while start < len(ids):
            take = ids[start:start + BATCH_SIZE - size]
            groups.append({"policy_type": entry["policy_type"], "policy_ids": take})
            size += len(take)
            start += len(take)
            if size == BATCH_SIZE:
                batches.append({"groups": groups})
                groups, size = [], 0
    if groups:
        batches.append({"groups": groups})
    return batches


def _capture(context: df.DurableOrchestrationContext, job: dict, batches: list[dict],
             counts: dict):
    """Keep PARALLEL_BATCHES batches in flight; after each one, start the next and publish
    the counters. Items Graph refused transiently come back and join a later batch, up to
    ITEM_ATTEMPTS batches; a batch whose activity still fails after its retries is
    recorded as failed items. Either way the run goes on."""
    ref = {"run_id": job["run_id"], "tenant_id": job["tenant_id"]}
    pending: dict = {}  # task → batch
    waiting = list(batches)

    def fill() -> None:
        while waiting and len(pending) < PARALLEL_BATCHES:
            batch = waiting.pop(0)
            task = context.call_activity_with_retry(capture_policies, GRAPH_BATCH, {
                **ref, "backup_set_id": job["backup_set_id"], "at": job["at"],
                "groups": batch["groups"],
                "final": batch.get("attempt", 1) >= ITEM_ATTEMPTS})
            pending[task] = batch

    fill()
    while pending:
        done = yield context.task_any(list(pending))
        batch = pending.pop(done)
        if isinstance(done.result, Exception):  # failed after its retries
            outcome = yield context.call_activity_with_retry(record_unfetched, BOOKKEEPING, {
                **ref, "backup_set_id": job["backup_set_id"], "groups": batch["groups"]})
        else:
            outcome = done.result
            if outcome.get("retry"):  # items Graph refused transiently: a later batch
                waiting.append({"groups": outcome["retry"],
                                "attempt": batch.get("attempt", 1) + 1})
        add_counts(counts, outcome)
        fill()  # the next batch starts before the counters are published
        yield context.call_activity_with_retry(record_progress, BOOKKEEPING,
                                               {**ref, "counts": counts})


def _list(context: df.DurableOrchestrationContext, ref: dict, types: list[str]):
    """List every type in one activity; types Graph refused transiently are listed again,
    up to ITEM_ATTEMPTS times, then recorded as failed type-level items."""
    listed: list[dict] = []
    for attempt in range(1, ITEM_ATTEMPTS + 1):
        answer = yield context.call_activity_with_retry(list_policies, GRAPH_BATCH, {
            **ref, "policy_types": types, "final": attempt == ITEM_ATTEMPTS})
        listed += [entry for entry in answer if not entry.get("retry")]
        types = [entry["policy_type"] for entry in answer if entry.get("retry")]
        if not types:
            break
    return listed


@bp.orchestration_trigger(context_name="context")
def backup_slice(context: df.DurableOrchestrationContext):
    """Capture one slice of a large tenant; ``counts`` carries the parent's totals so far."""
    job = context.get_input()
    counts = dict(job["counts"])
    yield from _capture(context, job, job["batches"], counts)
    return counts


@bp.orchestration_trigger(context_name="context")
def backup_tenant(context: df.DurableOrchestrationContext):
    ref = context.get_input()  # {"run_id", "tenant_id"}
    run = yield context.call_activity_with_retry(
        start_run, BOOKKEEPING, {**ref, "at": now_iso(context)}
    )
    error = None
    try:
        listed = yield from _list(context, ref, run["parameters"]["policy_types"])
        batches = _batches(listed)
        counts = {"total": 0, "processed": 0, "succeeded": 0, "failed": 0, "skipped": 0}
        for entry in listed:  # a type that could not be listed is one item, already recorded
            if "outcome" in entry:
                add_counts(counts, {entry["outcome"]: 1})
        counts["total"] = counts["processed"] + sum(len(e.get("ids") or []) for e in listed)
        yield context.call_activity_with_retry(
            record_progress, BOOKKEEPING, {**ref, "counts": counts}
        )
        job = {**ref, "backup_set_id": run["backup_set_id"], "at": now_iso(context)}
        per_slice = SLICE_SIZE // BATCH_SIZE
        if len(batches) <= per_slice:
            yield from _capture(context, job, batches, counts)
        else:
            for start in range(0, len(batches), per_slice):
                counts = yield context.call_sub_orchestrator(
                    "backup_slice",
                    {**job, "batches": batches[start:start + per_slice], "counts": counts},
                    f"{context.instance_id}:slice:{start // per_slice}",
                )
    except Exception as exc:
        error = failed_run_error(exc)
    return (yield context.call_activity_with_retry(finish_run, BOOKKEEPING, {
        **ref, "at": now_iso(context), "error": error, "backup_set_kind": "backup",
    }))
