"""Tenant documentation and change reports (DESIGN §14).

``POST …/reports`` (reader) starts a ``report`` run for a backup set of the tenant, or for
what changed from ``compare_to`` to it; both sets must be the tenant's (404 otherwise). Its
``Location`` is the report itself: ``GET …/reports/{run_id}`` answers 202 with
``Retry-After`` while the run works, and the document once it has finished — so a client
(Logic Apps' HTTP action among them) that follows ``Location`` ends with the report. A run
that is not a report, a report run that failed, and a report retention has expired are 404.
"""

from __future__ import annotations

import azure.durable_functions as df
import azure.functions as func

from api.handler import ApiCall, handle
from api.models.requests import ReportStart
from api.models.responses import RunBody
from api.routes import Access, Reply, route
from api.runs import RETRY_AFTER_SECONDS, RUN_STARTED, run_response
from api.starts import job_request, start
from shared.backups.sets import BackupSetStore
from shared.platform.codes import ErrorCode
from shared.platform.errors import NotFound
from shared.reports.build import extension_of, media_type_of
from shared.reports.html import MEDIA_TYPE as HTML
from shared.reports.markdown import MEDIA_TYPE as MARKDOWN
from shared.reports.store import ReportStore
from shared.runs.jobs import report_job
from shared.runs.model import Run, RunStatus, RunType
from shared.runs.store import RunStore

bp = df.Blueprint()


def report_location(run: Run) -> str:
    return f"/api/tenants/{run.tenant_id}/reports/{run.run_id}"


@bp.durable_client_input(client_name="client")
@route(bp, "POST", "tenants/{tenant_id}/reports", summary="Start a report",
       description="Starts a report of a backup set (HTML or Markdown), or of what changed "
                   "from compare_to to it. Location is the report: poll it until it answers "
                   "200 with the document.",
       access=Access.READER, body=ReportStart, idempotency_key=True,
       responses={202: RUN_STARTED}, errors={404: (ErrorCode.NOT_FOUND,)})
async def start_report(req: func.HttpRequest, client: df.DurableOrchestrationClient
                       ) -> func.HttpResponse:
    async def endpoint(call: ApiCall) -> func.HttpResponse:
        body = call.body(ReportStart)
        sets = BackupSetStore(call.storage)
        for backup_set_id in filter(None, (body.backup_set_id, body.compare_to)):
            if await sets.get(call.tenant_id, backup_set_id) is None:
                raise NotFound(f"backup set {backup_set_id} is not a set of this tenant")
        job = report_job(call.tenant_id, body.backup_set_id, body.compare_to, body.format)
        run, reused = await start(call, client, job_request(call, job))
        response = run_response(run, reused=reused)
        response.headers["Location"] = report_location(run)
        return response

    return await handle(req, endpoint)


@route(bp, "GET", "tenants/{tenant_id}/reports/{run_id}", summary="Get a report",
       description="The report document once its run has finished (text/html or "
                   "text/markdown); 202 with Location and Retry-After while it runs.",
       access=Access.READER,
       responses={200: Reply("The report", text=(HTML.split(";")[0], MARKDOWN.split(";")[0])),
                  202: Reply("The report is being written; poll again after Retry-After",
                             RunBody, headers=("Location", "Retry-After"))},
       errors={404: (ErrorCode.NOT_FOUND,)})
async def get_report(req: func.HttpRequest) -> func.HttpResponse:
    async def endpoint(call: ApiCall) -> func.HttpResponse:
        run = await RunStore(call.storage).get(call.tenant_id, call.route("run_id").upper())
        assert run is not None  # the handler checked the run index
        if run.run_type != RunType.REPORT:
            raise NotFound("this run is not a report")
        if not run.terminal:
            response = run_response(run)
            response.headers["Location"] = report_location(run)
            response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
            return response
        if run.status != RunStatus.SUCCEEDED:
            raise NotFound("this report run did not finish its document; its run says why")
        fmt = run.parameters["format"]
        document = await ReportStore(call.storage).read(call.tenant_id, run.run_id,
                                                        extension_of(fmt))
        if document is None:
            raise NotFound("this report is no longer kept (retention)")
        media, _, _ = media_type_of(fmt).partition(";")
        return func.HttpResponse(document, status_code=200, mimetype=media, charset="utf-8")

    return await handle(req, endpoint)
