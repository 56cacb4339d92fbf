"""Drift checks and the tenant's baseline (DESIGN §10).

``POST …/drift-checks`` (operator) starts a ``drift_check`` run against the tenant's baseline
or the one named; 409 ``no_baseline`` when there is none. ``GET …/baseline`` (reader) shows
the set checks compare with; ``PUT`` (admin) pins one, ``DELETE`` (admin) drops the pin (the
newest succeeded backup of every type is the baseline again). A set that is not the
tenant's is a 404; a capture or pre-restore set a 400. Pin changes are audited.
"""

from __future__ import annotations

import azure.durable_functions as df
import azure.functions as func

from api.handler import ApiCall, handle, json_response
from api.models.requests import BaselinePut, DriftCheckStart
from api.models.responses import BaselineBody
from api.routes import Access, Reply, route
from api.runs import RUN_STARTED, run_response
from api.starts import job_request, start
from shared.drift.baseline import Baseline, BaselineStore, Pin, chosen_baseline, resolve_baseline
from shared.drift.start import drift_check_job
from shared.platform.codes import ErrorCode
from shared.platform.errors import NotFound
from shared.platform.keys import iso, stable_id, utc_now
from shared.tenants.audit import AuditEvent, AuditLog

bp = df.Blueprint()


@bp.durable_client_input(client_name="client")
@route(bp, "POST", "tenants/{tenant_id}/drift-checks", summary="Check a tenant for drift",
       description="Starts a drift check of the live tenant against its baseline (the pinned "
                   "set, else the newest full backup) or the set named.",
       access=Access.OPERATOR, body=DriftCheckStart, idempotency_key=True,
       responses={202: RUN_STARTED},
       errors={404: (ErrorCode.NOT_FOUND,), 409: (ErrorCode.NO_BASELINE,)})
async def start_drift_check(req: func.HttpRequest, client: df.DurableOrchestrationClient
                            ) -> func.HttpResponse:
    async def endpoint(call: ApiCall) -> func.HttpResponse:
        body = call.body(DriftCheckStart)
        job = await drift_check_job(call.storage, call.tenant_id, body.baseline_backup_set_id,
                                    body.policy_types)
        run, reused = await start(call, client, job_request(call, job))
        return run_response(run, reused=reused)

    return await handle(req, endpoint)


@route(bp, "GET", "tenants/{tenant_id}/baseline", summary="Get the baseline",
       description="The backup set drift checks compare the tenant with.",
       access=Access.READER, responses={200: Reply("The baseline", BaselineBody)},
       errors={409: (ErrorCode.NO_BASELINE,)})
async def get_baseline(req: func.HttpRequest) -> func.HttpResponse:
    async def endpoint(call: ApiCall) -> func.HttpResponse:
        return json_response(_body(await resolve_baseline(call.storage, call.tenant_id)))

    return await handle(req, endpoint)


@route(bp, "PUT", "tenants/{tenant_id}/baseline", summary="Pin the baseline",
       description="Pins a backup set of the tenant as the baseline drift checks compare with.",
       access=Access.ADMIN, body=BaselinePut,
       responses={200: Reply("The pinned baseline", BaselineBody)},
       errors={404: (ErrorCode.NOT_FOUND,), 409: (ErrorCode.NO_BASELINE,)})
async def put_baseline(req: func.HttpRequest) -> func.HttpResponse:
    async def endpoint(call: ApiCall) -> func.HttpResponse:
        body = call.body(BaselinePut)
        chosen = await chosen_baseline(call.storage, call.tenant_id, body.backup_set_id)
        pin = Pin(chosen.backup_set_id, call.principal.oid, iso(utc_now()))
        await BaselineStore(call.storage).pin(call.tenant_id, pin)
        await _audit(call, "baseline.pinned", {"backup_set_id": pin.backup_set_id})
        return json_response(_body(Baseline(chosen.backup_set, chosen.run, pin)))

    return await handle(req, endpoint)


@route(bp, "DELETE", "tenants/{tenant_id}/baseline", summary="Unpin the baseline",
       description="Drops the pin; the newest full backup is the baseline again.",
       access=Access.ADMIN, responses={204: Reply("The pin is dropped")},
       errors={404: (ErrorCode.NOT_FOUND,)})
async def delete_baseline(req: func.HttpRequest) -> func.HttpResponse:
    async def endpoint(call: ApiCall) -> func.HttpResponse:
        if not await BaselineStore(call.storage).unpin(call.tenant_id):
            raise NotFound("no baseline is pinned for this tenant")
        await _audit(call, "baseline.unpinned", {})
        return func.HttpResponse(status_code=204)

    return await handle(req, endpoint)


def _body(baseline: Baseline) -> BaselineBody:
    pin = baseline.pin
    return BaselineBody.model_validate({
        "tenant_id": baseline.backup_set.tenant_id, "backup_set_id": baseline.backup_set_id,
        "pinned": pin is not None, "pinned_by": pin and pin.pinned_by,
        "pinned_at": pin and pin.pinned_at, "since": baseline.since,
        "policy_types": baseline.policy_types, "backup_set": baseline.backup_set.to_api(),
    })


async def _audit(call: ApiCall, action: str, details: dict) -> None:
    now = utc_now()
    await AuditLog(call.storage).record(AuditEvent(
        event_id=stable_id(call.tenant_id, action, iso(now), call.principal.oid),
        tenant_id=call.tenant_id, actor=call.principal.oid, action=action,
        target=f"tenant:{call.tenant_id}", outcome="succeeded", created_at=iso(now),
        details=details,
    ), now)
