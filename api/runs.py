"""Runs and their per-item outcomes (DESIGN §3): the asynchronous request-reply pattern.

``GET …/runs/{run_id}`` answers 202 with ``Location`` and ``Retry-After`` while the run is
queued or running and 200 once it is terminal, which Logic Apps' HTTP action follows by itself.
"""

import azure.durable_functions as df
import azure.functions as func

from api.handler import ApiCall, handle, json_response, list_response
from shared.platform.errors import ValidationFailed
from shared.platform.paging import parse_top
from shared.runs.model import Run, RunType
from shared.runs.store import RunStore
from shared.tenants.store import Role

bp = df.Blueprint()
RETRY_AFTER_SECONDS = 2


@bp.route(route="tenants/{tenant_id}/runs", methods=["GET"])
async def list_runs(req: func.HttpRequest) -> func.HttpResponse:
    return await handle(req, _list_runs, role=Role.READER)


@bp.route(route="tenants/{tenant_id}/runs/{run_id}", methods=["GET"])
async def get_run(req: func.HttpRequest) -> func.HttpResponse:
    return await handle(req, _get_run, role=Role.READER)


@bp.route(route="tenants/{tenant_id}/runs/{run_id}/items", methods=["GET"])
async def list_run_items(req: func.HttpRequest) -> func.HttpResponse:
    return await handle(req, _list_items, role=Role.READER)


def run_response(run: Run, *, status: int | None = None, reused: bool | None = None
                 ) -> func.HttpResponse:
    """A run, with the polling headers while it is in flight (also used by job starts)."""
    body = run.to_api()
    if reused is not None:
        body["reused"] = reused
    if status is None:
        status = 200 if run.terminal else 202
    headers = {"Location": body["links"]["self"]}
    if not run.terminal:
        headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return json_response(body, status=status, headers=headers)


async def _list_runs(call: ApiCall) -> func.HttpResponse:
    params = call.req.params
    run_type = params.get("run_type") or None
    if run_type and run_type not in {t.value for t in RunType}:
        raise ValidationFailed(f"run_type must be one of {', '.join(t for t in RunType)}")
    page = await RunStore(call.storage).list(
        call.tenant_id,
        top=parse_top(params.get("top")),
        continuation=params.get("continuation"),
        run_type=run_type,
        status=params.get("status") or None,
    )
    return list_response([run.to_api() for run in page.value], page.continuation)


async def _get_run(call: ApiCall) -> func.HttpResponse:
    run = await RunStore(call.storage).get(call.tenant_id, call.route("run_id").upper())
    assert run is not None  # the handler checked the run index
    return run_response(run)


async def _list_items(call: ApiCall) -> func.HttpResponse:
    store = RunStore(call.storage)
    run_id = call.route("run_id").upper()
    run = await store.get(call.tenant_id, run_id)
    assert run is not None
    page = await store.list_items(
        run_id, top=parse_top(call.req.params.get("top")),
        continuation=call.req.params.get("continuation"),
    )
    include_diff = run.run_type == RunType.RESTORE
    return list_response([item.to_api(include_diff) for item in page.value], page.continuation)

