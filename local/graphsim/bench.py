"""`python -m local.graphsim.bench`: the simulator's own throughput and latency.

Starts the simulator as a subprocess (so client and server do not share one GIL), gets a
token, then sends GETs over HTTPS keep-alive with httpx at a fixed concurrency (no latency
injected, throttling off) and reports requests/s and latency p50/p95/p99.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


async def _token(base: str, context: ssl.SSLContext) -> str:
    async with httpx.AsyncClient(base_url=base, verify=context, timeout=60) as client:
        tenant = (await client.get("/_sim/tenants")).json()[0]
        response = await client.post(f"/{tenant['id']}/oauth2/v2.0/token", data={
            "grant_type": "client_credentials", "client_id": tenant["client_id"],
            "client_secret": tenant["client_secret"],
            "scope": "https://graph.microsoft.com/.default"})
        return response.json()["access_token"]


async def _run(base: str, ca_file: str, path: str, total: int, concurrency: int,
               clients: int, library: str) -> dict:
    """`clients` splits the concurrency over several connection pools: httpcore's pool does
    O(connections x waiting requests) work per request, so one pool of 50 is client-bound."""
    context = ssl.create_default_context(cafile=ca_file)
    headers = {"Authorization": f"Bearer {await _token(base, context)}"}
    per_client = max(1, concurrency // clients)
    latencies: list[float] = []
    errors = 0
    remaining = total

    async def get_httpx(client: httpx.AsyncClient) -> int:
        return (await client.get(path, headers=headers)).status_code

    async def worker(fetch, client) -> None:
        nonlocal remaining, errors
        while remaining > 0:
            remaining -= 1
            started = time.perf_counter()
            status = await fetch(client)
            latencies.append(time.perf_counter() - started)
            errors += int(status != 200)

    if library == "aiohttp":
        import aiohttp

        async def get_aiohttp(session: aiohttp.ClientSession) -> int:
            async with session.get(base + path, headers=headers) as response:
                await response.read()
                return response.status

        sessions = [aiohttp.ClientSession(connector=aiohttp.TCPConnector(
            ssl=context, limit=per_client)) for _ in range(clients)]
        pools = [(get_aiohttp, s) for s in sessions]
    else:
        limits = httpx.Limits(max_connections=per_client, max_keepalive_connections=per_client)
        sessions = [httpx.AsyncClient(base_url=base, verify=context, limits=limits, timeout=60)
                    for _ in range(clients)]
        pools = [(get_httpx, s) for s in sessions]
    try:
        for fetch, client in pools:  # warm up: open every connection once
            await asyncio.gather(*(fetch(client) for _ in range(per_client)))
        started = time.perf_counter()
        await asyncio.gather(*(worker(fetch, client) for fetch, client in pools
                               for _ in range(per_client)))
        elapsed = time.perf_counter() - started
    finally:
        for session in sessions:
            await (session.close() if library == "aiohttp" else session.aclose())
    return {"requests": len(latencies), "errors": errors, "seconds": elapsed,
            "rps": len(latencies) / elapsed,
            "p50_ms": _percentile(latencies, 50) * 1000,
            "p95_ms": _percentile(latencies, 95) * 1000,
            "p99_ms": _percentile(latencies, 99) * 1000,
            "mean_ms": statistics.fmean(latencies) * 1000}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m local.graphsim.bench")
    p.add_argument("--requests", type=int, default=5000)
    p.add_argument("--concurrency", type=int, default=50)
    p.add_argument("--path", default="/beta/deviceManagement/deviceConfigurations")
    p.add_argument("--clients", type=int, default=1,
                   help="split the concurrency over this many connection pools")
    p.add_argument("--client", choices=("httpx", "aiohttp"), default="httpx")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="graphsim-bench-") as tmp:
        ca_file = os.path.join(tmp, "ca.pem")
        proc = subprocess.Popen(
            [sys.executable, "-m", "local.graphsim", "--port", "0", "--tenants", "1",
             "--ca-file", ca_file, "--limits", "off"],
            cwd=REPO, stdout=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONPATH": str(REPO)})
        try:
            line = proc.stdout.readline() if proc.stdout else ""
            if "listening on" not in line:
                print(f"graphsim did not start: {line!r}", file=sys.stderr)
                return 1
            base = line.split(" ")[3]
            result = asyncio.run(_run(base, ca_file, args.path, args.requests,
                                      args.concurrency, args.clients, args.client))
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    print(f"graphsim bench: GET {args.path} x{result['requests']} over HTTPS keep-alive with "
          f"{args.client}, concurrency {args.concurrency} over {args.clients} pool(s), "
          "no latency, throttling off")
    print(f"  throughput {result['rps']:.0f} req/s ({result['seconds']:.2f} s, "
          f"{result['errors']} errors)")
    print(f"  latency p50 {result['p50_ms']:.1f} ms, p95 {result['p95_ms']:.1f} ms, "
          f"p99 {result['p99_ms']:.1f} ms, mean {result['mean_ms']:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
