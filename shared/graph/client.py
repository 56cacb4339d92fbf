"""The one Graph HTTP client (STYLE rule 9): retries, throttling gates, paging, tokens.

One :class:`GraphClient` wraps one ``httpx.AsyncClient`` (connection reuse, explicit
timeouts) and belongs to the event loop that built it: :func:`get_graph_client` returns the
current loop's client, :func:`close_graph_client` closes it. :func:`build_graph_client` is the
only constructor and the transport seam (``transport=``).

Per tenant, a semaphore bounds concurrent calls (one large tenant cannot take every
connection) and a *gate* holds that tenant's calls back until a ``Retry-After`` has passed, so
a throttled tenant waits as a whole instead of each call discovering the 429 on its own —
while other tenants' calls go straight through.
"""

from __future__ import annotations

import asyncio
import json as jsonlib
import logging
import weakref
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from shared.graph.error_map import map_http_error, map_transport_error
from shared.graph.gate import MAX_BATCH, GateDeadline, TenantGate
from shared.graph.retry import IDEMPOTENT_METHODS, RetryPolicy
from shared.graph.tokens import TokenSource, check_tenant_id, get_token_provider
from shared.platform.config import Settings, get_settings
from shared.platform.errors import (
    AuthFailed,
    GraphBadResponse,
    GraphDeadlineExceeded,
    GraphError,
    GraphThrottled,
)

log = logging.getLogger("shared.graph")

VERSIONS = ("v1.0", "beta")
DEFAULT_CONCURRENCY_PER_TENANT = 8


@dataclass
class GraphResponse:
    status: int
    body: Any
    request_id: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    admitted_at: float = 0.0  # loop time the call was let through its tenant's gate


class GraphClient:
    """Graph calls for many tenants over one connection pool. Build it with
    :func:`build_graph_client`; close it with :meth:`aclose` (or ``async with``)."""

    def __init__(self, *, base_url: str, tokens: TokenSource, http: httpx.AsyncClient,
                 policy: RetryPolicy, concurrency_per_tenant: int) -> None:
        split = urlsplit(base_url.rstrip("/"))
        if split.scheme != "https" or not split.netloc:
            raise ValueError("the Graph base URL must be https://host[:port]")
        self.base_url = base_url.rstrip("/")
        self._origin = (split.scheme, split.netloc.lower())
        self._tokens = tokens
        self._http = http
        self.policy = policy
        self._concurrency = max(1, concurrency_per_tenant)
        self._gates: dict[str, TenantGate] = {}

    async def __aenter__(self) -> GraphClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    @property
    def secrets(self) -> tuple[str, ...]:
        return self._tokens.secrets

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
        idempotent = method in IDEMPOTENT_METHODS if idempotent is None else idempotent
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (deadline_s if deadline_s is not None else
                                  self.policy.deadline_s)
        gate = self.gate(tenant_id)
        is_write = method != "GET" and not path.endswith("$batch")
        transient = throttled = 0
        refreshed = False
        while True:
            try:
                if is_write:
                    await gate.writes.turn()
                admitted_at = await gate.enter(units, deadline)
            except GateDeadline:
                raise GraphDeadlineExceeded(
                    f"{method} {shown}: tenant throttled beyond the call's deadline") from None
            token = None
            sent = True
            response: httpx.Response | None = None
            try:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise GraphDeadlineExceeded(f"{method} {shown}: deadline reached")
                token = await self._tokens.get_token(tenant_id)
                timeout = httpx.Timeout(min(self.policy.attempt_timeout_s, remaining),
                                        connect=min(self.policy.connect_timeout_s, remaining))
                response = await self._http.request(
                    method, url, params=params, json=json, timeout=timeout,
                    headers={"Authorization": f"Bearer {token}"})
                error, body = self._outcome(response, method, shown, token)
            except GraphError as exc:  # token acquisition, deadline
                if isinstance(exc, (GraphDeadlineExceeded, AuthFailed)):
                    await gate.leave(units)
                    raise
                error, body, sent = exc, None, False
            except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError,
                    httpx.CookieConflict) as exc:
                error, sent = map_transport_error(exc, method, shown)
                error.__cause__ = exc
                body = None
            except BaseException:
                await gate.leave(units)
                raise
            if error is None:
                gate.succeeded()
                if is_write:
                    gate.writes.accepted()
            elif error.status == 429:
                gate.throttled(admitted_at, self.policy.delay(error, throttled + 1))
                if is_write:
                    gate.writes.throttled()
            await gate.leave(units)
            if error is None:
                assert response is not None
                request_id = response.headers.get("request-id")
                log.debug("graph %s %s -> %s request-id=%s attempt=%d", method, shown,
                          response.status_code, request_id, transient + throttled + 1)
                return GraphResponse(response.status_code, body, request_id,
                                     dict(response.headers), admitted_at)
            if response is not None and response.status_code == 401 and not refreshed:
                refreshed = True  # the token was revoked or expired early: one fresh try
                self._tokens.invalidate(tenant_id, token or "")
                log.info("graph %s %s -> 401 request-id=%s: refreshing the token once",
                         method, shown, error.request_id)
                continue
            if isinstance(error, GraphThrottled):
                throttled += 1
            else:
                transient += 1
            await self._after_failure(error, method, shown, transient, throttled, idempotent,
                                      sent, deadline)

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

    async def _after_failure(self, error: GraphError, method: str, shown: str, transient: int,
                             throttled: int, idempotent: bool, sent: bool,
                             deadline: float) -> None:
        """Raise ``error`` unless it may be retried; otherwise wait as Graph asked (a 429's
        wait is the tenant gate's: every call for the tenant waits it out together)."""
        loop = asyncio.get_running_loop()
        attempt = transient + throttled
        retry = self.policy.retryable(error, method=method, idempotent=idempotent, sent=sent)
        if not retry or not self.policy.attempts_left(error, transient, throttled):
            level = logging.WARNING if retry else logging.INFO
            log.log(level, "graph %s %s -> %s %s request-id=%s attempt=%d: giving up", method,
                    shown, error.status, error.code, error.request_id, attempt)
            raise error
        delay = self.policy.delay(error, throttled if error.status == 429 else transient)
        if loop.time() + delay > deadline:
            log.warning("graph %s %s -> %s request-id=%s attempt=%d: deadline reached",
                        method, shown, error.status, error.request_id, attempt)
            raise GraphDeadlineExceeded(
                f"{method} {shown}: retries would pass the call's deadline (last: "
                f"{error.code})", status=error.status, request_id=error.request_id,
            ) from error
        log.info("graph %s %s -> %s %s request-id=%s attempt=%d: retry in %.2fs", method,
                 shown, error.status, error.code, error.request_id, attempt, delay)
        if error.status != 429:
            await asyncio.sleep(delay)

    def gate(self, tenant_id: str) -> TenantGate:
        """The tenant's admission gate (per client, so per event loop)."""
        gate = self._gates.get(tenant_id)
        if gate is None:
            gate = self._gates[tenant_id] = TenantGate(self._concurrency,
                                                       self._concurrency * MAX_BATCH)
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
        items: list[dict[str, Any]] = []
        next_url: str | None = path
        while next_url:
            body = await self.get_json(tenant_id, next_url, version=version, params=params)
            params = None  # a nextLink carries its own query
            if not isinstance(body, dict) or not isinstance(body.get("value"), list):
                raise GraphBadResponse(f"GET {urlsplit(self.url(version, path)).path}: "
                                       "not a collection")
            items.extend(v for v in body["value"] if isinstance(v, dict))
            link = body.get("@odata.nextLink")
            next_url = self.checked_link(link) if link else None
        return items


def build_graph_client(settings: Settings | None = None, *,
                       transport: httpx.AsyncBaseTransport | None = None,
                       tokens: TokenSource | None = None, policy: RetryPolicy | None = None,
                       concurrency_per_tenant: int = DEFAULT_CONCURRENCY_PER_TENANT,
                       max_connections: int = 100) -> GraphClient:
    """The only way to make a Graph client. ``transport`` is the seam tests may use; trust
    comes from ``SSL_CERT_FILE`` (httpx reads it when the client is built)."""
    settings = settings or get_settings()
    policy = policy or RetryPolicy()
    http = httpx.AsyncClient(
        transport=transport,
        timeout=httpx.Timeout(policy.attempt_timeout_s, connect=policy.connect_timeout_s),
        limits=httpx.Limits(max_connections=max_connections,
                            max_keepalive_connections=max_connections),
        headers={"Accept": "application/json"},
        follow_redirects=False,
    )
    return GraphClient(base_url=settings.graph_base_url,
                       tokens=tokens or get_token_provider(settings), http=http,
                       policy=policy, concurrency_per_tenant=concurrency_per_tenant)


_loop_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, GraphClient] = (
    weakref.WeakKeyDictionary()
)


def get_graph_client() -> GraphClient:
    """The running event loop's client, built from :func:`get_settings` on first use."""
    loop = asyncio.get_running_loop()
    client = _loop_clients.get(loop)
    if client is None:
        client = _loop_clients[loop] = build_graph_client()
    return client


async def close_graph_client() -> None:
    """Close the running loop's client (the next :func:`get_graph_client` builds a new one)."""
    client = _loop_clients.pop(asyncio.get_running_loop(), None)
    if client is not None:
        await client.aclose()
