"""`python -m tests.e2e.bench_snapshot`: how fast an MSP engineer gets an answer.

1. ``POST …/snapshot`` latency with 50 concurrent clients (each request a new run, so the
   runtime is busy running the captures it accepted while it answers).
2. One capture end to end (POST → run terminal) with 100 ms simulated Graph latency.

Everything is real: HTTP into the local runtime, Durable orchestrations, Azurite, Graph and
Entra from the simulator over HTTPS.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid

import httpx

from local.stack import running_stack


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _post_storm(base_url: str, token: str, targets: list[tuple[str, str]], clients: int,
                      per_client: int) -> list[float]:
    latencies: list[float] = []
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(base_url=base_url, headers=headers, limits=limits,
                                 timeout=60) as http:
        async def client(n: int) -> None:
            for k in range(per_client):
                tenant_id, policy_id = targets[(n * per_client + k) % len(targets)]
                started = time.perf_counter()
                response = await http.post(
                    f"/api/tenants/{tenant_id}/policies/configurationPolicies/{policy_id}"
                    "/snapshot", headers={"Idempotency-Key": str(uuid.uuid4())})
                latencies.append(time.perf_counter() - started)
                if response.status_code != 202:
                    raise RuntimeError(f"POST answered {response.status_code}")

        await asyncio.gather(*(client(n) for n in range(clients)))
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--per-client", type=int, default=4)
    parser.add_argument("--captures", type=int, default=5)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    args = parser.parse_args()

    with running_stack(tenants=3) as stack:
        admin = stack.api("bench-admin", ["Platform.Admin"])
        targets = []
        for tenant_id in stack.sim.tenant_ids:
            admin.register_tenant(tenant_id, "bench")
            targets += [(tenant_id, p["id"])
                        for p in stack.sim.objects(tenant_id, "configurationPolicies")]
        token = stack.token("bench-admin", ["Platform.Admin"])

        latencies = asyncio.run(_post_storm(stack.base_url, token, targets, args.clients,
                                            args.per_client))
        storm_started = time.perf_counter()
        for tenant_id in stack.sim.tenant_ids:  # the storm's runs finish before a lone capture
            for run in list(admin.pages(f"/api/tenants/{tenant_id}/runs")):
                admin.wait(run, timeout=900, poll_s=0.5)
        drained_s = time.perf_counter() - storm_started

        stack.sim.set_latency(args.latency_ms)
        durations = []
        for n in range(args.captures):
            tenant_id, policy_id = targets[n % len(targets)]
            started = time.perf_counter()
            run = admin.wait(admin.capture(tenant_id, "configurationPolicies", policy_id),
                             poll_s=0.02)
            durations.append(time.perf_counter() - started)
            if run["status"] != "succeeded":
                raise RuntimeError(f"capture ended {run['status']}")

    print(f"POST …/snapshot, {args.clients} concurrent clients, "
          f"{len(latencies)} requests (each a new run):")
    print(f"  p50 {_pct(latencies, 0.5) * 1000:.0f} ms   p95 {_pct(latencies, 0.95) * 1000:.0f} ms"
          f"   max {max(latencies) * 1000:.0f} ms")
    print(f"  then {len(latencies)} captures finished within {drained_s:.1f} s more")
    print(f"One capture end to end at {args.latency_ms:.0f} ms Graph latency "
          f"({args.captures} runs, polling every 20 ms):")
    print(f"  median {statistics.median(durations):.2f} s   min {min(durations):.2f} s"
          f"   max {max(durations):.2f} s")


if __name__ == "__main__":
    main()
