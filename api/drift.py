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
from api.runs import run_response
from api.starts import job_request, start
from shared.drift.baseline import Baseline, BaselineStore, Pin, chosen_baseline, resolve_baseline
from shared.drift.start import drift_check_job
from shared.platform.errors import NotFound
from shared.platform.keys import iso, stable_id, utc_now
from shared.tenants.audit import AuditEvent, AuditLog
from shared.tenants.store import Role

bp = df.Blueprint()


@bp.route(route="tenants/{tenant_id}/drift-checks", methods=["POST"])
@bp.durable_client_input(client_name="client")
async def start_drift_check(req: func.HttpRequest, client: df.DurableOrchestrationClient
                            ) -> func.HttpResponse:
    async def endpoint(call: ApiCall) -> func.HttpResponse:
        body = call.body(DriftCheckStart)
        job = await drift_check_job(call.storage, call.tenant_id, body.baseline_backup_set_id,
                                    body.policy_types)
        run, reused = await start(call, client, job_request(call, job))
        return run_response(run, reused=reused)

    return await handle(req, endpoint, role=Role.OPERATOR)


@bp.route(route="tenants/{tenant_id}/baseline", methods=["GET"])
async def get_baseline(req: func.HttpRequest) -> func.HttpResponse:
    async def endpoint(call: ApiCall) -> func.HttpResponse:
        return json_response(_body(await resolve_baseline(call.storage, call.tenant_id)))

    return await handle(req, endpoint, role=Role.READER)


@bp.route(route="tenants/{tenant_id}/baseline", methods=["PUT"])
async def put_baseline(req: func.HttpRequest) -> func.HttpResponse:
    async def endpoint(call: ApiCall) -> func.HttpResponse:
        body = call.body(BaselinePut)
        chosen = await chosen_baseline(call.storage, call.tenant_id, body.backup_set_id)
        pin = Pin(chosen.backup_set_id, call.principal.oid, iso(utc_now()))
        await BaselineStore(call.storage).pin(call.tenant_id, pin)
        await _audit(call, "baseline.pinned", {"backup_set_id": pin.backup_set_id})
        return json_response(_body(Baseline(chosen.backup_set, chosen.run, pin)))

    return await handle(req, endpoint, role=Role.ADMIN)


@bp.route(route="tenants/{tenant_id}/baseline", methods=["DELETE"])
async def delete_baseline(req: func.HttpRequest) -> func.HttpResponse:
    async def endpoint(call: ApiCall) -> func.HttpResponse:
        if not await BaselineStore(call.storage).unpin(call.tenant_id):
            raise NotFound("no baseline is pinned for this tenant")
        await _audit(call, "baseline.unpinned", {})
        return func.HttpResponse(status_code=204)

    return await handle(req, endpoint, role=Role.ADMIN)


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
