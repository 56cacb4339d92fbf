"""`python -m tests.e2e.chaos [--trials N] [--seed S]`: kill -9 the runtime at random moments
of backups, live restores and drift checks, under 10% Graph 503s and the Intune limits, and
check after each trial that nothing was lost, doubled or leaked (issue 19).

Each trial gets its own storage prefix and task hub and a freshly seeded simulator tenant.
A trial starts its run, waits for a random number of Graph requests (so the kill lands
anywhere: listing, capture, pre-restore capture, creates, assignments, bookkeeping), kills
the runtime with SIGKILL — once or twice — restarts it, and waits for the run to finish.
Then it checks:

- the run ended ``succeeded``;
- one item row per object (per backed-up object, per item of the restored set, per checked
  object), no item id twice;
- no object created twice (a live restore: the tenant's names are the backup's, once each);
- counters equal rows;
- no plaintext secret (the app's client secret, a JWT, a bearer header) in any table, blob,
  queue message or the runtime's log.

The CI test (``tests/e2e/test_chaos.py``) runs two trials; the README's figures come from
``--trials 30`` (ten per run type). Kills that land after the run finished are counted apart.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from azure.data.tables import TableServiceClient
from azure.storage.blob import BlobServiceClient
from azure.storage.queue import QueueServiceClient

from local.api_client import PolicyVaultClient
from local.graphsim import GraphSimulator
from local.graphsim.throttle import Limits
from shared.platform.storage import expand_connection_string
from tests.e2e.backup_support import (
    RuntimeProcess,
    add_activity_workers_argument,
    estate,
    wait_until,
)
from tests.e2e.restore_support import live
from tests.e2e.test_safety import _leaks

KINDS = ("backup", "restore", "drift_check")
RESTORED = ("deviceConfigurations", "assignmentFilters", "roleScopeTags",
            "deviceCompliancePolicies")
FAULT_RATE = 0.10
RUN_TIMEOUT_S = 900.0


@dataclass
class Trial:
    kind: str
    kills: int = 0
    late_kills: int = 0  # the run had finished before the kill landed
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


class Chaos:
    """One simulator and Azurite for every trial; a runtime child process per life."""

    def __init__(self, sim: GraphSimulator, connection: str, log_dir: Path,
                 rng: random.Random, activity_workers: int = 0) -> None:
        self.sim, self.connection, self.log_dir, self.rng = sim, connection, log_dir, rng
        self.activity_workers = activity_workers
        self.oid = "chaos-" + uuid.uuid4().hex[:8]

    # ---- one trial ----------------------------------------------------------------------
    def trial(self, kind: str, n: int) -> Trial:
        result, started_at = Trial(kind), time.monotonic()
        self.sim.reset()
        self.sim.clear_faults()
        self.sim.set_limits(Limits.intune())
        prefix = f"c{n}" + uuid.uuid4().hex[:8]
        log = self.log_dir / f"trial-{n}-{kind}.log"
        tenant_id = self.sim.tenant_ids[n % len(self.sim.tenant_ids)]
        runtime = self._runtime(prefix, log)
        try:
            with self._api(runtime) as api:
                api.register_tenant(tenant_id, f"Chaos customer {n}")
                prepare = {"backup": self._prepare_backup, "restore": self._prepare_restore,
                           "drift_check": self._prepare_drift}[kind]
                start, check = prepare(api, tenant_id)
                self.sim.add_fault("503", rate=FAULT_RATE, retry_after=1)
                started = start(api)
                if started.status_code != 202:
                    result.problems.append(f"start answered {started.status_code}")
                    return result
                run_id = started.json()["run_id"]
            for _ in range(self.rng.choice((1, 1, 2))):
                runtime = self._kill_somewhere(runtime, prefix, log, tenant_id, run_id, result)
            with self._api(runtime) as api:
                run = api.wait(api.run(tenant_id, run_id), timeout=RUN_TIMEOUT_S, poll_s=0.5)
                items = api.items(tenant_id, run_id)
                self.sim.clear_faults()
                result.problems += self._common(run, items)
                result.problems += check(api, run, items)
        except Exception as exc:  # a trial that broke is a failed trial, not a crash
            result.problems.append(f"{type(exc).__name__}: {exc}")
        finally:
            self.sim.clear_faults()
            runtime.stop()
            result.problems += self._secrets(prefix, log)
            result.seconds = time.monotonic() - started_at
        return result

    def _kill_somewhere(self, runtime: RuntimeProcess, prefix: str, log: Path,
                        tenant_id: str, run_id: str, result: Trial) -> RuntimeProcess:
        """Wait for a random number of Graph requests, SIGKILL, start a new runtime."""
        cursor = self.sim.request_cursor()
        wanted = self.rng.randint(1, 120)
        with self._api(runtime) as api:
            def moment() -> bool:
                if api.run(tenant_id, run_id).json()["status"] not in ("queued", "running"):
                    return True
                return len(self.sim.requests(cursor)) >= wanted
            wait_until(moment, RUN_TIMEOUT_S, "a moment to kill", poll_s=0.02)
            finished = api.run(tenant_id, run_id).json()["status"] not in ("queued", "running")
        runtime.kill()
        result.kills += 1
        result.late_kills += finished
        return self._runtime(prefix, log)

    def _runtime(self, prefix: str, log: Path) -> RuntimeProcess:
        return RuntimeProcess(self.sim, self.connection, prefix, log, self.activity_workers)

    def _api(self, runtime: RuntimeProcess) -> PolicyVaultClient:
        return runtime.client(self.oid)

    # ---- run types --------------------------------------------------------------------
    Start = Callable[[PolicyVaultClient], Any]
    Check = Callable[[PolicyVaultClient, dict, list], list[str]]

    def _prepare_backup(self, api: PolicyVaultClient, tenant_id: str) -> tuple[Start, Check]:
        expected = set(estate(self.sim, tenant_id))

        def check(api: PolicyVaultClient, run: dict, items: list) -> list[str]:
            got = {(i["policy_type"], i["policy_id"]) for i in items
                   if i["status"] == "succeeded"}
            return [] if got == expected else [
                f"backup items differ from the tenant: {len(expected - got)} missing, "
                f"{len(got - expected)} unexpected"]
        return (lambda api: api.backup(tenant_id)), check

    def _baseline(self, api: PolicyVaultClient, tenant_id: str,
                  types: list[str] | None) -> dict:
        run = api.wait(api.backup(tenant_id, types), timeout=RUN_TIMEOUT_S, poll_s=0.5)
        if run["status"] != "succeeded":
            raise AssertionError(f"the baseline backup ended {run['status']}")
        return run

    def _prepare_restore(self, api: PolicyVaultClient, tenant_id: str) -> tuple[Start, Check]:
        source = self._baseline(api, tenant_id, list(RESTORED))
        names = {t: Counter(o.get("displayName") for o in live(self.sim, tenant_id, t))
                 for t in RESTORED}
        for policy_type in RESTORED:  # drift: delete some, change the others
            for n, obj in enumerate(live(self.sim, tenant_id, policy_type)):
                if policy_type == "roleScopeTags" and str(obj["id"]) == "0":
                    continue  # the built-in Default tag
                if n % 2:
                    self.sim.drift(tenant_id, policy_type, obj["id"], op="delete")
                else:
                    self.sim.drift(tenant_id, policy_type, obj["id"],
                                   patch={"description": f"drifted {uuid.uuid4()}"})
        expected = {i["item_id"] for i in api.backup_set(tenant_id, source["backup_set_id"])[
            "items"]}

        def check(api: PolicyVaultClient, run: dict, items: list) -> list[str]:
            problems = []
            if {i["item_id"] for i in items} != expected:
                problems.append("restore items differ from the set's items")
            for policy_type in RESTORED:
                now = Counter(o.get("displayName") for o in live(self.sim, tenant_id,
                                                                 policy_type))
                if now != names[policy_type]:
                    twice = sorted(n for n, c in now.items() if c > 1)
                    problems.append(f"{policy_type}: live names differ from the backup's "
                                    f"(twice: {twice[:5]})")
            return problems

        return (lambda api: api.restore(tenant_id, source["backup_set_id"], dry_run=False)), \
            check

    def _prepare_drift(self, api: PolicyVaultClient, tenant_id: str) -> tuple[Start, Check]:
        source = self._baseline(api, tenant_id, None)
        changed = live(self.sim, tenant_id, "deviceConfigurations")[:3]
        for obj in changed:
            self.sim.drift(tenant_id, "deviceConfigurations", obj["id"],
                           patch={"description": f"drifted {uuid.uuid4()}"})
        expected = len(estate(self.sim, tenant_id))

        def check(api: PolicyVaultClient, run: dict, items: list) -> list[str]:
            problems = []
            objects = {(i["policy_type"], i["policy_id"]) for i in items}
            if len(objects) < expected:
                problems.append(f"drift check saw {len(objects)} of {expected} objects")
            drifted = {i["policy_id"] for i in items if i["action"] == "drifted"}
            if not {o["id"] for o in changed} <= drifted:
                problems.append("a changed object was not reported drifted")
            return problems

        return (lambda api: api.drift_check(tenant_id, source["backup_set_id"])), check

    # ---- checks -----------------------------------------------------------------------
    @staticmethod
    def _common(run: dict, items: list) -> list[str]:
        problems = []
        if run["status"] != "succeeded":
            problems.append(f"run ended {run['status']}: {run.get('error')}")
        ids = [i["item_id"] for i in items]
        if len(ids) != len(set(ids)):
            problems.append(f"{len(ids) - len(set(ids))} item ids recorded twice")
        statuses = Counter(i["status"] for i in items)
        counts = run["counts"]
        rows = {"total": len(items), "processed": len(items),
                "succeeded": statuses["succeeded"], "failed": statuses["failed"],
                "skipped": statuses["skipped"]}
        if counts != rows:
            problems.append(f"counters {counts} differ from the rows {rows}")
        return problems

    def _secrets(self, prefix: str, log: Path) -> list[str]:
        connection = expand_connection_string(self.connection)
        texts: dict[str, str] = {"log": log.read_text(errors="replace") if log.exists() else ""}
        with TableServiceClient.from_connection_string(connection) as tables:
            for table in tables.list_tables():
                if table.name.lower().startswith(prefix.lower()):
                    rows = tables.get_table_client(table.name).list_entities()
                    texts[f"table {table.name}"] = json.dumps(list(rows), default=str)
        with BlobServiceClient.from_connection_string(connection) as blobs:
            for container in blobs.list_containers(name_starts_with=prefix):
                box = blobs.get_container_client(container.name)
                texts[f"blobs {container.name}"] = b"".join(
                    box.download_blob(b.name).readall() for b in box.list_blobs()
                ).decode("latin-1")
        with QueueServiceClient.from_connection_string(connection) as queues:
            for queue in queues.list_queues(name_starts_with=prefix):
                messages = queues.get_queue_client(queue.name).peek_messages(max_messages=32)
                texts[f"queue {queue.name}"] = "".join(m.content or "" for m in messages)
        return [f"{where}: {', '.join(found)}" for where, text in texts.items()
                if (found := _leaks(text, self.sim.client_secret))]


def run_trials(sim: GraphSimulator, connection: str, trials: int, seed: int,
               log_dir: Path, kinds: tuple[str, ...] = KINDS,
               activity_workers: int = 0) -> list[Trial]:
    chaos = Chaos(sim, connection, log_dir, random.Random(seed), activity_workers)
    results = []
    for n in range(trials):
        result = chaos.trial(kinds[n % len(kinds)], n)
        print(f"trial {n + 1}/{trials} {result.kind}: {'ok' if result.ok else 'FAILED'} "
              f"({result.kills} kills, {result.late_kills} after the end, "
              f"{result.seconds:.0f}s) {'; '.join(result.problems)}", flush=True)
        results.append(result)
    return results


def summary(results: list[Trial]) -> str:
    lines = []
    for kind in sorted({r.kind for r in results}):
        mine = [r for r in results if r.kind == kind]
        lines.append(f"{kind}: {sum(r.ok for r in mine)}/{len(mine)} trials clean, "
                     f"{sum(r.kills for r in mine)} kills "
                     f"({sum(r.late_kills for r in mine)} after the run finished), "
                     f"{sum(r.seconds for r in mine) / len(mine):.0f}s per trial")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.e2e.chaos", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=6)
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--kinds", default=",".join(KINDS))
    add_activity_workers_argument(parser, "; a kill takes them too")
    args = parser.parse_args(argv)
    kinds = tuple(k for k in args.kinds.split(",") if k)
    from local.azurite import running_azurite

    with tempfile.TemporaryDirectory(prefix="pv-chaos-") as work, \
            running_azurite() as azurite, GraphSimulator(tenants=3, seed=args.seed) as sim:
        results = run_trials(sim, azurite.connection_string, args.trials, args.seed,
                             Path(work), kinds, args.activity_workers)
    print(summary(results))
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
