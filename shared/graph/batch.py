"""JSON batching: up to 20 Graph calls in one ``POST {base}/{version}/$batch``.

The envelope goes through :meth:`GraphClient.request` (token, gate, retries of the envelope
itself). Inside a successful envelope each sub-response stands alone: it is translated by the
same error map as a single call's answer and retried by the same routine
(:class:`shared.graph.retry.Attempts`), so only the sub-requests that were throttled or failed
transiently are sent again — after their ``Retry-After`` (through the tenant gate) or a
jittered backoff, within the call's deadline. A sub-request that still fails comes back as a
:class:`BatchResult` with its error, so one bad item never sinks the other nineteen.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.graph.client import GraphClient
from shared.graph.error_map import map_http_error
from shared.graph.gate import MAX_BATCH
from shared.graph.retry import IDEMPOTENT_METHODS, Attempts
from shared.platform.errors import GraphBadResponse, GraphError


@dataclass(frozen=True)
class BatchRequest:
    """One sub-request; ``url`` is relative to the version (``/deviceManagement/...``)."""

    id: str
    url: str
    method: str = "GET"
    body: Any = None


@dataclass
class BatchResult:
    id: str
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    error: GraphError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


async def batch(client: GraphClient, tenant_id: str, requests: Sequence[BatchRequest], *,
                version: str = "v1.0", deadline_s: float | None = None
                ) -> dict[str, BatchResult]:
    """Run ``requests`` in envelopes of at most 20 — fewer while the tenant's gate is
    slowed down by throttling — with up to the tenant's concurrency of envelopes in flight.
    Returns one result per request id. Raises only when an envelope itself fails beyond
    its retries."""
    ids = [r.id for r in requests]
    if len(set(ids)) != len(ids):
        raise ValueError("batch request ids must be unique")
    run = _BatchRun(client, tenant_id, version, deadline_s)
    run.queue.extend(requests)
    workers = max(1, min(client.concurrency, -(-len(requests) // MAX_BATCH)))
    await asyncio.gather(*(run.worker() for _ in range(workers)))
    return run.results


class _BatchRun:
    def __init__(self, client: GraphClient, tenant_id: str, version: str,
                 deadline_s: float | None) -> None:
        self.client = client
        self.tenant_id = tenant_id
        self.version = version
        loop = asyncio.get_running_loop()
        self.deadline = loop.time() + (deadline_s if deadline_s is not None
                                       else client.policy.deadline_s)
        self.queue: deque[BatchRequest] = deque()
        self.results: dict[str, BatchResult] = {}
        self.attempts: dict[str, Attempts] = {}  # by request id, once it has failed
        self.busy = 0
        self.idle = asyncio.Event()

    async def worker(self) -> None:
        gate = self.client.gate(self.tenant_id)
        while True:
            if not self.queue:
                if self.busy == 0:
                    self.idle.set()
                    return
                self.idle.clear()
                await self.idle.wait()  # another worker may put retries back
                continue
            take = [self.queue.popleft() for _ in range(min(gate.batch_size, len(self.queue)))]
            self.busy += 1
            try:
                await self._send(take)
            finally:
                self.busy -= 1
                self.idle.set()

    async def _send(self, take: list[BatchRequest]) -> None:
        loop = asyncio.get_running_loop()
        pending = {r.id: r for r in take}
        envelope = {"requests": [_entry(r) for r in take]}
        idempotent = all(r.method.upper() in IDEMPOTENT_METHODS for r in take)
        response = await self.client.request(
            self.tenant_id, "POST", "$batch", version=self.version, json=envelope,
            idempotent=idempotent, deadline_s=max(0.001, self.deadline - loop.time()),
            units=len(take))
        failed: list[BatchResult] = []
        for sub in _responses(response.body, pending):
            result = self._result(pending[sub["id"]], sub)
            if result.error is None:
                self.results[result.id] = result
            else:
                self._attempts(pending[result.id]).failed(result.error, response.admitted_at)
                failed.append(result)
        sleep = 0.0
        retry: list[BatchRequest] = []
        for result in failed:  # every 429 of the answer has reached the gate by now
            assert result.error is not None
            try:
                sleep = max(sleep, self.attempts[result.id].retry_wait(result.error))
            except GraphError as final:
                result.error = final
                self.results[result.id] = result
            else:
                retry.append(pending[result.id])
        if sleep:
            await asyncio.sleep(sleep)
        self.queue.extend(retry)

    def _result(self, request: BatchRequest, sub: dict[str, Any]) -> BatchResult:
        """A sub-response as a result; a failed one carries its error from the error map."""
        status = int(sub.get("status") or 0)
        headers = {str(k): str(v) for k, v in (sub.get("headers") or {}).items()}
        body = sub.get("body")
        if 200 <= status < 300:
            return BatchResult(request.id, status, body, headers)
        error = map_http_error(status, body, headers, method=request.method.upper(),
                               path=f"/{self.version}{_shown(request)}",
                               secrets=self.client.secrets)
        return BatchResult(request.id, status, body, headers, error)

    def _attempts(self, request: BatchRequest) -> Attempts:
        attempts = self.attempts.get(request.id)
        if attempts is None:
            method = request.method.upper()
            attempts = self.attempts[request.id] = Attempts(
                self.client.policy, self.client.gate(self.tenant_id), self.deadline,
                method=method, idempotent=method in IDEMPOTENT_METHODS,
                what=f"{method} /{self.version}{_shown(request)} (in $batch)")
        return attempts


def _shown(request: BatchRequest) -> str:
    """The sub-request's path for logs and messages: never its query."""
    return "/" + request.url.split("?", 1)[0].lstrip("/")


def _entry(request: BatchRequest) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": request.id, "method": request.method.upper(),
                             "url": "/" + request.url.lstrip("/")}
    if request.body is not None:
        entry["body"] = request.body
        entry["headers"] = {"Content-Type": "application/json"}
    return entry


def _responses(body: Any, pending: dict[str, BatchRequest]) -> list[dict[str, Any]]:
    subs = body.get("responses") if isinstance(body, dict) else None
    if not isinstance(subs, list):
        raise GraphBadResponse("POST $batch: the answer has no 'responses' array")
    out = [s for s in subs if isinstance(s, dict) and s.get("id") in pending]
    if {s["id"] for s in out} != set(pending):
        raise GraphBadResponse("POST $batch: the answer does not cover every request")
    return out
