"""Runs and their per-item outcomes (DESIGN §3): the asynchronous request-reply pattern.

``GET …/runs/{run_id}`` answers 202 with ``Location`` and ``Retry-After`` while the run is
queued or running and 200 once it is terminal, which Logic Apps' HTTP action follows by itself.
"""

import azure.durable_functions as df
import azure.functions as func

from api.handler import ApiCall, handle, json_response
from api.models.requests import ListQuery, RunListQuery
from api.models.responses import ListBody, RunBody, RunItemBody, StartedRun
from api.routes import Access, Reply, route
from shared.runs.model import Run, RunType
from shared.runs.store import RunStore

bp = df.Blueprint()
RETRY_AFTER_SECONDS = 2


# The answer of every start (snapshot, backup, restore): DESIGN §3's asynchronous pattern.
RUN_STARTED = Reply(
    "The run this start created, or the earlier run it reused (reused: true). Poll Location "
    "until it answers 200", StartedRun, headers=("Location",), optional_headers=("Retry-After",))


@route(bp, "GET", "tenants/{tenant_id}/runs", summary="List runs",
       description="The tenant's runs, newest first, filtered by type and status.",
       access=Access.READER, query=RunListQuery,
       responses={200: Reply("The runs", ListBody[RunBody])})
async def list_runs(req: func.HttpRequest) -> func.HttpResponse:
    return await handle(req, _list_runs)


@route(bp, "GET", "tenants/{tenant_id}/runs/{run_id}", summary="Get a run",
       description="The run: 202 with Location and Retry-After while it is queued or running, "
                   "200 once it is terminal.",
       access=Access.READER,
       responses={200: Reply("The run has finished", RunBody, optional_headers=("Location",)),
                  202: Reply("The run is queued or running; poll again after Retry-After",
                             RunBody, headers=("Location", "Retry-After"))})
async def get_run(req: func.HttpRequest) -> func.HttpResponse:
    return await handle(req, _get_run)


@route(bp, "GET", "tenants/{tenant_id}/runs/{run_id}/items", summary="List a run's items",
       description="Per-item outcomes of the run; restores include each item's field diff.",
       access=Access.READER, query=ListQuery,
       responses={200: Reply("The items", ListBody[RunItemBody])})
async def list_run_items(req: func.HttpRequest) -> func.HttpResponse:
    return await handle(req, _list_items)


def run_response(run: Run, *, reused: bool | None = None) -> func.HttpResponse:
    """A run, with the polling headers while it is in flight. A start's answer (``reused``
    given) is always 202; a read is 202 while the run is in flight and 200 once terminal."""
    if reused is None:
        body: RunBody = RunBody.of(run)
        status = 200 if run.terminal else 202
    else:
        body, status = StartedRun.started(run, reused), 202
    headers = {"Location": body.links.self}
    if not run.terminal:
        headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return json_response(body, status=status, headers=headers)


async def _list_runs(call: ApiCall) -> func.HttpResponse:
    query = call.query(RunListQuery)
    page = await RunStore(call.storage).list(
        call.tenant_id, top=query.top, continuation=query.continuation,
        run_type=query.run_type, status=query.status,
    )
    return json_response(ListBody[RunBody].of(map(RunBody.of, page.value), page.continuation))


async def _get_run(call: ApiCall) -> func.HttpResponse:
    run = await RunStore(call.storage).get(call.tenant_id, call.route("run_id").upper())
    assert run is not None  # the handler checked the run index
    return run_response(run)


async def _list_items(call: ApiCall) -> func.HttpResponse:
    store = RunStore(call.storage)
    run_id = call.route("run_id").upper()
    run = await store.get(call.tenant_id, run_id)
    assert run is not None
    query = call.query()
    page = await store.list_items(run_id, top=query.top, continuation=query.continuation)
    drift = run.run_type == RunType.DRIFT_CHECK
    include_diff = drift or run.run_type == RunType.RESTORE
    return json_response(ListBody[RunItemBody].of(
        [RunItemBody.of(item, include_diff, drift) for item in page.value], page.continuation))
