"""`python -m local.host.bench`: HTTP throughput and latency of the local runtime.

Starts Azurite and `python -m local.host` (a subprocess, as in production use) with a tiny
app, then sends GET requests from N concurrent aiohttp clients and prints requests/s and
latency percentiles. A measurement, not a test: nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

from local.azurite import REPO_ROOT, free_port, running_azurite

BENCH_APP = Path(__file__).resolve().parent / "bench_app"


async def _wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError("local.host exited during start-up")
            try:
                async with session.get(url) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("local.host did not answer in time")


async def _load(url: str, requests: int, concurrency: int) -> tuple[list[float], int, float]:
    """Send `requests` GETs from `concurrency` workers; return latencies, errors, seconds."""
    latencies: list[float] = []
    errors = 0
    remaining = requests
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            nonlocal remaining, errors
            while remaining > 0:
                remaining -= 1
                started = time.perf_counter()
                try:
                    async with session.get(url) as response:
                        await response.read()
                        ok = response.status == 200
                except aiohttp.ClientError:
                    ok = False
                latencies.append(time.perf_counter() - started)
                errors += 0 if ok else 1

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return latencies, errors, time.perf_counter() - began


def _percentile(sorted_values: list[float], fraction: float) -> float:
    index = min(len(sorted_values) - 1, round(fraction * (len(sorted_values) - 1)))
    return sorted_values[index]


def _report(path: str, latencies: list[float], errors: int, seconds: float,
            concurrency: int) -> str:
    ordered = sorted(latencies)
    ms = [v * 1000 for v in ordered]
    return (
        f"{path:<18} {len(latencies):>6} req  {concurrency:>3} clients  "
        f"{len(latencies) / seconds:>8.0f} req/s  p50 {_percentile(ms, .5):6.2f} ms  "
        f"p95 {_percentile(ms, .95):6.2f} ms  p99 {_percentile(ms, .99):6.2f} ms  "
        f"mean {statistics.fmean(ms):6.2f} ms  errors {errors}"
    )


async def _measure(base_url: str, paths: list[str], requests: int, concurrency: int) -> None:
    for path in paths:
        await _load(base_url + path, min(500, requests), concurrency)  # warm-up
        latencies, errors, seconds = await _load(base_url + path, requests, concurrency)
        print(_report(path, latencies, errors, seconds, concurrency), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.host.bench")
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--paths", nargs="+", default=["/api/health", "/api/health-async"])
    args = parser.parse_args(argv)
    port = free_port()
    with running_azurite() as azurite:
        env = dict(os.environ, AzureWebJobsStorage=azurite.connection_string,
                   PYTHONPATH=os.pathsep.join(
                       p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH")) if p),
                   PV_HOST_LOG_LEVEL="WARNING")
        process = subprocess.Popen(
            [sys.executable, "-m", "local.host", "--port", str(port)],
            cwd=BENCH_APP, env=env, stdout=subprocess.DEVNULL,
        )
        try:
            base_url = f"http://127.0.0.1:{port}"
            asyncio.run(_wait_ready(base_url + args.paths[0], process))
            print(f"local.host bench: {args.requests} requests per path, "
                  f"{args.concurrency} concurrent clients, python {sys.version.split()[0]}, "
                  f"{os.cpu_count()} CPUs", flush=True)
            asyncio.run(_measure(base_url, args.paths, args.requests, args.concurrency))
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
