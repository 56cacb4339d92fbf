"""The one Graph HTTP client (STYLE rule 9): retries, throttling gates, paging, tokens.

One :class:`GraphClient` wraps a few ``httpx.AsyncClient`` connection pools (connection
reuse, explicit timeouts; each call takes the pool with the fewest calls in flight, since
httpcore's bookkeeping per request grows with the square of a pool's connections and
waiting requests) and belongs to the event loop that built it: :func:`get_graph_client`
returns the current loop's client, :func:`close_graph_client` closes it.
:func:`build_graph_client` is the only constructor and the transport seam (``transport=``).

Per tenant, a semaphore bounds concurrent calls (one large tenant cannot take every
connection) and a *gate* holds that tenant's calls back until a ``Retry-After`` has passed, so
a throttled tenant waits as a whole instead of each call discovering the 429 on its own —
while other tenants' calls go straight through.
"""

from __future__ import annotations

import asyncio
import contextlib
import json as jsonlib
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from shared.graph.error_map import map_http_error, map_transport_error
from shared.graph.gate import MAX_BATCH, GateDeadline, RequestBudget, TenantGate
from shared.graph.retry import IDEMPOTENT_METHODS, Attempts, RetryPolicy
from shared.graph.secrets import scrubbed
from shared.graph.tokens import TokenSource, check_tenant_id, get_token_provider
from shared.platform.config import GraphBudget, Settings, get_settings
from shared.platform.errors import (
    AuthFailed,
    GraphBadResponse,
    GraphDeadlineExceeded,
    GraphError,
    GraphThrottled,
)
from shared.platform.loop_local import LoopLocal

log = logging.getLogger("shared.graph")

VERSIONS = ("v1.0", "beta")
DEFAULT_CONCURRENCY_PER_TENANT = 8
# Connection pools of one client: httpcore's pool does work per request that grows with the
# square of its connections and waiting requests (a fifth of the runtime's CPU with one pool
# of 100 at 20 tenants × 8 calls in flight).
POOLS = 8


@dataclass
class GraphResponse:
    status: int
    body: Any
    request_id: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    admitted_at: float = 0.0  # loop time the call was let through its tenant's gate


@dataclass
class _Answer:
    """What one attempt got: a response (or none), its translated error, the token used."""

    response: httpx.Response | None = None
    error: GraphError | None = None
    body: Any = None
    token: str | None = None
    sent: bool = True  # False: the request never left us (resending is safe)

    @property
    def status(self) -> int | None:
        return self.response.status_code if self.response is not None else None


@dataclass
class _Pool:
    http: httpx.AsyncClient
    in_flight: int = 0


class GraphClient:
    """Graph calls for many tenants over a few connection pools. Build it with
    :func:`build_graph_client`; close it with :meth:`aclose` (or ``async with``)."""

    def __init__(self, *, base_url: str, tokens: TokenSource,
                 http: httpx.AsyncClient | Sequence[httpx.AsyncClient], policy: RetryPolicy,
                 concurrency_per_tenant: int,
                 budget: GraphBudget | None = None) -> None:
        split = urlsplit(base_url.rstrip("/"))
        if split.scheme != "https" or not split.netloc:
            raise ValueError("the Graph base URL must be https://host[:port]")
        self.base_url = base_url.rstrip("/")
        self._origin = (split.scheme, split.netloc.lower())
        self._tokens = tokens
        self._pools = [_Pool(c) for c in ([http] if isinstance(http, httpx.AsyncClient)
                                           else http)]
        if not self._pools:
            raise ValueError("a Graph client needs at least one connection pool")
        self.policy = policy
        self._concurrency = max(1, concurrency_per_tenant)
        self.budget = budget  # requests and writes per window per tenant; None: unbounded
        self._gates: dict[str, TenantGate] = {}

    async def __aenter__(self) -> GraphClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        async with contextlib.AsyncExitStack() as stack:  # every pool, even if one fails
            for pool in self._pools:
                stack.push_async_callback(pool.http.aclose)

    @property
    def closed(self) -> bool:
        return all(pool.http.is_closed for pool in self._pools)

    @property
    def secrets(self) -> tuple[str, ...]:
        """What Graph's error text is scrubbed of: the app's credentials, and the secret
        values of the document being written (:func:`shared.graph.secrets.scrubbing`)."""
        return (*self._tokens.secrets, *scrubbed())

    # ---- URLs ----------------------------------------------------------------------------
    def url(self, version: str, path: str) -> str:
        """``{base}/{version}/{path}``; an absolute URL must be on the Graph origin."""
        if path.startswith(("https://", "http://")):
            return self.checked_link(path)
        if version not in VERSIONS:
            raise ValueError(f"unknown Graph version {version!r}")
        return f"{self.base_url}/{version}/{path.lstrip('/')}"

    def checked_link(self, link: Any) -> str:
        """A server-provided link (``@odata.nextLink``) we are willing to follow."""
        if not isinstance(link, str):
            raise GraphBadResponse("Graph returned a nextLink that is not a string")
        split = urlsplit(link)
        version = split.path.lstrip("/").split("/", 1)[0]
        if (split.scheme, split.netloc.lower()) != self._origin or version not in VERSIONS:
            raise GraphBadResponse("Graph returned a nextLink off the Graph origin; not followed")
        return link

    def relative(self, link: str) -> str:
        """A checked absolute link as a ``$batch`` URL: path after the version, plus query."""
        split = urlsplit(self.checked_link(link))
        rest = split.path.lstrip("/").split("/", 1)[1] if "/" in split.path.lstrip("/") else ""
        return f"/{rest}" + (f"?{split.query}" if split.query else "")

    # ---- one call --------------------------------------------------------------------------
    async def request(self, tenant_id: str, method: str, path: str, *, version: str = "v1.0",
                      params: dict[str, str] | None = None, json: Any = None,
                      idempotent: bool | None = None, deadline_s: float | None = None,
                      units: int = 1) -> GraphResponse:
        """Send one Graph call with retries. ``path`` is relative to ``{base}/{version}`` or
        a checked absolute link; ``units`` is how many Graph requests the call carries (the
        entries of a ``$batch``). Raises a :class:`GraphError` subclass on failure."""
        check_tenant_id(tenant_id)
        method = method.upper()
        url = self.url(version, path)
        shown = urlsplit(url).path  # logged and put in messages: never the query
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (deadline_s if deadline_s is not None else
                                  self.policy.deadline_s)
        gate = self.gate(tenant_id)
        attempts = Attempts(self.policy, gate, deadline, method=method,
                            idempotent=(method in IDEMPOTENT_METHODS if idempotent is None
                                        else idempotent), what=f"{method} {shown}")
        is_write = method != "GET" and not path.endswith("$batch")
        refreshed = False
        while True:
            try:
                if is_write:
                    await gate.writes.turn()
                admitted_at = await gate.enter(units, deadline, writes=1 if is_write else 0)
            except GateDeadline:
                raise GraphDeadlineExceeded(
                    f"{method} {shown}: tenant throttled beyond the call's deadline") from None
            try:  # the gate is left however the attempt ends, after it has seen the answer
                answer = await self._attempt(tenant_id, method, url, shown, params, json,
                                             deadline)
                error = answer.error
                if error is None:
                    assert answer.response is not None
                    gate.succeeded()
                    if is_write:
                        gate.writes.accepted()
                    request_id = answer.response.headers.get("request-id")
                    log.debug("graph %s %s -> %s request-id=%s attempt=%d", method, shown,
                              answer.response.status_code, request_id, attempts.count + 1)
                    return GraphResponse(answer.response.status_code, answer.body,
                                         request_id, dict(answer.response.headers),
                                         admitted_at)
                if answer.status == 401 and not refreshed:
                    refreshed = True  # the token was revoked or expired early: one fresh try
                    self._tokens.invalidate(tenant_id, answer.token or "")
                    log.info("graph %s %s -> 401 request-id=%s: refreshing the token once",
                             method, shown, error.request_id)
                    continue
                if is_write and isinstance(error, GraphThrottled):
                    gate.writes.throttled()
                attempts.failed(error, admitted_at)
            finally:
                await gate.leave(units)
            wait = attempts.retry_wait(error, sent=answer.sent)
            if wait:
                await asyncio.sleep(wait)

    async def _attempt(self, tenant_id: str, method: str, url: str, shown: str,
                       params: dict[str, str] | None, json: Any, deadline: float) -> _Answer:
        """One HTTP round trip; failures come back translated, except a reached deadline
        and a failed authentication, which end the call."""
        answer = _Answer()
        try:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise GraphDeadlineExceeded(f"{method} {shown}: deadline reached")
            answer.token = await self._tokens.get_token(tenant_id)
            timeout = httpx.Timeout(min(self.policy.attempt_timeout_s, remaining),
                                    connect=min(self.policy.connect_timeout_s, remaining))
            pool = min(self._pools, key=lambda p: p.in_flight)
            pool.in_flight += 1
            try:
                answer.response = await pool.http.request(
                    method, url, params=params, json=json, timeout=timeout,
                    headers={"Authorization": f"Bearer {answer.token}"})
            finally:
                pool.in_flight -= 1
            answer.error, answer.body = self._outcome(answer.response, method, shown,
                                                      answer.token)
        except (GraphDeadlineExceeded, AuthFailed):
            raise
        except GraphError as exc:  # token acquisition failed transiently: nothing was sent
            answer.error, answer.sent = exc, False
        except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError,
                httpx.CookieConflict) as exc:
            answer.error, answer.sent = map_transport_error(exc, method, shown)
            answer.error.__cause__ = exc
        return answer

    def _outcome(self, response: httpx.Response, method: str, shown: str,
                 token: str) -> tuple[GraphError | None, Any]:
        status = response.status_code
        body: Any = None
        parsed = True
        if response.content:
            try:
                body = jsonlib.loads(response.content)
            except ValueError:
                parsed = False
        if 200 <= status < 300:
            if not parsed:
                return GraphBadResponse(f"{method} {shown}: HTTP {status} with an unparseable "
                                        "body", status=status,
                                        request_id=response.headers.get("request-id")), None
            return None, body
        return map_http_error(status, body, response.headers, method=method, path=shown,
                              secrets=(*self.secrets, token)), None

    def gate(self, tenant_id: str) -> TenantGate:
        """The tenant's admission gate (per client, so per event loop)."""
        gate = self._gates.get(tenant_id)
        if gate is None:
            budget = self.budget
            gate = self._gates[tenant_id] = TenantGate(
                self._concurrency, self._concurrency * MAX_BATCH,
                RequestBudget(budget.requests, budget.window_s) if budget else None,
                RequestBudget(budget.writes, budget.window_s) if budget else None)
        return gate

    def throttle_wait(self, tenant_id: str) -> float:
        """Seconds until the tenant's gate reopens (0 when open)."""
        gate = self._gates.get(tenant_id)
        if gate is None:
            return 0.0
        return max(0.0, gate.resume_at - asyncio.get_running_loop().time())

    @property
    def concurrency(self) -> int:
        return self._concurrency

    # ---- collections ---------------------------------------------------------------------
    async def get_json(self, tenant_id: str, path: str, *, version: str = "v1.0",
                       params: dict[str, str] | None = None) -> Any:
        return (await self.request(tenant_id, "GET", path, version=version,
                                   params=params)).body

    async def get_all(self, tenant_id: str, path: str, *, version: str = "v1.0",
                      params: dict[str, str] | None = None) -> list[dict[str, Any]]:
        """Every item of a collection, following ``@odata.nextLink`` on the Graph origin."""
        return [item async for page in self.iter_pages(tenant_id, path, version=version,
                                                       params=params) for item in page]

    async def iter_pages(self, tenant_id: str, path: str, *, version: str = "v1.0",
                         params: dict[str, str] | None = None
                         ) -> AsyncIterator[list[dict[str, Any]]]:
        """A collection page by page, following ``@odata.nextLink`` on the Graph origin."""
        next_url: str | None = path
        while next_url:
            body = await self.get_json(tenant_id, next_url, version=version, params=params)
            params = None  # a nextLink carries its own query
            if not isinstance(body, dict) or not isinstance(body.get("value"), list):
                raise GraphBadResponse(f"GET {urlsplit(self.url(version, path)).path}: "
                                       "not a collection")
            link = body.get("@odata.nextLink")
            next_url = self.checked_link(link) if link else None
            yield [v for v in body["value"] if isinstance(v, dict)]


def build_graph_client(settings: Settings | None = None, *,
                       transport: httpx.AsyncBaseTransport | None = None,
                       tokens: TokenSource | None = None, policy: RetryPolicy | None = None,
                       concurrency_per_tenant: int = DEFAULT_CONCURRENCY_PER_TENANT,
                       max_connections: int = 100, pools: int = POOLS) -> GraphClient:
    """The only way to make a Graph client: ``max_connections`` over ``pools`` pools (one
    with ``transport``, the seam tests may use). Trust comes from ``SSL_CERT_FILE`` (httpx
    reads it when a client is built)."""
    settings = settings or get_settings()
    policy = policy or RetryPolicy()
    pools = 1 if transport is not None else max(1, min(pools, max_connections))
    sizes = [max_connections // pools + (n < max_connections % pools) for n in range(pools)]
    # One TLS context for every pool: building one loads the CA bundle (SSL_CERT_FILE).
    verify = httpx.create_ssl_context() if transport is None else True
    http = [httpx.AsyncClient(
        transport=transport, verify=verify,
        timeout=httpx.Timeout(policy.attempt_timeout_s, connect=policy.connect_timeout_s),
        limits=httpx.Limits(max_connections=size, max_keepalive_connections=size),
        headers={"Accept": "application/json"},
        follow_redirects=False,
    ) for size in sizes]
    return GraphClient(base_url=settings.graph_base_url,
                       tokens=tokens or get_token_provider(settings), http=http,
                       policy=policy, concurrency_per_tenant=concurrency_per_tenant,
                       budget=settings.graph_budget)


_loop_clients: LoopLocal[GraphClient] = LoopLocal(build_graph_client)


def get_graph_client() -> GraphClient:
    """The running event loop's client, built from :func:`get_settings` on first use."""
    return _loop_clients.get()


async def close_graph_client() -> None:
    """Close the running loop's client (the next :func:`get_graph_client` builds a new one)."""
    client = _loop_clients.pop()
    if client is not None:
        await client.aclose()
