"""`python -m local.host.durable.bench`: throughput and latency of the local Durable runtime.

Runs the benchmark app on the stand-in host against Azurite (its own, or PV_TEST_STORAGE)
and reports: orchestration start latency through HTTP (50 concurrent clients), activities/s
for one 1,000-activity fan-out and for 100 concurrent orchestrations of 10 activities, and
history events and storage transactions per activity. Figures depend on the machine; they
are measurements, not assertions.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
import uuid
from contextlib import ExitStack
from typing import Any

import aiohttp

from local.azurite import running_azurite
from local.host.durable.bench_app import app
from local.host.durable.extension import DurableExtension
from local.host.durable.standalone import StandaloneHost

ACTIVE = {"Pending", "Running", "ContinuedAsNew"}


async def _start(session: aiohttp.ClientSession, base: str, name: str, payload: Any) -> str:
    async with session.post(f"{base}/api/bench/{name}", json=payload) as response:
        assert response.status == 202, await response.text()
        return (await response.json())["id"]


async def _wait_all(session: aiohttp.ClientSession, base: str, ids: list[str],
                    timeout: float = 600) -> None:
    """Until none of `ids` is active: one list query per round, not one read per id."""
    pending, deadline = set(ids), time.monotonic() + timeout
    url = f"{base}/runtime/webhooks/durabletask/instances/"
    while pending:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(pending)} orchestrations unfinished")
        active: set[str] = set()
        headers: dict[str, str] = {}
        while True:
            async with session.get(url, params={"runtimeStatus": "Pending,Running,Failed",
                                                "top": "1000"}, headers=headers) as response:
                page = await response.json()
                token = response.headers.get("x-ms-continuation-token")
            failed = [i for i in page if i["runtimeStatus"] == "Failed"]
            assert not failed, failed[0]
            active |= {item["instanceId"] for item in page}
            if not token:
                break
            headers = {"x-ms-continuation-token": token}
        pending &= active
        await asyncio.sleep(0.2)


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


class Counters:
    def __init__(self, ext: DurableExtension) -> None:
        self.ext = ext
        self.mark()

    def mark(self) -> None:
        assert self.ext.storage and self.ext.orchestrations
        self.tx = self.ext.storage.transactions
        self.events = self.ext.orchestrations.history_events
        self.episodes = self.ext.orchestrations.episodes

    def since(self) -> dict[str, int]:
        assert self.ext.storage and self.ext.orchestrations
        return {"transactions": self.ext.storage.transactions - self.tx,
                "history_events": self.ext.orchestrations.history_events - self.events,
                "episodes": self.ext.orchestrations.episodes - self.episodes}


async def run(connection: str, clients: int, starts_per_client: int) -> dict[str, Any]:
    host = StandaloneHost(app, storage_connection=connection,
                          storage_prefix="b" + uuid.uuid4().hex[:8], hub_name="BenchHub",
                          max_activities=16, max_orchestrations=8,
                          durable=DurableExtension(visibility_timeout=30))
    await host.start()
    counters = Counters(host.durable)
    report: dict[str, Any] = {}
    try:
        connector = aiohttp.TCPConnector(limit=clients * 2)
        async with aiohttp.ClientSession(connector=connector) as session:
            base = host.base_url
            await _wait_all(session, base, [await _start(session, base, "bench_noop", 0)])

            latencies: list[float] = []
            ids: list[str] = []

            async def client(n: int) -> None:
                for i in range(starts_per_client):
                    began = time.perf_counter()
                    ids.append(await _start(session, base, "bench_noop", n * 1000 + i))
                    latencies.append((time.perf_counter() - began) * 1000)
            began = time.perf_counter()
            await asyncio.gather(*(client(n) for n in range(clients)))
            start_rate = len(latencies) / (time.perf_counter() - began)
            await _wait_all(session, base, ids)
            report["start_latency_ms"] = {
                "clients": clients, "starts": len(latencies),
                "p50": round(statistics.median(latencies), 1),
                "p95": round(_percentile(latencies, 95), 1), "starts_per_s": round(start_rate)}

            counters.mark()
            began = time.perf_counter()
            fan = await _start(session, base, "bench_fan", 1000)
            await _wait_all(session, base, [fan])
            elapsed = time.perf_counter() - began
            used = counters.since()
            report["fan_out_1000"] = {
                "seconds": round(elapsed, 2), "activities_per_s": round(1000 / elapsed, 1),
                "history_events_per_activity": round(used["history_events"] / 1000, 2),
                "storage_transactions_per_activity": round(used["transactions"] / 1000, 3),
                "episodes": used["episodes"]}

            counters.mark()
            began = time.perf_counter()
            many = await asyncio.gather(*(_start(session, base, "bench_fan", 10)
                                          for _ in range(100)))
            await _wait_all(session, base, list(many))
            elapsed = time.perf_counter() - began
            used = counters.since()
            report["orchestrations_100x10"] = {
                "seconds": round(elapsed, 2), "activities_per_s": round(1000 / elapsed, 1),
                "history_events_per_activity": round(used["history_events"] / 1000, 2),
                "storage_transactions_per_activity": round(used["transactions"] / 1000, 3),
                "episodes": used["episodes"]}
    finally:
        await host.stop()
    return report


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m local.host.durable.bench")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--starts-per-client", type=int, default=10)
    parser.add_argument("--json", action="store_true", help="print JSON only")
    args = parser.parse_args()
    with ExitStack() as stack:
        connection = os.environ.get("PV_TEST_STORAGE") or stack.enter_context(
            running_azurite()).connection_string
        report = asyncio.run(run(connection, args.clients, args.starts_per_client))
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    latency = report["start_latency_ms"]
    print(f"start latency over HTTP ({latency['clients']} clients, {latency['starts']} "
          f"starts): p50 {latency['p50']} ms, p95 {latency['p95']} ms, "
          f"{latency['starts_per_s']} starts/s")
    for key, label in (("fan_out_1000", "1 x 1000-activity fan-out"),
                       ("orchestrations_100x10", "100 orchestrations x 10 activities")):
        r = report[key]
        print(f"{label}: {r['activities_per_s']} activities/s ({r['seconds']} s), "
              f"{r['history_events_per_activity']} history events and "
              f"{r['storage_transactions_per_activity']} storage transactions per activity, "
              f"{r['episodes']} episodes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
