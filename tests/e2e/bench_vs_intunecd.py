"""Benchmark: PolicyVault and IntuneCD 2.6.0 back up the same simulated tenants (DESIGN §9).

    .venv/bin/pip install -r requirements-bench.txt   # once: IntuneCD, benchmark only
    .venv/bin/python -m tests.e2e.bench_vs_intunecd [--objects 950] [--tenants 20] \\
        [--per-tenant 95] [--latency-ms 100] [--scale 1.0] [--only big|estate] \\
        [--mix settings-catalog|seed]

Both tools run in one process tree against one Graph simulator with the same latency and the
same Intune limits (``--scale`` multiplies them; 1.0 is Intune's 1,000 requests and 100
writes per 20 s per app per tenant), one after the other, each on fresh throttling buckets:

- **big**: one tenant of about ``--objects`` objects;
- **estate**: ``--tenants`` tenants of about ``--per-tenant`` objects. PolicyVault backs them
  all up at once (one ``POST …/backups`` per tenant); IntuneCD runs once per tenant, one
  after another, as MSP pipelines run it.

PolicyVault runs as the local Functions runtime (a child process, storage on Azurite);
IntuneCD runs unmodified in a child process (``tests.e2e.intunecd_runner``) that redirects its
``https://graph.microsoft.com`` calls to the simulator and authenticates with a
simulator-issued token (``--token``). Reported per tool: wall time, Graph requests (each
``$batch`` entry counts, as Intune counts them), requests per object, 429s, and the ratio of
IntuneCD's time to PolicyVault's.

``--mix settings-catalog`` (the default) is the tenant the issue measured: per 95 objects,
78 settings catalog policies, 6 device configurations, 5 compliance policies, 2 driver
update profiles and 4 app protection policies, beside the seed's few objects of every other
type. ``--mix seed`` spreads the objects over every catalog type as the seed does.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from local.azurite import running_azurite
from local.graphsim import GraphSimulator, Limits
from local.graphsim.seed import policy_counts
from tests.e2e.backup_support import REPO, RuntimeProcess, add_activity_workers_argument, estate

# Per 95 objects: the settings-catalog-heavy tenant of real exports the issue measured.
SETTINGS_CATALOG_MIX = {"configurationPolicies": 78, "deviceConfigurations": 6,
                        "deviceCompliancePolicies": 5, "windowsDriverUpdateProfiles": 2,
                        "iosManagedAppProtections": 2, "androidManagedAppProtections": 2}


def counts_for(mix: str, objects: int) -> dict[str, int]:
    if mix == "seed":
        return policy_counts(objects)
    copies = max(1, round(objects / sum(SETTINGS_CATALOG_MIX.values())))
    return {key: n * copies for key, n in SETTINGS_CATALOG_MIX.items()}


@dataclass
class Measure:
    tool: str
    objects: int
    wall_s: float
    requests: int
    throttled: int
    outcome: str

    @property
    def per_object(self) -> float:
        return self.requests / self.objects if self.objects else float("nan")


def _graph_counts(sim: GraphSimulator) -> tuple[int, int]:
    """(requests, 429s) in the simulator's log: Graph calls, each $batch entry counted."""
    graph = [e for e in sim.requests() if e["kind"] == "graph"]
    return len(graph), sum(1 for e in graph if e["status"] == 429)


def run_policyvault(sim: GraphSimulator, connection: str, workdir: Path,
                    timeout: float, activity_workers: int = 0) -> Measure:
    objects = sum(len(estate(sim, t)) for t in sim.tenant_ids)
    runtime = RuntimeProcess(sim, connection, "vs" + uuid.uuid4().hex[:8],
                             workdir / "policyvault-runtime.log", activity_workers)
    try:
        with runtime.client("bench") as api:
            for n, tenant_id in enumerate(sim.tenant_ids):
                api.register_tenant(tenant_id, f"Customer {n + 1}")
            sim.reset()  # fresh buckets and log; the data is the seed's again
            started = time.monotonic()
            responses = [api.backup(t) for t in sim.tenant_ids]
            runs = [api.wait(r, timeout=timeout, poll_s=0.2) for r in responses]
            wall = time.monotonic() - started
    finally:
        runtime.stop()
    requests, throttled = _graph_counts(sim)
    statuses = sorted({r["status"] for r in runs})
    return Measure("PolicyVault", objects, wall, requests, throttled, ",".join(statuses))


def run_intunecd(sim: GraphSimulator, workdir: Path, timeout: float) -> Measure:
    """IntuneCD once per tenant, one after another."""
    objects = sum(len(estate(sim, t)) for t in sim.tenant_ids)
    sim.reset()
    env = {**os.environ, "REQUESTS_CA_BUNDLE": str(sim.bundle_file),
           "SSL_CERT_FILE": str(sim.bundle_file)}
    failures = 0
    started = time.monotonic()
    for n, tenant_id in enumerate(sim.tenant_ids):
        out = workdir / f"intunecd-{n}"
        out.mkdir()
        with (workdir / f"intunecd-{n}.log").open("wb") as log:
            done = subprocess.run(
                [sys.executable, "-m", "tests.e2e.intunecd_runner", "--graph-url",
                 sim.base_url, "--token", sim.graph_token(tenant_id), "--path", str(out)],
                cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, timeout=timeout)
        failures += done.returncode != 0
    wall = time.monotonic() - started
    requests, throttled = _graph_counts(sim)
    return Measure("IntuneCD 2.6.0", objects, wall, requests, throttled,
                   "ok" if not failures else f"{failures} runs failed")


def scenario(name: str, tenants: int, objects: int, args: argparse.Namespace,
             connection: str, workdir: Path) -> list[Measure]:
    limits = Limits.intune(args.scale)
    with GraphSimulator(tenants=tenants, seed=args.seed, latency_ms=args.latency_ms,
                        limits=limits, counts=counts_for(args.mix, objects)) as sim:
        here = workdir / name
        here.mkdir()
        pv = run_policyvault(sim, connection, here, args.timeout, args.activity_workers)
        icd = run_intunecd(sim, here, args.timeout)
    return [pv, icd]


def _table(title: str, measures: list[Measure]) -> str:
    pv, icd = measures
    lines = [title,
             f"{'tool':<16}{'objects':>8}{'wall s':>9}{'requests':>10}{'req/obj':>9}"
             f"{'429s':>7}  outcome"]
    for m in measures:
        lines.append(f"{m.tool:<16}{m.objects:>8}{m.wall_s:>9.1f}{m.requests:>10}"
                     f"{m.per_object:>9.2f}{m.throttled:>7}  {m.outcome}")
    lines.append(f"IntuneCD time / PolicyVault time: {icd.wall_s / pv.wall_s:.2f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.e2e.bench_vs_intunecd",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--objects", type=int, default=950, help="objects of the big tenant")
    parser.add_argument("--tenants", type=int, default=20)
    parser.add_argument("--per-tenant", type=int, default=95)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies the Intune limits")
    parser.add_argument("--only", choices=("big", "estate"), default=None)
    parser.add_argument("--mix", choices=("settings-catalog", "seed"),
                        default="settings-catalog")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=900.0, help="per run")
    add_activity_workers_argument(parser)
    args = parser.parse_args(argv)
    try:
        import IntuneCD  # noqa: F401
    except ImportError:
        print("IntuneCD is not installed: .venv/bin/pip install -r requirements-bench.txt",
              file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="pv-bench-vs-intunecd-"))
    header = (f"{args.mix} mix, latency {args.latency_ms:g} ms per Graph call, Intune limits × "
              f"{args.scale:g}, {os.cpu_count()} cores")
    with ExitStack() as stack:
        connection = os.environ.get("PV_TEST_STORAGE") or stack.enter_context(
            running_azurite()).connection_string
        if args.only in (None, "big"):
            measures = scenario("big", 1, args.objects, args, connection, workdir)
            print(_table(f"one tenant of ~{args.objects} objects; {header}", measures),
                  flush=True)
            print()
        if args.only in (None, "estate"):
            measures = scenario("estate", args.tenants, args.per_tenant, args, connection,
                                workdir)
            print(_table(f"{args.tenants} tenants × ~{args.per_tenant} objects (IntuneCD one "
                         f"tenant after another); {header}", measures), flush=True)
    print(f"(logs in {workdir})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
