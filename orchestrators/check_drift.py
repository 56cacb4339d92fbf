"""`check_drift`: compare the live tenant with its baseline, type by type (DESIGN §10).

start → check each type (``check_types``: the backup's read path, the run's ``types_at_once``
of one tenant at a time, ``types_per_activity`` in one activity, counters published as they
finish; a type Graph refused transiently is read again, up to ``ITEM_ATTEMPTS`` times; one
whose activity still fails is a failed type-level item) → attribute what changed (one
change-log read per run, in its activity; a failure there leaves ``changed_by`` null and the
check goes on) → count the drift onto the run and alert if anything differs (before the run
turns terminal) → finish.

History holds references only: the baseline set id, type keys and counts.
"""

from __future__ import annotations

from dataclasses import asdict

import azure.durable_functions as df

from activities.contracts.base import RunRef
from activities.contracts.drift import (
    AttributeChanges,
    CheckType,
    CheckTypes,
    RecordUnchecked,
    SettleDrift,
)
from activities.contracts.runs import FinishRun, StartedRun, StartRun
from activities.contracts.snapshots import CapturedType, TransientMode
from activities.drift import (
    attribute_changes,
    check_type,
    check_types,
    record_unchecked,
    settle_drift,
)
from activities.runs import finish_run, start_run
from orchestrators.backup_tenant import PARALLEL_TYPES
from orchestrators.retry import BOOKKEEPING, GRAPH_BATCH
from orchestrators.run_steps import failed_run_error, now_iso
from orchestrators.type_fanout import Fanout, read_types
from shared.runs.model import Counts

bp = df.Blueprint()


def _check_types(context: df.DurableOrchestrationContext, ref: RunRef, baseline_id: str,
                 types: list[str], counts: Counts, fanout: Fanout):
    """Check types as a backup reads them (``orchestrators.type_fanout``); a type whose
    activity fails after its retries is one failed type-level item."""
    def read(policy_types: list[str], mode: TransientMode):
        if not fanout.grouped:  # a run recorded before checks were grouped: one type each
            [policy_type] = policy_types
            return context.call_activity_with_retry(check_type, GRAPH_BATCH, asdict(
                CheckType.for_run(ref, baseline_backup_set_id=baseline_id,
                                  policy_type=policy_type, mode=mode)))
        return context.call_activity_with_retry(check_types, GRAPH_BATCH, asdict(
            CheckTypes.for_run(ref, baseline_backup_set_id=baseline_id,
                               policy_types=policy_types, mode=mode)))

    def unread(policy_type: str, error: dict[str, str] | None):
        return CapturedType.from_payload((yield context.call_activity_with_retry(
            record_unchecked, BOOKKEEPING,
            asdict(RecordUnchecked.for_run(ref, policy_type=policy_type, error=error)))))

    yield from read_types(context, ref, types, fanout, read, unread, counts)


@bp.orchestration_trigger(context_name="context")
def check_drift(context: df.DurableOrchestrationContext):
    ref = RunRef.from_payload(context.get_input())
    run = StartedRun.from_payload((yield context.call_activity_with_retry(
        start_run, BOOKKEEPING, asdict(StartRun.for_run(ref, at=now_iso(context))))))
    if run.terminal:  # started again for a finished run: nothing to do
        return run.finished()
    error = None
    try:
        assert run.backup_set_id is not None  # the baseline, fixed when the run was recorded
        yield from _check_types(context, ref, run.backup_set_id,
                                run.parameters["policy_types"], Counts(),
                                Fanout.of(run.parameters, PARALLEL_TYPES))
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
