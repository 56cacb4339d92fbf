"""Helpers for the backup end-to-end tests and the estate benchmark: what the simulator
holds, what the app stored (read with the plain Azure SDKs), and a runtime in a child
process that a test may kill -9."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import TableServiceClient
from azure.storage.queue import BinaryBase64DecodePolicy, QueueClient

from local.api_client import PolicyVaultClient
from local.graphsim import GraphSimulator
from local.stack import API_AUDIENCE, stack_environment
from shared.graph import CATALOG
from shared.platform.storage import expand_connection_string

REPO = Path(__file__).resolve().parents[2]
HUB = "PolicyVault"  # host.json durableTask.hubName


def estate(sim: GraphSimulator, tenant_id: str) -> dict[tuple[str, str], dict[str, Any]]:
    """Every object of every catalog type in the simulated tenant that a backup captures
    (built-ins an entry leaves out are not), by (type, id); a singleton as the product
    captures it: its key as id, only its ``singleton_property``."""
    out = {}
    for rtype in CATALOG:
        for obj in sim.objects(tenant_id, rtype.key):
            if rtype.singleton:
                doc = obj[rtype.singleton_property] if rtype.singleton_property else obj
                out[(rtype.key, rtype.key)] = {**doc, "id": rtype.key}
            elif rtype.captures(obj):
                out[(rtype.key, str(obj["id"]))] = obj
    return out


def rows(connection: str, table: str, partition: str | None = None) -> list[dict[str, Any]]:
    """Entities of ``table`` (the full, prefixed name), optionally of one partition."""
    service = TableServiceClient.from_connection_string(expand_connection_string(connection))
    with service:
        client = service.get_table_client(table)
        try:
            if partition is None:
                return list(client.list_entities())
            return list(client.query_entities("PartitionKey eq @p",
                                              parameters={"p": partition}))
        except ResourceNotFoundError:
            return []


def run_events(connection: str, queue: str) -> list[dict[str, Any]]:
    """Receive and delete every message now on the ``run-events`` queue (full name)."""
    client = QueueClient.from_connection_string(
        expand_connection_string(connection), queue,
        message_decode_policy=BinaryBase64DecodePolicy())
    out: list[dict[str, Any]] = []
    with client:
        try:
            while batch := list(client.receive_messages(max_messages=32)):
                for message in batch:
                    out.append(json.loads(message.content))
                    client.delete_message(message)
        except ResourceNotFoundError:
            return []
    return out


def history_events(connection: str, prefix: str, instance_prefix: str) -> int:
    """History events of every orchestration instance whose id starts with
    ``instance_prefix`` (a run's instance and its sub-orchestrations)."""
    return sum(int(row.get("HistoryCount") or 0)
               for row in rows(connection, f"{prefix}{HUB}Instances")
               if row["PartitionKey"].startswith(instance_prefix))


def wait_until(predicate: Callable[[], Any], timeout: float, what: str,
               poll_s: float = 0.05) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(poll_s)


@contextmanager
def private_runtime(sim: GraphSimulator, connection: str, log_dir: Path
                    ) -> Iterator[RuntimeProcess]:
    """A runtime child process on a fresh storage prefix, stopped at the end."""
    runtime = RuntimeProcess(sim, connection, "t" + uuid.uuid4().hex[:10],
                             log_dir / "runtime.log")
    try:
        yield runtime
    finally:
        runtime.stop()


def register_tenants(client: PolicyVaultClient, sim: GraphSimulator) -> None:
    for n, tenant_id in enumerate(sim.tenant_ids):
        client.register_tenant(tenant_id, f"Customer {n + 1}")


def add_activity_workers_argument(parser: argparse.ArgumentParser, note: str = "") -> None:
    """A benchmark's ``--activity-workers N``: passed on to ``python -m local.host``."""
    parser.add_argument("--activity-workers", type=int, default=0,
                        help=f"the runtime's activity worker processes (local.host){note}")


class RuntimeProcess:
    """``python -m local.host`` serving function_app.py in a child process, configured for
    the simulator and the given storage prefix (its own tables, queues, blobs and task hub,
    so nothing another test stored is visible to it)."""

    def __init__(self, sim: GraphSimulator, connection: str, prefix: str, log: Path,
                 activity_workers: int = 0) -> None:
        self.prefix = prefix
        self.connection = connection
        self._sim = sim
        self.log = log
        self._start = log.stat().st_size if log.exists() else 0
        self._out = log.open("ab")  # stdout and stderr: a pipe nobody reads would fill up
        env = {**os.environ, **stack_environment(sim, connection, prefix),
               "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "local.host", "--port", "0",
             "--activity-workers", str(activity_workers)], cwd=REPO, env=env,
            stdout=self._out, stderr=subprocess.STDOUT)
        self.base_url = wait_until(self._listening_url, 120, f"the runtime (see {log})")

    def _listening_url(self) -> str | None:
        if self.proc.poll() is not None:
            raise AssertionError(f"the runtime exited with {self.proc.returncode}; see {self.log}")
        with self.log.open("rb") as f:
            f.seek(self._start)
            match = re.search(r"listening on (\S+)", f.read().decode(errors="replace"))
        return match.group(1).rstrip("/") if match else None

    def pids(self) -> list[int]:
        """The runtime's process and its activity workers (its child processes)."""
        pid = self.proc.pid
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            children = []
        return [pid, *map(int, children)]

    def client(self, oid: str, roles: list[str] | None = None) -> PolicyVaultClient:
        """An API client acting as ``oid`` (a Platform.Admin unless ``roles`` say otherwise)."""
        token = self._sim.mint_token(oid=oid, roles=["Platform.Admin"] if roles is None
                                     else roles, audience=API_AUDIENCE)
        return PolicyVaultClient(self.base_url, token)

    def rows(self, table: str, partition: str | None = None) -> list[dict[str, Any]]:
        """Entities of one of the app's tables (name without the prefix)."""
        return rows(self.connection, self.prefix + table, partition)

    def kill(self) -> None:
        """SIGKILL, activity workers included (the instance dies): no drain, no clean-up —
        held messages reappear after their timeout."""
        pids = self.pids()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.proc.wait(30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.kill()
        self._out.close()
