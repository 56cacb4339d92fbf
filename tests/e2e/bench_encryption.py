"""Benchmark: what snapshot encryption costs a backup (DESIGN §12), as a percentage.

    .venv/bin/python -m tests.e2e.bench_encryption [--tenants 4] [--policies 150] \\
        [--latency-ms 100] [--scale 0.1] [--rounds 20]

Encryption cannot be switched off, so its cost is measured where it is spent and related to a
real backup:

1. per snapshot, over the documents of the estate the backup reads (the simulator's seed mix),
   best of ``--rounds``: the write path before encryption (canonical JSON + SHA-256) against
   the write path now (canonical JSON + HMAC-SHA256 + AES-256-GCM seal), and the read path
   (JSON parse, against open + parse);
2. one estate backup through the whole product (``bench_estate.run_step``: HTTP, Durable,
   Azurite, the simulator), with the runtime's CPU time during it.

The added cost is (now − before) × the snapshots the backup stored, plus one data key unwrap
per tenant, reported against the runtime's CPU time (the backup is CPU-bound in that process)
and against the backup's wall time.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from local.azurite import running_azurite
from local.graphsim import GraphSimulator
from local.graphsim.seed import policy_counts
from shared.crypto.envelope import DataKey
from shared.crypto.kek import LocalKek
from shared.graph.documents import canonical_json
from tests.e2e.backup_support import estate
from tests.e2e.bench_estate import run_step


def _documents(tenants: int, policies: int, seed: int) -> list[tuple[str, dict[str, Any]]]:
    with GraphSimulator(tenants=tenants, seed=seed, counts=policy_counts(policies)) as sim:
        return [(tenant, doc) for tenant in sim.tenant_ids
                for doc in estate(sim, tenant).values()]


def _best(rounds: int, work: Callable[[], None]) -> float:
    """Seconds of the fastest of ``rounds`` runs of ``work``."""
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def measure_crypto(documents: list[tuple[str, dict[str, Any]]], rounds: int) -> dict[str, float]:
    keys = {tenant: DataKey.generate(tenant, 1) for tenant, _ in documents}
    named = [(keys[t], f"{t}/type/id/{n}.json", doc) for n, (t, doc) in enumerate(documents)]
    sealed = [(key, path, key.seal(path, canonical_json(doc))) for key, path, doc in named]
    plain = [canonical_json(doc) for _, _, doc in named]
    kek = LocalKek(os.urandom(32))
    wrapped = asyncio.run(kek.wrap(os.urandom(32)))

    def before() -> None:
        for _, _, doc in named:
            hashlib.sha256(canonical_json(doc)).hexdigest()

    def now() -> None:
        for key, path, doc in named:
            data = canonical_json(doc)
            key.digest(data)
            key.seal(path, data)

    def read_before() -> None:
        for data in plain:
            json.loads(data)

    def read_now() -> None:
        for key, path, blob in sealed:
            json.loads(key.open(path, blob))

    async def unwraps() -> None:
        for _ in range(100):
            await kek.unwrap(wrapped)

    def unwrap() -> None:
        asyncio.run(unwraps())

    return {
        "documents": len(named),
        "mean_bytes": statistics.mean(len(p) for p in plain),
        "write_before_s": _best(rounds, before), "write_now_s": _best(rounds, now),
        "read_before_s": _best(rounds, read_before), "read_now_s": _best(rounds, read_now),
        "unwrap_s": _best(3, unwrap) / 100,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.e2e.bench_encryption",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--tenants", type=int, default=4)
    parser.add_argument("--policies", type=int, default=150, help="per tenant")
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--scale", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--timeout", type=float, default=600.0, help="per run")
    args = parser.parse_args(argv)

    crypto = measure_crypto(_documents(args.tenants, args.policies, args.seed), args.rounds)
    n = crypto["documents"]
    per_doc = {k: crypto[k] / n * 1e6 for k in
               ("write_before_s", "write_now_s", "read_before_s", "read_now_s")}
    print(f"{n} snapshots, {crypto['mean_bytes'] / 1024:.1f} KiB mean canonical JSON")
    print(f"write path per snapshot: {per_doc['write_before_s']:.1f} µs before "
          f"(canonical JSON + SHA-256), {per_doc['write_now_s']:.1f} µs now "
          f"(+ HMAC + AES-256-GCM seal): +{per_doc['write_now_s'] - per_doc['write_before_s']:.1f}"
          f" µs")
    print(f"read path per snapshot: {per_doc['read_before_s']:.1f} µs before (JSON parse), "
          f"{per_doc['read_now_s']:.1f} µs now (open + parse)")
    print(f"data key unwrap (local KEK): {crypto['unwrap_s'] * 1e6:.1f} µs, once per tenant")

    with ExitStack() as stack:
        connection = os.environ.get("PV_TEST_STORAGE") or stack.enter_context(
            running_azurite()).connection_string
        workdir = Path(tempfile.mkdtemp(prefix="pv-bench-encryption-"))
        step = run_step(args.tenants, args, connection, workdir)
    added = ((crypto["write_now_s"] - crypto["write_before_s"]) * step.items / n
             + crypto["unwrap_s"] * args.tenants)
    print(f"backup of {args.tenants} tenants, {step.items} items: wall {step.wall_s:.1f} s, "
          f"runtime CPU {step.cpu_s:.1f} s ({step.statuses})")
    print(f"encryption adds {added * 1e3:.1f} ms of CPU: {100 * added / step.cpu_s:.2f}% of the "
          f"runtime's CPU time, {100 * added / step.wall_s:.2f}% of the wall time")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
