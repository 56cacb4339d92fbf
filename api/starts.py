"""Starting jobs from HTTP: the client's key, the Durable scheduler (DESIGN §4).

The start endpoints build their job with ``shared.runs.jobs``, turn it into a request here
(:func:`job_request`), start it (:func:`start`) and answer with ``api.runs.run_response``.
"""

from __future__ import annotations

import azure.durable_functions as df

from api.handler import ApiCall
from api.routes import IDEMPOTENCY_KEY_RE
from shared.platform.errors import ValidationFailed
from shared.runs.jobs import Job, JobRequest
from shared.runs.model import Run
from shared.runs.starter import start_job


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


def job_request(call: ApiCall, job: Job) -> JobRequest:
    """``job`` asked for by the caller, under the client's ``Idempotency-Key`` if it sent
    one (else the job's derived key), fingerprinted with the path as sent."""
    header = call.req.headers.get("Idempotency-Key")
    if header is not None and not IDEMPOTENCY_KEY_RE.fullmatch(header):
        raise ValidationFailed("Idempotency-Key must be 1-200 visible ASCII characters")
    path = call.req.url.split("?", 1)[0]
    path = path[path.index("/api/"):] if "/api/" in path else path
    return job.request(call.principal.oid, client_key=header, path=path)


async def start(call: ApiCall, client: df.DurableOrchestrationClient,
                request: JobRequest) -> tuple[Run, bool]:
    """Create or reuse the request's run and schedule it: ``(run, reused)``."""
    return await start_job(request, storage=call.storage, scheduler=DurableScheduler(client),
                           tenant=call.tenant)
