"""The report activity (DESIGN §14): one backup set, or two, rendered into the run's blob.

The whole report is one activity: it streams (``shared.reports.build``), so its memory does
not grow with the tenant, and a retried attempt simply writes the blob again (uncommitted
blocks of a failed attempt are discarded by the commit of the next).
"""

from __future__ import annotations

import logging
from dataclasses import asdict

from activities.blueprint import ActivityBlueprint
from activities.contracts.reports import RenderReport, ReportRendered
from shared.graph import get_graph_client
from shared.platform.storage import get_storage
from shared.reports.build import ReportJob, build_report

bp = ActivityBlueprint()
log = logging.getLogger(__name__)


@bp.activity_trigger(input_name="payload")
async def render_report_document(payload: dict) -> dict:
    step = RenderReport.from_payload(payload)
    built = await build_report(get_storage(), get_graph_client(), ReportJob(
        tenant_id=step.tenant_id, run_id=step.run_id, backup_set_id=step.backup_set_id,
        format=step.format, generated_at=step.at, compare_to=step.compare_to))
    log.info("run %s: %s report of %d objects, %d bytes, %d definitions read", step.run_id,
             step.format, built.objects, built.bytes, built.definitions_read)
    return asdict(ReportRendered(built.objects, built.bytes, built.definitions_read))
