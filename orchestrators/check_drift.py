"""`check_drift`: compare the live tenant with its baseline, type by type (DESIGN §10).

start → check each type (``check_type``: the backup's read path, ``PARALLEL_TYPES`` of one
tenant at a time, counters published as each finishes; a type Graph refused transiently is
read again, up to ``ITEM_ATTEMPTS`` times; one whose activity still fails is a failed
type-level item) → attribute what changed (one change-log read per run, in its activity; a
failure there leaves ``changed_by`` null and the check goes on) → count the drift onto the
run and alert if anything differs (before the run turns terminal) → finish.

History holds references only: the baseline set id, type keys and counts.
"""

from __future__ import annotations

from dataclasses import asdict

import azure.durable_functions as df

from activities.contracts.base import RunRef
from activities.contracts.drift import AttributeChanges, CheckType, RecordUnchecked, SettleDrift
from activities.contracts.runs import FinishRun, RecordProgress, StartedRun, StartRun
from activities.contracts.snapshots import CapturedType, TransientMode
from activities.drift import attribute_changes, check_type, record_unchecked, settle_drift
from activities.runs import finish_run, record_progress, start_run
from orchestrators.backup_tenant import ITEM_ATTEMPTS, PARALLEL_TYPES
from orchestrators.retry import BOOKKEEPING, GRAPH_BATCH
from orchestrators.run_steps import failed_run_error, now_iso
from shared.runs.model import Counts

bp = df.Blueprint()


def _check_types(context: df.DurableOrchestrationContext, ref: RunRef, baseline_id: str,
                 types: list[str], counts: Counts):
    """Check PARALLEL_TYPES types at a time; after each one, start the next and publish the
    counters."""
    pending: dict = {}  # task → (type, attempt)
    waiting = [(policy_type, 1) for policy_type in types]

    def fill() -> None:
        while waiting and len(pending) < PARALLEL_TYPES:
            policy_type, attempt = waiting.pop(0)
            mode = (TransientMode.RECORD_FAILED if attempt >= ITEM_ATTEMPTS
                    else TransientMode.RETURN_FOR_RETRY)
            task = context.call_activity_with_retry(check_type, GRAPH_BATCH, asdict(
                CheckType.for_run(ref, baseline_backup_set_id=baseline_id,
                                  policy_type=policy_type, mode=mode)))
            pending[task] = (policy_type, attempt)

    fill()
    while pending:
        done = yield context.task_any(list(pending))
        policy_type, attempt = pending.pop(done)
        if isinstance(done.result, Exception):  # failed after its retries
            checked = CapturedType.from_payload((yield context.call_activity_with_retry(
                record_unchecked, BOOKKEEPING,
                asdict(RecordUnchecked.for_run(ref, policy_type=policy_type)))))
        else:
            checked = CapturedType.from_payload(done.result)
        if checked.retry_type:
            waiting.append((policy_type, attempt + 1))
        counts.total += checked.listed
        counts.add(checked.tally)
        fill()  # the next type starts before the counters are published
        yield context.call_activity_with_retry(record_progress, BOOKKEEPING,
                                               asdict(RecordProgress.for_run(ref, counts=counts)))


@bp.orchestration_trigger(context_name="context")
def check_drift(context: df.DurableOrchestrationContext):
    ref = RunRef.from_payload(context.get_input())
    run = StartedRun.from_payload((yield context.call_activity_with_retry(
        start_run, BOOKKEEPING, asdict(StartRun.for_run(ref, at=now_iso(context))))))
    error = None
    try:
        assert run.backup_set_id is not None  # the baseline, fixed when the run was recorded
        yield from _check_types(context, ref, run.backup_set_id,
                                run.parameters["policy_types"], Counts())
        try:
            yield context.call_activity_with_retry(attribute_changes, GRAPH_BATCH, asdict(
                AttributeChanges.for_run(ref, since=run.parameters.get("since"))))
        except Exception:  # the drift found stands without its attribution
            pass
        yield context.call_activity_with_retry(
            settle_drift, BOOKKEEPING, asdict(SettleDrift.for_run(ref, at=now_iso(context))))
    except Exception as exc:
        error = failed_run_error(exc)
    return (yield context.call_activity_with_retry(finish_run, BOOKKEEPING, asdict(
        FinishRun.for_run(ref, at=now_iso(context), error=error, empty_ok=True))))
