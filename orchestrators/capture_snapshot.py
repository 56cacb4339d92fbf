"""`capture_snapshot`: one policy → complete snapshot → blob → a backup set with one item.

An instance scheduled with the flow ``CAPTURE_IN_ONE_ACTIVITY`` (``shared.runs.starter``)
does it in one activity, ``capture_run``: start, capture and settle, about half the engine's
storage operations of three activities. Should that activity still fail after its retries,
the three steps follow one by one, each with its own retry policy (bookkeeping rides out a
storage outage longer than Graph's three tries), and ``finish_run`` settles the run failed if
the capture fails again. Instances scheduled before (no ``flow`` in their input) take the
three steps at once.
"""

from dataclasses import asdict

import azure.durable_functions as df

from activities.contracts.base import RunInput, RunRef
from activities.contracts.runs import FinishRun, StartedRun, StartRun
from activities.contracts.snapshots import CapturePolicies, CaptureRun
from activities.runs import finish_run, start_run
from activities.snapshots import capture_policies, capture_run
from orchestrators.retry import BOOKKEEPING, GRAPH_BATCH
from orchestrators.run_steps import failed_run_error, now_iso
from shared.runs.starter import CAPTURE_IN_ONE_ACTIVITY

bp = df.Blueprint()


@bp.orchestration_trigger(context_name="context")
def capture_snapshot(context: df.DurableOrchestrationContext):
    ref = RunInput.from_payload(context.get_input())  # references only
    if ref.flow < CAPTURE_IN_ONE_ACTIVITY:
        return (yield from _in_three_steps(context, ref))
    try:
        return (yield context.call_activity_with_retry(
            capture_run, GRAPH_BATCH, asdict(CaptureRun.for_run(ref, at=now_iso(context)))))
    except Exception:  # the activity exhausted its retries: the steps one by one, each with
        # its own retries (a storage outage outlasts Graph's three tries, not bookkeeping's)
        return (yield from _in_three_steps(context, ref))


def _in_three_steps(context: df.DurableOrchestrationContext, ref: RunRef):
    """Start, capture and settle as three activities: the flow of instances scheduled before
    ``CAPTURE_IN_ONE_ACTIVITY``, and the fallback of one whose ``capture_run`` kept failing."""
    run = StartedRun.from_payload((yield context.call_activity_with_retry(
        start_run, BOOKKEEPING, asdict(StartRun.for_run(ref, at=now_iso(context))))))
    if run.terminal:  # started again for a finished run: nothing to do
        return run.finished()
    error = None
    try:
        yield context.call_activity_with_retry(capture_policies, GRAPH_BATCH, asdict(
            CapturePolicies.of_capture(ref, run, now_iso(context))))
    except Exception as exc:  # the activity exhausted its retries
        error = failed_run_error(exc)
    return (yield context.call_activity_with_retry(finish_run, BOOKKEEPING, asdict(
        FinishRun.for_run(ref, at=now_iso(context), error=error, backup_set_kind="capture"))))
