"""`python -m tests.e2e.bench_snapshot`: how fast an MSP engineer gets an answer (issue 13).

1. One client, ``POST …/snapshot`` back to back (each a new run, so the runtime is running
   the previous captures while it answers), then one every ``--pause`` seconds (an engineer
   clicking, the runtime otherwise idle): latency p50/p95.
2. A burst of ``--burst`` starts from ``--clients`` concurrent clients: how fast they are
   accepted (starts/s, p50/p95), then, separately, how long the accepted runs take to finish.
3. One capture end to end (POST → run terminal) with ``--latency-ms`` simulated Graph latency.

Everything is real: HTTP into the local runtime (``python -m local.host`` in its own process,
as the function app runs apart from Graph and its callers), Durable orchestrations, Azurite,
Graph and Entra from the simulator over HTTPS.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import uuid
from contextlib import ExitStack
from pathlib import Path

import httpx

from local.api_client import PolicyVaultClient
from local.azurite import running_azurite
from local.graphsim import GraphSimulator
from local.stack import API_AUDIENCE
from tests.e2e.backup_support import RuntimeProcess, add_activity_workers_argument

TARGET_TYPE = "configurationPolicies"


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _post_storm(base_url: str, token: str, targets: list[tuple[str, str]], clients: int,
                      total: int, pause_s: float = 0.0) -> tuple[list[float], float]:
    """``total`` starts shared by ``clients`` concurrent clients, each pausing ``pause_s``
    after an answer: latencies and wall time."""
    latencies: list[float] = []
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(base_url=base_url, headers=headers, limits=limits,
                                 timeout=60) as http:
        await http.get("/api/health")  # connections and TLS aside: measure the API
        counter = iter(range(total))

        async def client() -> None:
            for k in counter:
                tenant_id, policy_id = targets[k % len(targets)]
                started = time.perf_counter()
                response = await http.post(
                    f"/api/tenants/{tenant_id}/policies/{TARGET_TYPE}/{policy_id}/snapshot",
                    headers={"Idempotency-Key": str(uuid.uuid4())})
                latencies.append(time.perf_counter() - started)
                if response.status_code != 202:
                    raise RuntimeError(f"POST answered {response.status_code}")
                await asyncio.sleep(pause_s)

        began = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
        return latencies, time.perf_counter() - began


def _drain(admin: PolicyVaultClient, tenant_ids: list[str]) -> float:
    began = time.perf_counter()
    for tenant_id in tenant_ids:
        for run in list(admin.pages(f"/api/tenants/{tenant_id}/runs")):
            admin.wait(run, timeout=900, poll_s=0.2)
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--single", type=int, default=60, help="back-to-back starts, 1 client")
    parser.add_argument("--pause", type=float, default=0.5,
                        help="seconds between the spaced single-client starts")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--burst", type=int, default=200)
    parser.add_argument("--captures", type=int, default=5)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    add_activity_workers_argument(parser)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="pv-bench-snapshot-"))
    with ExitStack() as stack:
        connection = os.environ.get("PV_TEST_STORAGE") or stack.enter_context(
            running_azurite()).connection_string
        sim = stack.enter_context(GraphSimulator(tenants=3, seed=1))
        runtime = RuntimeProcess(sim, connection, "bench" + uuid.uuid4().hex[:8],
                                 workdir / "runtime.log", args.activity_workers)
        stack.callback(runtime.stop)
        admin = stack.enter_context(runtime.client("bench-admin"))
        targets = []
        for tenant_id in sim.tenant_ids:
            admin.register_tenant(tenant_id, "bench")
            targets += [(tenant_id, p["id"]) for p in sim.objects(tenant_id, TARGET_TYPE)]
        token = sim.mint_token(oid="bench-admin", roles=["Platform.Admin"],
                               audience=API_AUDIENCE)

        single, _ = asyncio.run(_post_storm(runtime.base_url, token, targets, 1, args.single))
        single_drain = _drain(admin, sim.tenant_ids)
        spaced, _ = asyncio.run(_post_storm(runtime.base_url, token, targets, 1,
                                            args.single // 2, args.pause))
        _drain(admin, sim.tenant_ids)
        burst, burst_s = asyncio.run(_post_storm(runtime.base_url, token, targets,
                                                 args.clients, args.burst))
        burst_drain = _drain(admin, sim.tenant_ids)

        sim.set_latency(args.latency_ms)
        durations = []
        for n in range(args.captures):
            tenant_id, policy_id = targets[n % len(targets)]
            started = time.perf_counter()
            run = admin.wait(admin.capture(tenant_id, TARGET_TYPE, policy_id), poll_s=0.02)
            durations.append(time.perf_counter() - started)
            if run["status"] != "succeeded":
                raise RuntimeError(f"capture ended {run['status']}")

    print(f"POST …/snapshot, 1 client, {len(single)} starts back to back (each a new run):")
    print(f"  p50 {_pct(single, 0.5) * 1000:.0f} ms   p95 {_pct(single, 0.95) * 1000:.0f} ms"
          f"   max {max(single) * 1000:.0f} ms; the runs finished {single_drain:.1f} s later")
    print(f"POST …/snapshot, 1 client, {len(spaced)} starts {args.pause:g} s apart:")
    print(f"  p50 {_pct(spaced, 0.5) * 1000:.0f} ms   p95 {_pct(spaced, 0.95) * 1000:.0f} ms"
          f"   max {max(spaced) * 1000:.0f} ms")
    print(f"POST …/snapshot, a burst of {len(burst)} starts from {args.clients} concurrent "
          f"clients:")
    print(f"  accepted in {burst_s:.2f} s: {len(burst) / burst_s:.0f} starts/s;   "
          f"p50 {_pct(burst, 0.5) * 1000:.0f} ms   p95 {_pct(burst, 0.95) * 1000:.0f} ms   "
          f"max {max(burst) * 1000:.0f} ms")
    print(f"  the {len(burst)} runs finished {burst_drain:.1f} s after the burst")
    print(f"One capture end to end at {args.latency_ms:.0f} ms Graph latency "
          f"({args.captures} runs, polling every 20 ms):")
    print(f"  median {statistics.median(durations):.2f} s   min {min(durations):.2f} s"
          f"   max {max(durations):.2f} s")
    print(f"(runtime log in {workdir})")


if __name__ == "__main__":
    main()
