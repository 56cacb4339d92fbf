"""`backup_tenant`: list every requested type, then capture complete snapshots in batches.

History stays small: list results carry only ids, each capture activity handles a batch of up
to ``BATCH_SIZE`` items (one Graph ``$batch``) and returns counts, and tenants with more than
``SLICE_SIZE`` items are captured through ``backup_slice`` sub-orchestrations so no single
history grows without bound. At most ``PARALLEL_BATCHES`` batches of one tenant run at once.
"""

import azure.durable_functions as df

from activities.runs import finish_run, record_progress, start_run
from activities.snapshots import capture_policies, list_policies
from orchestrators.retry import BOOKKEEPING, GRAPH_BATCH
from orchestrators.run_steps import failed_run_error, now_iso

bp = df.Blueprint()

BATCH_SIZE = 20
PARALLEL_BATCHES = 4
SLICE_SIZE = 1000


def _batches(listed: list[dict]) -> list[dict]:
    """Split listed ids into per-type batches of at most BATCH_SIZE."""
    batches = []
    for entry in listed:
        ids = entry.get("ids") or []
        for start in range(0, len(ids), BATCH_SIZE):
            batches.append({"policy_type": entry["policy_type"],
                            "policy_ids": ids[start:start + BATCH_SIZE]})
    return batches


def _add(counts: dict, outcome: dict) -> None:
    for name in ("succeeded", "failed", "skipped"):
        counts[name] += outcome.get(name, 0)
    counts["processed"] = counts["succeeded"] + counts["failed"] + counts["skipped"]


def _capture_waves(context: df.DurableOrchestrationContext, job: dict, batches: list[dict],
                   counts: dict):
    """Run batches PARALLEL_BATCHES at a time, publishing counters after each wave."""
    for start in range(0, len(batches), PARALLEL_BATCHES):
        wave = batches[start:start + PARALLEL_BATCHES]
        outcomes = yield context.task_all([
            context.call_activity_with_retry(capture_policies, GRAPH_BATCH, {
                "run_id": job["run_id"], "tenant_id": job["tenant_id"],
                "backup_set_id": job["backup_set_id"], "at": job["at"], **batch,
            })
            for batch in wave
        ])
        for outcome in outcomes:
            _add(counts, outcome)
        yield context.call_activity_with_retry(record_progress, BOOKKEEPING, {
            "run_id": job["run_id"], "tenant_id": job["tenant_id"], "counts": counts,
        })


@bp.orchestration_trigger(context_name="context")
def backup_slice(context: df.DurableOrchestrationContext):
    """Capture one slice of a large tenant; ``counts`` carries the parent's totals so far."""
    job = context.get_input()
    counts = dict(job["counts"])
    yield from _capture_waves(context, job, job["batches"], counts)
    return counts


@bp.orchestration_trigger(context_name="context")
def backup_tenant(context: df.DurableOrchestrationContext):
    ref = context.get_input()  # {"run_id", "tenant_id"}
    run = yield context.call_activity_with_retry(
        start_run, BOOKKEEPING, {**ref, "at": now_iso(context)}
    )
    error = None
    try:
        listed = yield context.task_all([
            context.call_activity_with_retry(
                list_policies, GRAPH_BATCH, {**ref, "policy_type": policy_type}
            )
            for policy_type in run["parameters"]["policy_types"]
        ])
        batches = _batches(listed)
        counts = {"total": 0, "processed": 0, "succeeded": 0, "failed": 0, "skipped": 0}
        for entry in listed:  # a type that could not be listed is one item, already recorded
            if "outcome" in entry:
                _add(counts, {entry["outcome"]: 1})
        counts["total"] = counts["processed"] + sum(len(b["policy_ids"]) for b in batches)
        yield context.call_activity_with_retry(
            record_progress, BOOKKEEPING, {**ref, "counts": counts}
        )
        job = {**ref, "backup_set_id": run["backup_set_id"], "at": now_iso(context)}
        per_slice = SLICE_SIZE // BATCH_SIZE
        if len(batches) <= per_slice:
            yield from _capture_waves(context, job, batches, counts)
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
