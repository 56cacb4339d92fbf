"""`restore`: preview (``dry_run``) or live restore of a backup set (DESIGN §8).

Preview: plan → read live state and record planned actions and diffs per batch → finish.
Live: audit the start and give the run its pre-restore backup set → plan → capture the live
state of everything the restore may touch into that set (all of it, before the first write)
→ write level by level of the catalog's dependency order (scope tags and named locations,
then filters and notification templates, then what refers to them), so ids of recreated
objects are in the run's id map before their dependents are written → finish → audit.

History holds references only: item keys and counts, never documents. Items of one level are
written ``PARALLEL_BATCHES`` batches at a time; counters are published after each wave.
"""

import azure.durable_functions as df

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
from orchestrators.run_steps import add_counts, failed_run_error, now_iso

bp = df.Blueprint()

PARALLEL_BATCHES = 4


def _waves(context: df.DurableOrchestrationContext, activity, job: dict, batches: list[dict],
           counts: dict | None):
    """Run ``activity`` over ``batches`` PARALLEL_BATCHES at a time; with ``counts``, add
    each outcome and publish the counters after every wave."""
    outcomes = []
    for start in range(0, len(batches), PARALLEL_BATCHES):
        wave = batches[start:start + PARALLEL_BATCHES]
        tasks = [
            context.call_activity_with_retry(activity, GRAPH_BATCH, {
                **job, "policy_type": batch["policy_type"], "item_ids": batch["item_ids"],
            })
            for batch in wave
        ]
        # Not task_all: it fails on the first failed batch while its siblings still write to
        # Graph, and the run would be finished (and the tenant unlocked) under them.
        pending, failure = list(tasks), None
        while pending:
            done = yield context.task_any(pending)
            pending.remove(done)
            if isinstance(done.result, Exception) and failure is None:
                failure = done.result
        if failure is not None:
            raise failure
        results = [task.result for task in tasks]
        outcomes.extend(results)
        if counts is not None:
            for outcome in results:
                add_counts(counts, outcome)
            yield context.call_activity_with_retry(record_progress, BOOKKEEPING, {
                "run_id": job["run_id"], "tenant_id": job["tenant_id"], "counts": counts,
            })
    return outcomes


@bp.orchestration_trigger(context_name="context")
def restore(context: df.DurableOrchestrationContext):
    ref = context.get_input()  # {"run_id", "tenant_id"}
    run = yield context.call_activity_with_retry(
        start_run, BOOKKEEPING, {**ref, "at": now_iso(context)}
    )
    params, live = run["parameters"], not run["dry_run"]
    error = None
    try:
        job = {**ref, "backup_set_id": run["backup_set_id"],
               "include_assignments": params["include_assignments"],
               "ca_state": params["ca_state"]}
        if live:
            begun = yield context.call_activity_with_retry(
                begin_restore, BOOKKEEPING, {**ref, "at": now_iso(context)})
            job["pre_restore_backup_set_id"] = begun["pre_restore_backup_set_id"]
        plan = yield context.call_activity_with_retry(plan_restore, BOOKKEEPING, {
            **ref, "backup_set_id": run["backup_set_id"], "item_ids": params.get("item_ids"),
        })
        counts = {"total": plan["total"], "processed": 0, "succeeded": 0, "failed": 0,
                  "skipped": 0}
        yield context.call_activity_with_retry(record_progress, BOOKKEEPING,
                                               {**ref, "counts": counts})
        batches = plan["batches"]
        if not live:
            yield from _waves(context, preview_items, job, batches, counts)
        else:
            at = now_iso(context)
            yield from _waves(context, capture_live_items, {**job, "at": at}, batches, None)
            yield context.call_activity_with_retry(seal_pre_restore_set, BOOKKEEPING, {
                **ref, "pre_restore_backup_set_id": job["pre_restore_backup_set_id"], "at": at,
            })
            for level in sorted({b["level"] for b in batches}):
                yield from _waves(context, apply_items, job,
                                  [b for b in batches if b["level"] == level], counts)
    except Exception as exc:  # an activity exhausted its retries
        error = failed_run_error(exc)
    if live:
        yield context.call_activity_with_retry(audit_restore_finished, BOOKKEEPING, {
            **ref, "at": now_iso(context), "error": error})
    return (yield context.call_activity_with_retry(finish_run, BOOKKEEPING, {
        **ref, "at": now_iso(context), "error": error,
    }))
