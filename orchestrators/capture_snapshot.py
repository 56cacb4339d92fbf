"""`capture_snapshot`: one policy → complete snapshot → blob → a backup set with one item."""

import azure.durable_functions as df

from activities.runs import finish_run, start_run
from activities.snapshots import capture_policies
from orchestrators.retry import BOOKKEEPING, GRAPH_BATCH
from orchestrators.run_steps import failed_run_error, now_iso

bp = df.Blueprint()


@bp.orchestration_trigger(context_name="context")
def capture_snapshot(context: df.DurableOrchestrationContext):
    ref = context.get_input()  # {"run_id", "tenant_id"}: references only
    run = yield context.call_activity_with_retry(
        start_run, BOOKKEEPING, {**ref, "at": now_iso(context)}
    )
    params = run["parameters"]
    error = None
    try:
        yield context.call_activity_with_retry(capture_policies, GRAPH_BATCH, {
            **ref,
            "backup_set_id": run["backup_set_id"],
            "policy_type": params["policy_type"],
            "policy_ids": [params["policy_id"]],
            "at": now_iso(context),
        })
    except Exception as exc:  # the activity exhausted its retries
        error = failed_run_error(exc)
    return (yield context.call_activity_with_retry(finish_run, BOOKKEEPING, {
        **ref, "at": now_iso(context), "error": error, "backup_set_kind": "capture",
    }))
