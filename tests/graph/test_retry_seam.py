"""Retry and backoff policy through the transport seam (httpx.MockTransport): Retry-After in
seconds and as an HTTP date, the cap, fail-fast statuses, POST safety, 401 refresh, paging
origin checks, ``$batch`` sub-requests retried by the same rules as single calls, and calls
spread over connection pools. The only tests here that do not talk to the simulator."""

from __future__ import annotations

import asyncio
import email.utils
import json
import random
import time

import httpx
import pytest

from shared.graph import RetryPolicy, build_graph_client
from shared.graph.batch import BatchRequest, batch
from shared.graph.client import GraphClient
from shared.graph.retry import parse_retry_after
from shared.platform.codes import ErrorCode
from shared.platform.config import load_settings
from shared.platform.errors import (
    AuthFailed,
    GraphBadResponse,
    GraphDeadlineExceeded,
    GraphError,
    GraphNotFound,
    GraphThrottled,
    GraphTransient,
)
from tests.graph.conftest import TEST_KEK, until

pytestmark = pytest.mark.anyio
TENANT = "11111111-1111-1111-1111-111111111111"
SETTINGS = load_settings({
    "GRAPH_BASE_URL": "https://graph.test", "ENTRA_AUTHORITY_HOST": "https://login.test",
    "GRAPH_CLIENT_ID": "app", "GRAPH_CLIENT_SECRET": "secret-value-123",
    "API_AUTH_ISSUER": "i", "API_AUTH_AUDIENCE": "a", "API_AUTH_JWKS_URL": "https://j.test",
    "PV_SNAPSHOT_KEK": TEST_KEK,
})


class StaticTokens:
    def __init__(self) -> None:
        self.issued = 0
        self.invalidated: list[str] = []

    async def get_token(self, tenant_id: str) -> str:
        self.issued += 1
        return f"token-{self.issued}"

    def invalidate(self, tenant_id: str, token: str) -> None:
        self.invalidated.append(token)

    @property
    def secrets(self) -> tuple[str, ...]:
        return ("secret-value-123",)


def make(handler, policy: RetryPolicy | None = None, tokens=None):
    policy = policy or RetryPolicy(backoff_base_s=0.001, backoff_max_s=0.002,
                                   retry_after_cap_s=0.01, rng=random.Random(1))
    return build_graph_client(SETTINGS, transport=httpx.MockTransport(handler),
                              tokens=tokens or StaticTokens(), policy=policy)


def scripted(*responses):
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        item = responses[min(len(calls), len(responses)) - 1]
        if isinstance(item, Exception):
            raise item
        return item

    return handler, calls


def test_retry_after_parses_seconds_and_http_dates():
    assert parse_retry_after("12") == 12.0
    now = time.time()
    date = email.utils.formatdate(now + 30, usegmt=True)
    assert 28 <= parse_retry_after(date, now=lambda: now) <= 31
    assert parse_retry_after("garbage") is None and parse_retry_after(None) is None
    assert parse_retry_after(email.utils.formatdate(now - 60, usegmt=True)) == 0.0


def test_retry_policy_caps_retry_after_and_jitters_backoff():
    policy = RetryPolicy(retry_after_cap_s=60, backoff_base_s=1, backoff_max_s=8,
                         rng=random.Random(3))
    assert policy.delay(GraphThrottled("t", retry_after=600), 1) == 60
    assert policy.delay(GraphThrottled("t", retry_after=2), 1) == 2
    delays = [policy.delay(GraphTransient("x", status=503), n) for n in range(1, 12)]
    assert all(0 <= d <= 8 for d in delays) and len(set(delays)) > 5


async def test_client_retries_429_then_succeeds_and_sends_retry_after_worth_of_wait():
    handler, calls = scripted(
        httpx.Response(429, headers={"Retry-After": "1"}, json={"error": {"code": "Th"}}),
        httpx.Response(200, json={"ok": 1}))
    async with make(handler) as client:
        assert (await client.request(TENANT, "GET", "deviceManagement/x")).body == {"ok": 1}
    assert len(calls) == 2


@pytest.mark.parametrize("status", [400, 403, 404, 409])
async def test_client_fails_fast_on_permanent_statuses(status):
    handler, calls = scripted(httpx.Response(status, json={"error": {"code": "X"}}))
    async with make(handler) as client:
        with pytest.raises(Exception) as caught:
            await client.request(TENANT, "GET", "x")
    assert len(calls) == 1 and caught.value.status == status


async def test_client_retries_500_on_get_but_never_on_post():
    handler, calls = scripted(httpx.Response(500), httpx.Response(200, json={}))
    async with make(handler) as client:
        await client.request(TENANT, "GET", "x")
        assert len(calls) == 2
        calls.clear()
        with pytest.raises(GraphTransient):
            await client.request(TENANT, "POST", "x", json={})
    assert len(calls) == 1


async def test_client_resends_post_only_when_it_never_left():
    request = httpx.Request("POST", "https://graph.test/v1.0/x")
    handler, calls = scripted(httpx.ConnectError("refused", request=request),
                              httpx.Response(201, json={"id": "1"}))
    async with make(handler) as client:
        assert (await client.request(TENANT, "POST", "x", json={})).status == 201
    handler, calls = scripted(httpx.ReadTimeout("slow", request=request),
                              httpx.Response(201, json={"id": "1"}))
    async with make(handler) as client:
        with pytest.raises(GraphTransient):
            await client.request(TENANT, "POST", "x", json={})
    assert len(calls) == 1


async def test_client_refreshes_token_once_on_401():
    tokens = StaticTokens()
    handler, calls = scripted(httpx.Response(401), httpx.Response(200, json={}))
    async with make(handler, tokens=tokens) as client:
        await client.request(TENANT, "GET", "x")
    assert tokens.invalidated == ["token-1"]
    assert [c.headers["Authorization"] for c in calls] == ["Bearer token-1", "Bearer token-2"]
    handler, calls = scripted(httpx.Response(401))
    async with make(handler) as client:
        with pytest.raises(AuthFailed):
            await client.request(TENANT, "GET", "x")
    assert len(calls) == 2


async def test_client_deadline_exceeded_when_retry_after_passes_it():
    handler, _ = scripted(httpx.Response(503, headers={"Retry-After": "30"}))
    policy = RetryPolicy(deadline_s=1.0, retry_after_cap_s=60)
    async with make(handler, policy=policy) as client:
        with pytest.raises(GraphDeadlineExceeded):
            await client.request(TENANT, "GET", "x")


async def test_client_gives_up_after_max_attempts_with_the_last_error():
    handler, calls = scripted(httpx.Response(503))
    policy = RetryPolicy(max_attempts=3, backoff_base_s=0.001)
    async with make(handler, policy=policy) as client:
        with pytest.raises(GraphTransient):
            await client.request(TENANT, "GET", "x")
    assert len(calls) == 3
    handler, calls = scripted(httpx.Response(429, headers={"Retry-After": "0"}))
    policy = RetryPolicy(max_attempts=3, max_throttled_attempts=10, retry_after_cap_s=0.0)
    async with make(handler, policy=policy) as client:
        with pytest.raises(GraphThrottled):
            await client.request(TENANT, "GET", "x")
    assert len(calls) == 10  # throttling is bounded by its own budget and the deadline


async def test_client_throttling_slows_the_tenant_gate_and_recovers():
    handler, _ = scripted(httpx.Response(429, headers={"Retry-After": "0"}),
                          httpx.Response(200, json={}))
    async with make(handler) as client:
        await client.request(TENANT, "GET", "x")
        gate = client.gate(TENANT)
        assert gate.limit == gate.max_units / 2 + 1  # halved once, then one success
        other = client.gate("22222222-2222-2222-2222-222222222222")
        assert other.limit == other.max_units  # other tenants are untouched


async def test_client_follows_next_links_only_on_the_graph_origin():
    pages = {
        "/v1.0/items": {"value": [{"id": 1}],
                        "@odata.nextLink": "https://graph.test/v1.0/items?$skiptoken=2"},
        "/v1.0/evil": {"value": [], "@odata.nextLink": "https://evil.test/v1.0/items"},
    }

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("$skiptoken"):
            return httpx.Response(200, json={"value": [{"id": 2}]})
        return httpx.Response(200, json=pages[request.url.path])

    async with make(handler) as client:
        assert await client.get_all(TENANT, "items") == [{"id": 1}, {"id": 2}]
        with pytest.raises(GraphBadResponse):
            await client.get_all(TENANT, "evil")


async def test_client_malformed_body_on_get_is_read_again():
    handler, calls = scripted(httpx.Response(200, content=b'{"value": [{"id'),
                              httpx.Response(200, json={"value": []}))
    async with make(handler) as client:
        assert await client.get_all(TENANT, "x") == []
    assert len(calls) == 2


async def test_client_not_found_carries_graph_request_id():
    handler, _ = scripted(httpx.Response(404, headers={"request-id": "rid-1"},
                                         json={"error": {"code": "ResourceNotFound",
                                                         "message": "gone"}}))
    async with make(handler) as client:
        with pytest.raises(GraphNotFound) as caught:
            await client.request(TENANT, "GET", "deviceManagement/x?$select=id")
    assert caught.value.request_id == "rid-1"
    assert caught.value.to_dict()["code"] == ErrorCode.GRAPH_NOT_FOUND


def batch_handler(answer):
    """A ``$batch`` endpoint answering each sub-request with ``answer(entry, n)`` — ``n``
    counting that entry's sends — as ``(status, headers)``; returns it and the sends per id."""
    sends: dict[str, int] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        subs = []
        for entry in json.loads(request.content)["requests"]:
            sends[entry["id"]] = sends.get(entry["id"], 0) + 1
            status, headers = answer(entry, sends[entry["id"]])
            body = {"ok": entry["id"]} if status < 300 else {"error": {"code": "X"}}
            subs.append({"id": entry["id"], "status": status, "headers": headers,
                         "body": body})
        return httpx.Response(200, json={"responses": subs})

    return handler, sends


@pytest.mark.parametrize(("method", "status"), [("GET", 500), ("POST", 500), ("POST", 503),
                                                ("GET", 404), ("PATCH", 502), ("GET", 429)])
async def test_batch_sub_request_is_retried_exactly_like_a_single_call(method, status):
    def fails_once(entry, n):
        return (status, {"Retry-After": "0"}) if n == 1 else (200, {})

    single, calls = scripted(httpx.Response(status, headers={"Retry-After": "0"},
                                            json={"error": {"code": "X"}}),
                             httpx.Response(200, json={}))
    async with make(single) as client:
        try:
            await client.request(TENANT, method, "x", json={} if method != "GET" else None)
        except GraphError:
            pass
    handler, sends = batch_handler(fails_once)
    async with make(handler) as client:
        results = await batch(client, TENANT, [BatchRequest("1", "/x", method)])
    assert sends["1"] == len(calls)
    assert results["1"].ok == (len(calls) == 2)


async def test_batch_throttled_sub_request_closes_the_tenant_gate_like_a_single_429():
    handler, sends = batch_handler(
        lambda entry, n: (429, {"Retry-After": "0"}) if entry["id"] == "b" and n == 1
        else (200, {}))
    async with make(handler) as client:
        results = await batch(client, TENANT, [BatchRequest(i, f"/x/{i}") for i in "abc"])
        gate = client.gate(TENANT)
        assert all(r.ok for r in results.values())
        assert sends == {"a": 1, "b": 2, "c": 1}  # only the throttled entry is sent again
        assert gate.resume_at > 0  # the tenant waited out the Retry-After as a whole
        assert gate.limit < gate.max_units  # and slowed down, as after a single 429


async def test_batch_sub_request_past_the_deadline_fails_alone():
    handler, sends = batch_handler(
        lambda entry, n: (503, {"Retry-After": "30"}) if entry["id"] == "b" else (200, {}))
    policy = RetryPolicy(deadline_s=1.0, retry_after_cap_s=60)
    async with make(handler, policy=policy) as client:
        results = await batch(client, TENANT, [BatchRequest(i, f"/x/{i}") for i in "abc"])
    assert results["a"].ok and results["c"].ok
    assert isinstance(results["b"].error, GraphDeadlineExceeded)
    assert results["b"].error.code == ErrorCode.GRAPH_DEADLINE_EXCEEDED and sends["b"] == 1


async def test_each_call_takes_the_connection_pool_with_the_fewest_calls_in_flight():
    """A client spreads its calls over a few pools (httpcore's per-request bookkeeping grows
    with the square of one pool's size), so no pool queues while another sits idle."""
    release = asyncio.Event()
    served = {"a": 0, "b": 0}

    def pool(name: str) -> httpx.AsyncClient:
        async def handler(request: httpx.Request) -> httpx.Response:
            served[name] += 1
            await release.wait()
            return httpx.Response(200, json={"value": []})
        return httpx.AsyncClient(transport=httpx.MockTransport(handler))

    client = GraphClient(base_url="https://graph.test", tokens=StaticTokens(),
                         http=[pool("a"), pool("b")], policy=RetryPolicy(),
                         concurrency_per_tenant=8)
    calls = [asyncio.ensure_future(client.get_json(TENANT, "/deviceManagement/intents"))
             for _ in range(6)]
    await until(lambda: sum(served.values()) == 6, "every call reaching a pool")
    assert served == {"a": 3, "b": 3}
    release.set()
    assert [await c for c in calls] == [{"value": []}] * 6
    await client.aclose()
    assert client.closed
