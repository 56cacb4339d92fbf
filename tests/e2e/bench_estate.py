"""Benchmark (estate): back up T tenants × P policies through the whole product (DESIGN §9).

    .venv/bin/python -m tests.e2e.bench_estate [--tenants 8] [--policies 150] \\
        [--latency-ms 100] [--scale 0.1] [--steps 1,4,8] \\
        [--job backup|drift_check|backup_again]

For each step n (tenants backed up at once) it starts a fresh simulator with n tenants of
``--policies`` policies each, the Intune limits multiplied by ``--scale`` (2 cores cannot
serve the full limits of several tenants) and ``--latency-ms`` on every Graph call, then the
runtime (``python -m local.host``) as a child process on a fresh storage prefix, registers
the tenants and starts one backup per tenant over HTTP at the same moment (``--job
drift_check``: those backups are the baselines, and the drift checks started next are
measured instead; ``--job backup_again``: the next backup, nothing changed meanwhile).
Reported per step:

- wall time from the first start to the last terminal run;
- the throttle bound: Intune's per-app bucket admits ``1000 × scale`` requests per 20 s per
  tenant, after an initial burst of the same size; a tenant that needs R admitted requests
  cannot finish before ``max(0, R - burst) / rate`` — tenants have separate buckets, so the
  estate's bound is the largest tenant's. ``ratio`` = wall / bound;
- 429s received; admitted Graph requests per item (each ``$batch`` entry counts, as
  Intune counts them; 429s not included) and HTTP round trips per item;
- Durable history events per item (all instances of the step's task hub);
- the runtime's peak RSS (VmHWM) and the CPU time it spent during the backups;
- the load average before and after (the machine may be shared).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local.api_client import PolicyVaultClient
from local.azurite import running_azurite
from local.graphsim import GraphSimulator, Limits
from local.graphsim.seed import policy_counts
from local.stack import API_AUDIENCE, patched_environ
from tests.e2e.backup_support import (
    RuntimeProcess,
    add_activity_workers_argument,
    estate,
    history_events,
)

APP_REQUESTS, APP_WRITES, WINDOW_S = 1000, 100, 20.0  # Intune, per app per tenant per 20 s
# Jobs measured after a first backup of every tenant: a drift check against it, or the next
# backup (nothing changed since: the daily case, no new snapshot, version or hint to write).
MEASURED_AFTER = {"drift_check": PolicyVaultClient.drift_check,
                  "backup_again": PolicyVaultClient.backup}


@dataclass
class Step:
    tenants: int
    items: int
    wall_s: float
    bound_s: float
    throttled: int
    requests: int
    round_trips: int
    history: int
    peak_rss_mb: float
    cpu_s: float
    statuses: dict[str, int]
    load: tuple[str, str]

    @property
    def ratio(self) -> float:
        return self.wall_s / self.bound_s if self.bound_s > 0 else float("nan")


def _load() -> str:
    return Path("/proc/loadavg").read_text().split(" ", 1)[0]


def cpu_seconds(*pids: int) -> float:
    """User + system CPU time of processes ``pids`` so far (``/proc/{pid}/stat``)."""
    ticks = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run_step(tenants: int, args: argparse.Namespace, connection: str, workdir: Path) -> Step:
    limits = Limits.intune(args.scale)
    with ExitStack() as stack:
        sim = stack.enter_context(GraphSimulator(
            tenants=tenants, seed=args.seed, latency_ms=args.latency_ms, limits=limits,
            counts=policy_counts(args.policies)))
        prefix = "bench" + uuid.uuid4().hex[:8]
        # The product spends the same scaled budget the simulator enforces (DESIGN §7).
        stack.enter_context(patched_environ({
            "PV_GRAPH_REQUESTS_PER_20S": str(max(1, round(APP_REQUESTS * args.scale))),
            "PV_GRAPH_WRITES_PER_20S": str(max(1, round(APP_WRITES * args.scale)))}))
        runtime = RuntimeProcess(sim, connection, prefix, workdir / f"runtime-{tenants}.log",
                                 activity_workers=args.activity_workers)
        stack.callback(runtime.stop)
        items = sum(len(estate(sim, t)) for t in sim.tenant_ids)
        token = sim.mint_token(oid="bench", roles=["Platform.Admin"], audience=API_AUDIENCE)
        api = stack.enter_context(PolicyVaultClient(runtime.base_url, token, timeout=120))
        for n, tenant_id in enumerate(sim.tenant_ids):
            api.register_tenant(tenant_id, f"Customer {n + 1}")
        sim.reset()  # fresh buckets, log and stats: registration made no Graph calls anyway
        load_before = _load()
        cpu_before = cpu_seconds(*runtime.pids())

        started = time.monotonic()
        responses = [api.backup(t) for t in sim.tenant_ids]
        runs = [api.wait(r, timeout=args.timeout, poll_s=0.2) for r in responses]
        wall = time.monotonic() - started
        if args.job in MEASURED_AFTER:  # the backups are the baselines; now the job
            sim.clear_requests()
            cpu_before = cpu_seconds(*runtime.pids())
            started = time.monotonic()
            responses = [MEASURED_AFTER[args.job](api, t) for t in sim.tenant_ids]
            runs = [api.wait(r, timeout=args.timeout, poll_s=0.2) for r in responses]
            wall = time.monotonic() - started
        cpu = cpu_seconds(*runtime.pids()) - cpu_before

        log = sim.requests()
        graph = [e for e in log if e["kind"] == "graph"]
        admitted: dict[str, int] = {}
        for entry in graph:
            if entry["status"] != 429:
                admitted[entry["tenant"]] = admitted.get(entry["tenant"], 0) + 1
        capacity = APP_REQUESTS * args.scale
        rate = capacity / WINDOW_S
        bound = max(max(0.0, r - capacity) / rate for r in admitted.values())
        statuses: dict[str, int] = {}
        for run in runs:
            statuses[run["status"]] = statuses.get(run["status"], 0) + 1
        return Step(
            tenants=tenants, items=items, wall_s=wall, bound_s=bound,
            throttled=sum(1 for e in graph if e["status"] == 429),
            requests=sum(admitted.values()),
            round_trips=sum(1 for e in log if e["kind"] in ("graph", "batch")
                            and not e.get("batch")),
            history=history_events(connection, prefix, ""),
            peak_rss_mb=sum(map(_peak_rss_mb, runtime.pids())), cpu_s=cpu, statuses=statuses,
            load=(load_before, _load()))


def _table(steps: list[Step], args: argparse.Namespace) -> str:
    head = (f"estate {args.job}: {args.policies} policies/tenant (seed mix), latency "
            f"{args.latency_ms:g} ms, Intune limits × {args.scale:g} "
            f"({APP_REQUESTS * args.scale:g} requests / {WINDOW_S:g} s per tenant), "
            f"{os.cpu_count()} cores")
    cols = ("tenants", "items", "wall s", "bound s", "ratio", "429s", "req/item",
            "trips/item", "hist/item", "peak RSS MB", "CPU s", "runs", "load 1m before→after")
    rows: list[tuple[Any, ...]] = []
    for s in steps:
        rows.append((s.tenants, s.items, f"{s.wall_s:.1f}", f"{s.bound_s:.1f}",
                     f"{s.ratio:.2f}", s.throttled, f"{s.requests / s.items:.2f}",
                     f"{s.round_trips / s.items:.2f}", f"{s.history / s.items:.2f}",
                     f"{s.peak_rss_mb:.0f}", f"{s.cpu_s:.1f}",
                     " ".join(f"{k}={v}" for k, v in sorted(s.statuses.items())),
                     f"{s.load[0]}→{s.load[1]}"))
    widths = [max(len(str(c)), *(len(str(r[i])) for r in rows)) for i, c in enumerate(cols)]
    lines = [head, "  ".join(str(c).rjust(w) for c, w in zip(cols, widths, strict=True))]
    lines += ["  ".join(str(v).rjust(w) for v, w in zip(r, widths, strict=True)) for r in rows]
    if len(steps) > 1:
        first, last = steps[0], steps[-1]
        lines.append(f"growth {first.tenants}→{last.tenants} tenants: wall × "
                     f"{last.wall_s / first.wall_s:.2f} for items × "
                     f"{last.items / first.items:.2f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.e2e.bench_estate",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--tenants", type=int, default=8)
    parser.add_argument("--policies", type=int, default=150, help="per tenant")
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--scale", type=float, default=0.1,
                        help="multiplies the Intune limits (2 cores: 0.1)")
    parser.add_argument("--steps", default=None,
                        help="tenant counts to run, comma-separated (default: 1,T/2,T)")
    parser.add_argument("--seed", type=int, default=1)
    add_activity_workers_argument(parser)
    parser.add_argument("--timeout", type=float, default=600.0, help="per run")
    parser.add_argument("--job", choices=("backup", *MEASURED_AFTER), default="backup",
                        help="drift_check: measure drift checks against a backup made first; "
                             "backup_again: measure the backup after it (nothing changed)")
    args = parser.parse_args(argv)
    default = sorted({1, max(1, args.tenants // 2), args.tenants})
    steps = [int(s) for s in args.steps.split(",")] if args.steps else default
    workdir = Path(tempfile.mkdtemp(prefix="pv-bench-estate-"))
    results = []
    with ExitStack() as stack:
        connection = os.environ.get("PV_TEST_STORAGE") or stack.enter_context(
            running_azurite()).connection_string
        for tenants in steps:
            results.append(run_step(tenants, args, connection, workdir))
            print(_table(results[-1:], args).splitlines()[-1], flush=True)
    print()
    print(_table(results, args))
    print(f"(runtime logs in {workdir})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
