"""`python -m tests.e2e.soak [--minutes 30] [--clients 50]`: mixed load against the runtime
for a while, then memory growth, stuck runs and 5xx counts (issue 19). Not part of CI.

Each client loops until the time is up, picking at random: capture one policy, back up one
type, preview a restore of the tenant's first backup, list runs, or poll a run it started.
The runtime runs in a child process (``python -m local.host``, as deployed locally); its
resident memory is sampled every ``--sample-s`` seconds and compared between the end of the
warm-up (the first fifth) and the end. Once the load stops, every run started is given
``--settle-s`` seconds to finish; those still queued or running count as stuck.

Targets: memory growth < 10% after warm-up, 0 stuck runs, 0 5xx.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from local.graphsim import GraphSimulator
from tests.e2e.backup_support import RuntimeProcess

TYPES = ("deviceConfigurations", "configurationPolicies", "assignmentFilters",
         "deviceCompliancePolicies")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Soak:
    def __init__(self, sim: GraphSimulator, runtime: RuntimeProcess, seconds: float,
                 seed: int) -> None:
        self.sim, self.runtime, self.seconds = sim, runtime, seconds
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.statuses: Counter[int] = Counter()
        self.ops: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()  # requests without an answer
        self.runs: dict[str, str] = {}  # run id → tenant id
        self.sets: dict[str, str] = {}  # tenant id → a backup set to preview

    def prepare(self) -> None:
        with self.runtime.client("soak-admin") as api:
            for n, tenant_id in enumerate(self.sim.tenant_ids):
                api.register_tenant(tenant_id, f"Soak customer {n}")
                run = api.wait(api.backup(tenant_id, list(TYPES)), timeout=600)
                self.sets[tenant_id] = run["backup_set_id"]

    def client(self, n: int, deadline: float) -> None:
        rng = random.Random(f"{n}")
        mine: list[tuple[str, str]] = []
        with self.runtime.client(f"soak-{n}") as api:
            while time.monotonic() < deadline:
                tenant_id = rng.choice(self.sim.tenant_ids)
                op = rng.choice(("capture", "backup", "preview", "list", "poll", "poll"))
                try:
                    response = self._one(api, rng, op, tenant_id, mine)
                except httpx.TransportError as exc:  # no answer within the client's 30 s
                    with self.lock:
                        self.errors[type(exc).__name__] += 1
                    continue
                if response is None:
                    continue
                if op in ("capture", "backup", "preview") and response.status_code == 202:
                    mine.append((tenant_id, response.json()["run_id"]))
                with self.lock:
                    self.statuses[response.status_code] += 1
                    self.ops[op] += 1
                    if op in ("capture", "backup", "preview") and response.status_code == 202:
                        self.runs[response.json()["run_id"]] = tenant_id
                time.sleep(rng.uniform(0.05, 0.3))

    def _one(self, api, rng: random.Random, op: str, tenant_id: str,
             mine: list[tuple[str, str]]) -> httpx.Response | None:
        if op == "capture":
            policy = rng.choice(self.sim.objects(tenant_id, "deviceConfigurations"))
            return api.capture(tenant_id, "deviceConfigurations", policy["id"])
        if op == "backup":
            return api.request("POST", f"/api/tenants/{tenant_id}/backups",
                               json={"policy_types": [rng.choice(TYPES)]},
                               headers={"Idempotency-Key": uuid.uuid4().hex})
        if op == "preview":
            return api.restore(tenant_id, self.sets[tenant_id], dry_run=True)
        if op == "list":
            return api.request("GET", f"/api/tenants/{tenant_id}/runs", params={"top": "20"})
        if mine:
            run_tenant, run_id = rng.choice(mine)
            return api.run(run_tenant, run_id)
        return None

    def run(self, clients: int, sample_s: float, settle_s: float) -> dict:
        started = time.monotonic()
        deadline = started + self.seconds
        samples: list[tuple[float, float]] = []
        with ThreadPoolExecutor(clients) as pool:
            futures = [pool.submit(self.client, n, deadline) for n in range(clients)]
            while time.monotonic() < deadline:
                samples.append((time.monotonic() - started, rss_mb(self.runtime.proc.pid)))
                time.sleep(sample_s)
            for future in futures:
                future.result()
        samples.append((time.monotonic() - started, rss_mb(self.runtime.proc.pid)))
        warm = [mb for at, mb in samples if at >= self.seconds / 5] or [samples[-1][1]]
        stuck = self._stuck(settle_s)
        return {"requests": sum(self.statuses.values()), "ops": dict(self.ops),
                "5xx": sum(c for s, c in self.statuses.items() if s >= 500),
                "statuses": dict(self.statuses), "no_answer": dict(self.errors),
                "runs": len(self.runs), "stuck": stuck,
                "rss_after_warmup_mb": warm[0], "rss_end_mb": samples[-1][1],
                "rss_peak_mb": max(mb for _, mb in samples),
                "growth_pct": 100 * (samples[-1][1] - warm[0]) / warm[0] if warm[0] else 0.0}

    def _stuck(self, settle_s: float) -> int:
        deadline = time.monotonic() + settle_s
        pending = dict(self.runs)
        with self.runtime.client("soak-admin") as api:
            while pending and time.monotonic() < deadline:
                for run_id, tenant_id in list(pending.items()):
                    if api.run(tenant_id, run_id).status_code == 200:  # terminal
                        del pending[run_id]
                time.sleep(1)
        return len(pending)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.e2e.soak", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--sample-s", type=float, default=10.0)
    parser.add_argument("--settle-s", type=float, default=300.0)
    parser.add_argument("--seed", type=int, default=19)
    args = parser.parse_args(argv)
    from local.azurite import running_azurite

    with tempfile.TemporaryDirectory(prefix="pv-soak-") as work, running_azurite() as azurite, \
            GraphSimulator(tenants=3, seed=args.seed) as sim:
        runtime = RuntimeProcess(sim, azurite.connection_string, "s" + uuid.uuid4().hex[:8],
                                 Path(work) / "runtime.log")
        try:
            soak = Soak(sim, runtime, args.minutes * 60, args.seed)
            soak.prepare()
            report = soak.run(args.clients, args.sample_s, args.settle_s)
        finally:
            runtime.stop()
    for name, value in report.items():
        print(f"{name}: {value if not isinstance(value, float) else round(value, 1)}")
    ok = (report["growth_pct"] < 10 and report["stuck"] == 0 and report["5xx"] == 0
          and not report["no_answer"])
    print("targets met" if ok else "targets missed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
