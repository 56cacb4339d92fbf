"""Benchmark: capture every item of one tenant through shared.graph (DESIGN §9).

    python -m tests.graph.bench_capture [--policies 300] [--latency-ms 100] [--scale 1.0]

Starts the simulator as a subprocess (so client and server do not share a GIL) with Intune's
limits (``--scale`` multiplies them) and injected latency, then runs what a backup does per
type — ``list_items`` and ``fetch_snapshots`` — for every catalog type concurrently, and
reports: items, Graph requests (each ``$batch`` entry counts, as Intune's throttling counts
them), HTTP round trips, requests and round trips per item, 429s, wall time, and the ratio to
the throttle bound: the time Intune's per-app bucket needs to admit that many requests (429s
consume no budget and are not counted) — with the
initial burst credit (``max(0, requests - capacity) / rate``) and without it
(``requests / rate``, the sustained bound for a tenant that is already busy).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from local.graphsim.seed import policy_counts
from shared.crypto.kek import new_local_kek
from shared.graph import CATALOG, RetryPolicy, build_graph_client, fetch_snapshots, list_items
from shared.graph.tokens import MsalTokenProvider
from shared.platform.config import load_settings

APP_REQUESTS_PER_WINDOW, WINDOW_S = 1000, 20.0  # Intune: per app per tenant


def _start_sim(workdir: Path, args: argparse.Namespace) -> tuple[subprocess.Popen, dict]:
    info_file = workdir / "info.json"
    command = [sys.executable, "-m", "local.graphsim", "--port", "0", "--tenants", "1",
               "--ca-file", str(workdir / "ca.pem"), "--info-file", str(info_file),
               "--latency-ms", str(args.latency_ms), "--limits", "intune",
               "--limits-scale", str(args.scale), "--counts",
               json.dumps(policy_counts(args.policies))]
    proc = subprocess.Popen(command, cwd=Path(__file__).resolve().parents[2],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 60
    while not info_file.exists() or not info_file.read_text().strip():
        if proc.poll() is not None or time.time() > deadline:
            raise SystemExit(f"graphsim did not start: {proc.stdout.read() if proc.stdout else ''}")
        time.sleep(0.1)
    time.sleep(0.2)
    return proc, json.loads(info_file.read_text())


async def _capture(info: dict, concurrency: int) -> dict:
    base = info["base_url"]
    settings = load_settings({
        "GRAPH_BASE_URL": base, "ENTRA_AUTHORITY_HOST": base,
        "GRAPH_CLIENT_ID": info["client_id"], "GRAPH_CLIENT_SECRET": info["client_secret"],
        "API_AUTH_ISSUER": info["caller_issuer"], "API_AUTH_AUDIENCE": "api://policyvault",
        "API_AUTH_JWKS_URL": info["caller_jwks_url"], "PV_SNAPSHOT_KEK": new_local_kek(),
    })
    tenant = info["tenants"][0]["id"]
    tokens = MsalTokenProvider(settings.graph, settings.authority_host)
    await tokens.get_token(tenant)  # token acquisition is not part of the capture
    client = build_graph_client(settings, tokens=tokens, concurrency_per_tenant=concurrency,
                                policy=RetryPolicy(deadline_s=600, retry_after_cap_s=60))
    async with client, httpx.AsyncClient() as control:
        await control.delete(f"{base}/_sim/requests")
        started = time.perf_counter()

        async def one_type(key: str) -> tuple[int, int]:
            refs = await list_items(tenant, key, client=client)
            results = await fetch_snapshots(tenant, key, [r.id for r in refs], client=client)
            return len(results), sum(1 for r in results if r.error is not None)

        per_type = await asyncio.gather(*(one_type(e.key) for e in CATALOG))
        wall = time.perf_counter() - started
        log = (await control.get(f"{base}/_sim/requests")).json()["value"]
    return {"wall": wall, "items": sum(n for n, _ in per_type),
            "failed": sum(f for _, f in per_type), "log": log}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--policies", type=int, default=300)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies Intune's limits")
    parser.add_argument("--concurrency", type=int, default=8, help="per tenant")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pv-bench-") as tmp:
        proc, info = _start_sim(Path(tmp), args)
        os.environ["SSL_CERT_FILE"] = info["bundle_file"]
        os.environ["REQUESTS_CA_BUNDLE"] = info["bundle_file"]
        try:
            result = asyncio.run(_capture(info, args.concurrency))
        finally:
            proc.terminate()
            proc.wait(10)
    log = result["log"]
    graph = [e for e in log if e["kind"] == "graph"]  # top-level calls and batch entries
    round_trips = sum(1 for e in log if e["kind"] in ("graph", "batch") and not e["batch"])
    throttled = sum(1 for e in graph if e["status"] == 429)
    counted = len(graph) - throttled  # a 429 consumes no budget: only admitted requests do
    capacity = APP_REQUESTS_PER_WINDOW * args.scale
    rate = capacity / WINDOW_S
    with_burst = max(0.0, (counted - capacity) / rate)
    sustained = counted / rate
    items = result["items"]
    print(f"items captured        {items} ({result['failed']} failed) across {len(CATALOG)} types")
    print(f"graph requests        {counted} admitted ({counted / items:.2f} per item), "
          f"plus {throttled} answered 429")
    print(f"http round trips      {round_trips} ({round_trips / items:.3f} per item)")
    print(f"wall time             {result['wall']:.2f} s at {args.latency_ms:.0f} ms latency, "
          f"limits x{args.scale}")
    print(f"throttle-bound min    {with_burst:.2f} s with burst credit, {sustained:.2f} s "
          f"sustained ({rate:.0f} req/s per app per tenant)")
    if with_burst > 0:
        print(f"ratio                 {result['wall'] / with_burst:.2f}x the throttle bound")
    print(f"ratio (sustained)     {result['wall'] / sustained:.2f}x the sustained bound")


if __name__ == "__main__":
    main()
