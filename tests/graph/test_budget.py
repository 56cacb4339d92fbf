"""The per-tenant request budget: at most the documented limit per window is sent, so a burst
bigger than Graph's bucket is spread instead of answered 429 (DESIGN §7, §9)."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from local.graphsim import Limits
from shared.graph import RetryPolicy, list_items
from shared.graph.gate import GateDeadline, RequestBudget
from shared.platform.config import GraphBudget

from .conftest import graph_requests

pytestmark = pytest.mark.anyio
# Graph's bucket for the test: 20 requests and 5 writes per 2 s per app per tenant.
LIMITS = Limits(window_s=2.0, tenant_requests=40, app_requests=20, tenant_writes=10,
                app_writes=5)
PATIENT = RetryPolicy(retry_after_cap_s=10, deadline_s=60)


async def _burst(client, tenant: str, ids: list[str], count: int) -> list[int]:
    async def read(n: int) -> int:
        response = await client.request(
            tenant, "GET", f"deviceManagement/deviceConfigurations/{ids[n % len(ids)]}",
            version="beta")
        return response.status

    return list(await asyncio.gather(*(read(n) for n in range(count))))


@pytest.mark.parametrize("budgeted", [True, False])
async def test_budget_burst_beyond_the_bucket_is_spread_without_429s(
        make_client, settings, graphsim, tenants, budgeted):
    # 10% under Graph's 20: the two buckets run on two clocks, and a loaded machine delays
    # the first requests, so a budget of exactly the limit can meet one 429 at a refill edge.
    budget = GraphBudget(requests=18, writes=5, window_s=2.0) if budgeted else None
    client = make_client(PATIENT, settings_=replace(settings, graph_budget=budget))
    ids = [r.id for r in await list_items(tenants[0], "deviceConfigurations", client=client)]
    graphsim.set_limits(LIMITS)
    cursor = graphsim.request_cursor()

    assert await _burst(client, tenants[0], ids, 50) == [200] * 50

    throttled = graph_requests(graphsim, cursor, tenant=tenants[0], status=429)
    if budgeted:
        assert throttled == []
    else:  # the control: the same burst unbudgeted meets Graph's 429s
        assert throttled


async def test_request_budget_sends_no_more_than_the_bucket_allows():
    budget = RequestBudget(capacity=5, window_s=0.2)  # 5 at once, then 25 per second
    loop = asyncio.get_running_loop()
    start = loop.time()
    stamps: list[float] = []

    async def one() -> None:
        await budget.spend(1, loop.time() + 10)
        stamps.append(loop.time() - start)

    await asyncio.gather(*(one() for _ in range(17)))

    assert len(stamps) == 17
    for n, at in enumerate(sorted(stamps), start=1):  # the n-th waited for its token
        assert n <= 5 + at * 25 + 1e-6


async def test_request_budget_refuses_a_wait_beyond_the_deadline():
    budget = RequestBudget(capacity=1, window_s=60)
    loop = asyncio.get_running_loop()
    await budget.spend(1, loop.time() + 1)
    with pytest.raises(GateDeadline):
        await budget.spend(1, loop.time() + 1)
