"""Soak (issue 19): mixed load on the whole product for a long time, then what it left behind.

    .venv/bin/python -m tests.e2e.soak [--minutes 30] [--clients 50] [--tenants 5] \\
        [--policies 40] [--latency-ms 20] [--think 4-12] [--backup-every 120]

One simulator, one runtime (``python -m local.host`` as a child process, so its memory is
its own) on a fresh storage prefix, ``--clients`` threads, each an MSP engineer with its own
token, looping over what a portal does all day: start a one-policy capture, start a tenant
backup (at most one in flight per tenant and one per ``--backup-every`` seconds, as a
scheduler would), poll runs and run items, list
backup sets, read a snapshot, and preview restoring a few policies (1–5) of the newest set,
pausing ``--think`` seconds between two actions as a person at a portal does; and one
integration reads the ``run-events`` feed. Not part of CI.

Reported: answers by status (any 5xx is a finding), request latency p50/p95 per kind, runs
started and how each ended, **stuck runs** (still not terminal ``--drain`` seconds after the
load stops), and the runtime's RSS every ``--sample`` seconds: **memory growth** is the last
minute's mean over the mean of the minute after warm-up (the first 20% of the run). Targets
(issue 19): growth < 10%, 0 stuck runs, 0 5xx.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
from azure.core.exceptions import AzureError
from azure.storage.queue import QueueClient

from local.api_client import PolicyVaultClient
from local.azurite import running_azurite
from local.graphsim import GraphSimulator
from local.graphsim.seed import policy_counts
from shared.runs.notifications import RUN_EVENTS
from tests.e2e.backup_support import RuntimeProcess
from tests.e2e.bench_estate import cpu_seconds

TERMINAL = {"succeeded", "partial", "failed"}
CAPTURED_TYPE = "deviceCompliancePolicies"


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Load:
    """What every client thread records, behind one lock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.statuses: Counter[str] = Counter()
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.errors: Counter[str] = Counter()
        self.runs: dict[str, str] = {}  # run_id -> tenant_id
        self.backing_up: set[str] = set()
        self.backed_up_at: dict[str, float] = {}  # tenant -> when its last backup started
        self.sets: dict[str, list[str]] = defaultdict(list)  # tenant -> backup set ids

    def record(self, kind: str, response: httpx.Response, seconds: float) -> None:
        with self.lock:
            self.statuses[f"{response.status_code // 100}xx"] += 1
            if response.status_code >= 500:
                self.errors[f"{kind} {response.status_code}"] += 1
            self.latency[kind].append(seconds)
            if response.status_code == 202 and "run_id" in response.text:
                body = response.json()
                self.runs[body["run_id"]] = body["tenant_id"]


class Client(threading.Thread):
    def __init__(self, n: int, api: PolicyVaultClient, sim: GraphSimulator, load: Load,
                 stop: threading.Event, seed: int, think: tuple[float, float],
                 backup_every: float) -> None:
        super().__init__(name=f"soak-{n}", daemon=True)
        self.api, self.sim, self.load, self.stop_at = api, sim, load, stop
        self.rng = random.Random(seed)
        self.think, self.backup_every = think, backup_every

    def call(self, kind: str, method: str, path: str, **kwargs: Any) -> httpx.Response | None:
        began = time.monotonic()
        try:
            response = self.api.request(method, path, **kwargs)
        except httpx.HTTPError as exc:  # a refused or timed-out request: a finding too
            with self.load.lock:
                self.load.errors[f"{kind} {type(exc).__name__}"] += 1
            return None
        self.load.record(kind, response, time.monotonic() - began)
        return response

    def run(self) -> None:
        actions = [(self.capture, 3), (self.backup, 1), (self.poll, 6), (self.browse, 3),
                   (self.preview, 1)]
        weighted = [action for action, weight in actions for _ in range(weight)]
        while not self.stop_at.is_set():
            self.rng.choice(weighted)()
            self.stop_at.wait(self.rng.uniform(*self.think))

    def tenant(self) -> str:
        return self.rng.choice(self.sim.tenant_ids)

    def capture(self) -> None:
        tenant = self.tenant()
        policy = self.rng.choice(self.sim.objects(tenant, CAPTURED_TYPE))["id"]
        self.call("capture", "POST",
                  f"/api/tenants/{tenant}/policies/{CAPTURED_TYPE}/{policy}/snapshot",
                  headers={"Idempotency-Key": uuid.uuid4().hex})

    def backup(self) -> None:
        tenant = self.tenant()
        with self.load.lock:
            last = self.load.backed_up_at.get(tenant, -self.backup_every)
            if tenant in self.load.backing_up or time.monotonic() - last < self.backup_every:
                return
            self.load.backing_up.add(tenant)
            self.load.backed_up_at[tenant] = time.monotonic()
        try:
            started = self.call("backup", "POST", f"/api/tenants/{tenant}/backups",
                                json={"label": "soak"},
                                headers={"Idempotency-Key": uuid.uuid4().hex})
            if started is None or started.status_code != 202:
                return
            location = started.json()["links"]["self"]
            while not self.stop_at.is_set():
                polled = self.call("poll run", "GET", location)
                if polled is not None and polled.status_code == 200:
                    body = polled.json()
                    if body.get("backup_set_id"):
                        with self.load.lock:
                            self.load.sets[tenant].append(body["backup_set_id"])
                    return
                self.stop_at.wait(1.0)
        finally:
            with self.load.lock:
                self.load.backing_up.discard(tenant)

    def poll(self) -> None:
        tenant = self.tenant()
        listed = self.call("list runs", "GET", f"/api/tenants/{tenant}/runs", params={"top": 20})
        if listed is None or listed.status_code != 200 or not listed.json()["value"]:
            return
        run = self.rng.choice(listed.json()["value"])
        self.call("get run", "GET", f"/api/tenants/{tenant}/runs/{run['run_id']}")
        self.call("run items", "GET", f"/api/tenants/{tenant}/runs/{run['run_id']}/items",
                  params={"top": 50})

    def browse(self) -> None:
        tenant = self.tenant()
        listed = self.call("list sets", "GET", f"/api/tenants/{tenant}/backups")
        if listed is None or listed.status_code != 200 or not listed.json()["value"]:
            return
        backup_set = listed.json()["value"][0]["backup_set_id"]
        items = self.call("get set", "GET", f"/api/tenants/{tenant}/backups/{backup_set}")
        if items is None or items.status_code != 200 or not items.json().get("items"):
            return
        item = self.rng.choice(items.json()["items"])["item_id"]
        self.call("snapshot", "GET", f"/api/tenants/{tenant}/backups/{backup_set}/items/{item}")

    def preview(self) -> None:
        tenant = self.tenant()
        with self.load.lock:
            sets = list(self.load.sets[tenant])
        if not sets:
            return
        # As at a portal: open the newest set, tick the few policies to put back, preview.
        shown = self.call("get set", "GET", f"/api/tenants/{tenant}/backups/{sets[-1]}")
        if shown is None or shown.status_code != 200 or not shown.json().get("items"):
            return
        items = [item["item_id"] for item in shown.json()["items"]]
        picked = self.rng.sample(items, min(len(items), self.rng.randint(1, 5)))
        self.call("preview", "POST", f"/api/tenants/{tenant}/restores",
                  json={"backup_set_id": sets[-1], "item_ids": picked, "dry_run": True},
                  headers={"Idempotency-Key": uuid.uuid4().hex})


class FeedConsumer(threading.Thread):
    """What an MSP wires to the ``run-events`` feed (a Logic App's queue trigger): receive,
    count, delete. Left unread, the feed grows by two messages a run — harmless to Azure
    Storage, but Azurite scans every message of the account on each queue read, so the
    runtime's queue polling would slow down with it."""

    def __init__(self, connection: str, prefix: str, stop: threading.Event) -> None:
        super().__init__(name="soak-feed", daemon=True)
        self.queue = QueueClient.from_connection_string(connection, prefix + RUN_EVENTS)
        self.stop_at, self.events, self.errors = stop, 0, 0

    def run(self) -> None:
        while not self.stop_at.is_set():
            try:
                messages = list(self.queue.receive_messages(messages_per_page=32,
                                                            max_messages=32))
                for message in messages:
                    self.queue.delete_message(message)
                self.events += len(messages)
            except AzureError:
                self.errors += 1
                messages = []
            if len(messages) < 32:
                self.stop_at.wait(1.0)


def _seconds_range(text: str) -> tuple[float, float]:
    low, _, high = text.partition("-")
    return float(low), float(high or low)


def _percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else values[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.e2e.soak",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--tenants", type=int, default=5)
    parser.add_argument("--policies", type=int, default=40, help="per tenant")
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--sample", type=float, default=10.0, help="RSS sample period, s")
    parser.add_argument("--drain", type=float, default=300.0,
                        help="how long runs may take to finish after the load stops, s")
    parser.add_argument("--think", type=_seconds_range, default=(4.0, 12.0),
                        help="each engineer's pause between two actions, s (e.g. 4-12)")
    parser.add_argument("--backup-every", type=float, default=120.0,
                        help="at least this many seconds between two backups of a tenant")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="pv-soak-"))
    load, stop = Load(), threading.Event()
    with ExitStack() as stack:
        connection = os.environ.get("PV_TEST_STORAGE") or stack.enter_context(
            running_azurite()).connection_string
        sim = stack.enter_context(GraphSimulator(
            tenants=args.tenants, seed=args.seed, latency_ms=args.latency_ms,
            counts=policy_counts(args.policies)))
        runtime = RuntimeProcess(sim, connection, "soak" + uuid.uuid4().hex[:8],
                                 workdir / "runtime.log")
        stack.callback(runtime.stop)
        with runtime.client("soak-admin") as admin:
            for n, tenant_id in enumerate(sim.tenant_ids):
                admin.register_tenant(tenant_id, f"Customer {n + 1}")
        feed = FeedConsumer(connection, runtime.prefix, stop)
        feed.start()
        clients = []
        for n in range(args.clients):
            api = stack.enter_context(runtime.client(f"soak-{n}"))
            clients.append(Client(n, api, sim, load, stop, args.seed * 1000 + n, args.think,
                                  args.backup_every))
        began = time.monotonic()
        cpu_before = cpu_seconds(runtime.proc.pid)
        samples: list[tuple[float, float]] = []
        for client in clients:
            client.start()
        end = began + args.minutes * 60
        while time.monotonic() < end:
            samples.append((time.monotonic() - began, rss_mb(runtime.proc.pid)))
            time.sleep(min(args.sample, max(0.0, end - time.monotonic())))
        stop.set()
        for client in clients:
            client.join(60)
        load_s = time.monotonic() - began
        cpu = cpu_seconds(runtime.proc.pid) - cpu_before
        feed.join(30)
        print(f"load stopped after {load_s:.0f} s: {sum(load.statuses.values())} requests "
              f"{dict(load.statuses)}, errors {dict(load.errors)}, {len(load.runs)} runs; "
              f"RSS samples (s, MB): {[(round(a), round(r)) for a, r in samples[::6]]}; "
              f"{feed.events} run-events read ({feed.errors} failed reads); "
              f"draining…", flush=True)
        drain_began = time.monotonic()
        outcome, stuck = _drain(runtime, load, args.drain)
        drained_s = time.monotonic() - drain_began
        final_rss = rss_mb(runtime.proc.pid)
    print(_report(args, load, samples, load_s, cpu, outcome, stuck, final_rss, drained_s))
    print(f"(runtime log in {workdir})")
    return 0 if not stuck and not load.errors else 1


def _drain(runtime: RuntimeProcess, load: Load, drain_s: float
           ) -> tuple[Counter[str], list[str]]:
    """Wait until every started run is terminal, or ``drain_s`` passes; the rest are stuck
    (returned as ``run_id run_type status``)."""
    deadline = time.monotonic() + drain_s
    pending = dict(load.runs)
    outcome: Counter[str] = Counter()
    last: dict[str, str] = {}
    with runtime.client("soak-admin") as admin:
        while pending:
            for run_id, tenant in list(pending.items()):
                try:
                    run = admin.run(tenant, run_id).json()
                except httpx.HTTPError:  # a busy runtime: ask again on the next round
                    continue
                last[run_id] = f"{run_id} {run['run_type']} {run['status']}"
                if run["status"] in TERMINAL:
                    outcome[f"{run['run_type']} {run['status']}"] += 1
                    del pending[run_id]
            if not pending or time.monotonic() > deadline:
                break
            time.sleep(2)
    return outcome, sorted(last[run_id] for run_id in pending)


def _report(args: argparse.Namespace, load: Load, samples: list[tuple[float, float]],
            load_s: float, cpu: float, outcome: Counter[str], stuck: list[str],
            final_rss: float, drained_s: float) -> str:
    warm = args.minutes * 60 * 0.2
    after_warm = [rss for at, rss in samples if warm <= at < warm + 60] or [samples[-1][1]]
    last = [rss for at, rss in samples if at >= samples[-1][0] - 60]
    growth = statistics.mean(last) / statistics.mean(after_warm) - 1
    total = sum(load.statuses.values())
    lines = [
        f"soak: {args.minutes:g} min, {args.clients} clients, {args.tenants} tenants × "
        f"{args.policies} policies, Graph latency {args.latency_ms:g} ms, {os.cpu_count()} cores, "
        f"{args.think[0]:g}–{args.think[1]:g} s between an engineer's actions, a tenant backed "
        f"up at most every {args.backup_every:g} s",
        f"requests: {total} ({total / load_s:.1f}/s); by status: "
        + ", ".join(f"{k}={v}" for k, v in sorted(load.statuses.items())),
        "5xx and transport errors: " + (", ".join(f"{k}×{v}" for k, v in
                                                  sorted(load.errors.items())) or "none"),
        f"runs started: {len(load.runs)}; ended: "
        + ", ".join(f"{k}={v}" for k, v in sorted(outcome.items()))
        + f"; the last ended {drained_s:.0f} s after the load stopped"
        + f"; stuck after {args.drain:g} s drain: {len(stuck)} {stuck[:5]}",
        f"load 1 min at the end: {Path('/proc/loadavg').read_text().split()[0]}",
        f"runtime RSS: {after_warm[0]:.0f} MB after warm-up → {last[-1]:.0f} MB at the end "
        f"({final_rss:.0f} MB after drain); growth {growth:+.1%} (mean of the last minute vs "
        f"the minute after warm-up); CPU {cpu:.0f} s",
        "latency by request kind (p50 / p95 ms):",
    ]
    for kind, values in sorted(load.latency.items()):
        lines.append(f"  {kind:>10}: {len(values):6d}  {_percentile(values, 50) * 1000:7.1f} / "
                     f"{_percentile(values, 95) * 1000:7.1f}")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
