"""Throttling with the simulator's Intune-style limits: a 500-read burst completes with every
call succeeding and few 429s, and a throttled tenant does not hold back another tenant
(asserted by counts and completion order)."""

from __future__ import annotations

import asyncio

import pytest

from local.graphsim import Limits
from shared.graph import RetryPolicy, fetch_snapshots, list_items

from .conftest import graph_requests

pytestmark = pytest.mark.anyio
# Per 1 s: 100 requests per app per tenant (Intune's 1000 per 20 s, compressed).
LIMITS = Limits(window_s=1.0, tenant_requests=200, app_requests=100, tenant_writes=20,
                app_writes=10)
# Intune's 20 s window at a tenth: 100 reads per app per tenant, refilled at 5 per second —
# a rate no machine stays under, so a burst is throttled however slow the test runs.
INTUNE_TENTH = Limits.intune(scale=0.1)
HONEST = RetryPolicy(retry_after_cap_s=60, deadline_s=60)


async def test_throttling_burst_of_500_reads_all_succeed_with_few_429s(make_client, graphsim,
                                                                        tenants):
    client = make_client(HONEST)
    busy, quiet = tenants[0], tenants[1]
    busy_ids = [r.id for r in await list_items(busy, "deviceConfigurations", client=client)]
    quiet_ids = [r.id for r in await list_items(quiet, "deviceConfigurations", client=client)]
    graphsim.set_limits(INTUNE_TENTH)
    cursor = graphsim.request_cursor()
    order: list[str] = []

    async def compress_once_throttled() -> None:
        """The rest of the burst runs in 1 s windows (as LIMITS): minutes become seconds."""
        while not graph_requests(graphsim, cursor, tenant=busy, status=429):
            await asyncio.sleep(0.05)
        graphsim.set_limits(LIMITS)

    async def read(tenant: str, item_id: str) -> int:
        response = await client.request(
            tenant, "GET", f"deviceManagement/deviceConfigurations/{item_id}", version="beta")
        order.append(tenant)
        return response.status

    burst = [read(busy, busy_ids[n % len(busy_ids)]) for n in range(500)]
    other = [read(quiet, quiet_ids[n % len(quiet_ids)]) for n in range(40)]
    _, *statuses = await asyncio.gather(compress_once_throttled(), *burst, *other)
    assert statuses == [200] * 540

    log = [e for e in graphsim.requests(cursor) if e["kind"] == "graph"]
    busy_429 = sum(1 for e in log if e["tenant"] == busy and e["status"] == 429)
    print(f"busy tenant: {len(log)} attempts, {busy_429} throttled")
    assert 0 < busy_429 < 500 / 5  # the limits bit, and far fewer 429s than requests
    assert not [e for e in log if e["tenant"] == quiet and e["status"] != 200]
    # The quiet tenant finished while the busy one still had most of its burst ahead.
    last_quiet = max(i for i, t in enumerate(order) if t == quiet)
    busy_done_by_then = order[:last_quiet].count(busy)
    assert busy_done_by_then < 200


async def test_throttling_batched_capture_respects_limits(make_client, graphsim, tenants):
    client = make_client(HONEST)
    graphsim.reset(tenants=1, counts={"configurationPolicies": 60})
    tenant = graphsim.tenant_ids[0]
    graphsim.set_limits(LIMITS)
    refs = await list_items(tenant, "configurationPolicies", client=client)
    results = await fetch_snapshots(tenant, "configurationPolicies", [r.id for r in refs],
                                    client=client)
    assert len(results) == 60 and all(r.document for r in results)
    log = [e for e in graphsim.requests() if e["kind"] == "graph"]
    assert sum(e["status"] == 429 for e in log) < len(log) / 3
