"""`render_report`: a backup set (or the change between two) → a report blob (DESIGN §14).

start → render (one activity that streams the report into its encrypted blob) → finish. The
history holds the set ids and the format only; the report itself never crosses it.
"""

from __future__ import annotations

from dataclasses import asdict

import azure.durable_functions as df

from activities.contracts.base import RunRef
from activities.contracts.reports import RenderReport
from activities.contracts.runs import FinishRun, StartedRun, StartRun
from activities.reports import render_report_document
from activities.runs import finish_run, start_run
from orchestrators.retry import BOOKKEEPING, GRAPH_BATCH
from orchestrators.run_steps import failed_run_error, now_iso

bp = df.Blueprint()


@bp.orchestration_trigger(context_name="context")
def render_report(context: df.DurableOrchestrationContext):
    ref = RunRef.from_payload(context.get_input())
    run = StartedRun.from_payload((yield context.call_activity_with_retry(
        start_run, BOOKKEEPING, asdict(StartRun.for_run(ref, at=now_iso(context))))))
    error = None
    try:
        assert run.backup_set_id is not None  # the set to render, fixed when recorded
        yield context.call_activity_with_retry(render_report_document, GRAPH_BATCH, asdict(
            RenderReport.for_run(ref, backup_set_id=run.backup_set_id,
                                 format=run.parameters["format"], at=now_iso(context),
                                 compare_to=run.parameters.get("compare_to"))))
    except Exception as exc:  # the activity exhausted its retries
        error = failed_run_error(exc)
    return (yield context.call_activity_with_retry(finish_run, BOOKKEEPING, asdict(
        FinishRun.for_run(ref, at=now_iso(context), error=error, empty_ok=True))))
