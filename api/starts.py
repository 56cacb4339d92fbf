"""Starting jobs from HTTP: idempotency keys, the Durable scheduler, the 202 answer (DESIGN §4)."""

from __future__ import annotations

import re

import azure.durable_functions as df
import azure.functions as func

from api.handler import ApiCall
from api.runs import run_response
from shared.platform.errors import ValidationFailed
from shared.runs.idempotency import fingerprint
from shared.runs.starter import JobRequest, start_job

_CLIENT_KEY_RE = re.compile(r"^[\x21-\x7e]{1,200}$")


class DurableScheduler:
    """The job starter's view of the Durable client."""

    def __init__(self, client: df.DurableOrchestrationClient) -> None:
        self._client = client

    async def schedule(self, orchestrator: str, instance_id: str, payload: dict) -> None:
        await self._client.start_new(orchestrator, instance_id, payload)

    async def status(self, instance_id: str) -> str | None:
        found = await self._client.get_status(instance_id)
        if not (found and found.runtime_status):
            return None
        return found.runtime_status.name


def job_key(call: ApiCall, derived_key: str) -> tuple[str, bool]:
    """The run's idempotency key: the client's ``Idempotency-Key`` header if sent, else the
    key derived from what the request asks for."""
    header = call.req.headers.get("Idempotency-Key")
    if header is None:
        return derived_key, False
    if not _CLIENT_KEY_RE.match(header):
        raise ValidationFailed("Idempotency-Key must be 1-200 visible ASCII characters")
    return f"{call.tenant_id}|client|{header}", True


async def start(
    call: ApiCall,
    client: df.DurableOrchestrationClient,
    *,
    run_type: str,
    orchestrator: str,
    derived_key: str,
    canonical_body: dict,
    backup_set_id: str | None = None,
    produces_backup_set: bool = False,
    dry_run: bool = False,
    parameters: dict | None = None,
) -> func.HttpResponse:
    key, client_key = job_key(call, derived_key)
    path = call.req.url.split("?", 1)[0]
    path = path[path.index("/api/"):] if "/api/" in path else path
    request = JobRequest(
        tenant_id=call.tenant_id,
        run_type=run_type,
        orchestrator=orchestrator,
        key=key,
        fingerprint=fingerprint(call.req.method, path, canonical_body),
        client_key=client_key,
        requested_by=call.principal.oid,
        dry_run=dry_run,
        backup_set_id=backup_set_id,
        produces_backup_set=produces_backup_set,
        parameters=parameters or {},
    )
    run, reused = await start_job(request, storage=call.storage, scheduler=DurableScheduler(client))
    return run_response(run, status=202, reused=reused)
