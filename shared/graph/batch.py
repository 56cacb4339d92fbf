"""JSON batching: up to 20 Graph calls in one ``POST {base}/{version}/$batch``.

The envelope goes through :meth:`GraphClient.request` (token, gate, retries of the envelope
itself). Inside a successful envelope each sub-response stands alone: sub-requests that were
throttled or failed transiently are sent again — only they — after the longest
``Retry-After`` among them (capped) or a jittered backoff, within the call's deadline. A
sub-request that still fails comes back as a :class:`BatchResult` with its translated error,
so one bad item never sinks the other nineteen.
"""

from __future__ import annotations

import asyncio
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.graph.client import GraphClient
from shared.graph.error_map import map_http_error
from shared.graph.gate import MAX_BATCH
from shared.graph.retry import IDEMPOTENT_METHODS
from shared.platform.errors import GraphBadResponse, GraphDeadlineExceeded, GraphError


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
        self.transient: Counter[str] = Counter()
        self.throttled: Counter[str] = Counter()
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
        policy = self.client.policy
        pending = {r.id: r for r in take}
        envelope = {"requests": [_entry(r) for r in take]}
        idempotent = all(r.method.upper() in IDEMPOTENT_METHODS for r in take)
        response = await self.client.request(
            self.tenant_id, "POST", "$batch", version=self.version, json=envelope,
            idempotent=idempotent, deadline_s=max(0.001, self.deadline - loop.time()),
            units=len(take))
        retry: list[tuple[BatchRequest, GraphError, float]] = []
        for sub in _responses(response.body, pending):
            request = pending[sub["id"]]
            status = int(sub.get("status") or 0)
            headers = {str(k): str(v) for k, v in (sub.get("headers") or {}).items()}
            body = sub.get("body")
            if 200 <= status < 300:
                self.results[request.id] = BatchResult(request.id, status, body, headers)
                continue
            shown = "/" + request.url.split("?", 1)[0].lstrip("/")
            error = map_http_error(status, body, headers, method=request.method.upper(),
                                   path=f"/{self.version}{shown}", secrets=self.client.secrets)
            counter = self.throttled if status == 429 else self.transient
            counter[request.id] += 1
            may_retry = policy.retryable(
                error, method=request.method,
                idempotent=request.method.upper() in IDEMPOTENT_METHODS)
            if may_retry and policy.attempts_left(error, self.transient[request.id],
                                                  self.throttled[request.id]):
                retry.append((request, error, policy.delay(error, counter[request.id])))
            else:
                self.results[request.id] = BatchResult(request.id, status, body, headers, error)
        if not retry:
            return
        throttled = [d for _, e, d in retry if e.status == 429]
        if throttled:  # the gate holds the whole tenant back; no sleeping here
            self.client.gate(self.tenant_id).throttled(response.admitted_at, max(throttled))
        delay = max(d for _, e, d in retry if e.status != 429) if len(throttled) < len(retry) \
            else 0.0
        wait = max(delay, self.client.throttle_wait(self.tenant_id))
        if loop.time() + wait > self.deadline:
            for request, error, _ in retry:
                self.results[request.id] = BatchResult(
                    request.id, error.status or 0, None, {}, GraphDeadlineExceeded(
                        f"{error.message[:200]} — retries would pass the call's deadline",
                        status=error.status, request_id=error.request_id))
            return
        if delay:
            await asyncio.sleep(delay)
        self.queue.extend(r for r, _, _ in retry)


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
