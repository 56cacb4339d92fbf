"""kill -9 during a live restore that recreates 30 objects, restart: the run completes and the
tenant holds each object exactly once (intent recorded before every create, DESIGN §8)."""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from local.api_client import PolicyVaultClient
from local.stack import API_AUDIENCE, REPO_ROOT, stack_environment
from tests.e2e.restore_support import backup, live

OBJECTS = 30


class Runtime:
    """`python -m local.host` serving function_app.py in a child process we can kill -9."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "local.host", "--port", "0", "--script-root",
             str(REPO_ROOT)], cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT)
        self.base = ""
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:  # log lines until the summary names the URL
            line = raw.decode(errors="replace")
            self.log.write(raw)
            if "listening on " in line:
                self.base = line.split("listening on ", 1)[1].strip()
                break
        assert self.base, f"runtime did not start (see {log})"
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            if not self.log.closed:
                self.log.write(raw)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self.log.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.kill()
                return
        self.log.close()


def _creates(sim, cursor: int) -> int:
    return sum(1 for e in sim.requests(cursor)
               if e["method"] == "POST" and e["path"].rstrip("/").endswith(
                   "/deviceConfigurations"))


def _wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.mark.slow
def test_kill_9_mid_restore_then_restart_recreates_each_object_once(
        stack, sim, storage_connection, tmp_path):
    sim.reset(counts={"deviceConfigurations": OBJECTS})
    tenant_id = sim.tenant_ids[0]
    env = {**os.environ, **stack_environment(sim, storage_connection,
                                             "pvk" + uuid.uuid4().hex[:8])}
    token = sim.mint_token(oid=str(uuid.uuid4()), roles=["Platform.Admin"],
                           audience=API_AUDIENCE)
    runtimes = [Runtime(env, tmp_path / "runtime.log")]
    try:
        with PolicyVaultClient(runtimes[0].base, token) as api:
            api.register_tenant(tenant_id, "Crash customer")
            source = backup(api, tenant_id, ["deviceConfigurations"])
            originals = live(sim, tenant_id, "deviceConfigurations")
            assert len(originals) == OBJECTS
            for policy in originals:
                sim.drift(tenant_id, "deviceConfigurations", policy["id"], op="delete")
            sim.set_latency(100)  # writes take a moment, so the kill lands mid-restore
            cursor = sim.request_cursor()
            started = api.restore(tenant_id, source["backup_set_id"], dry_run=False)
            assert started.status_code == 202
            _wait_until(lambda: _creates(sim, cursor) >= 8, 120, "the first creates")
        runtimes[0].kill()
        at_kill = _creates(sim, cursor)
        assert at_kill < OBJECTS
        sim.set_latency(0)

        runtimes.append(Runtime(env, tmp_path / "runtime.log"))
        with PolicyVaultClient(runtimes[1].base, token) as api:
            run = api.wait(started, timeout=240)
            items = api.items(tenant_id, run["run_id"])
    finally:
        sim.set_latency(0)
        for runtime in runtimes:
            runtime.stop()

    assert run["status"] == "succeeded", run
    assert collections.Counter(i["action"] for i in items) == {"created": OBJECTS}
    names = collections.Counter(o["displayName"]
                                for o in live(sim, tenant_id, "deviceConfigurations"))
    assert names == collections.Counter(o["displayName"] for o in originals)
    assert max(names.values()) == 1
    print(f"creates before the kill: {at_kill}, in all: {_creates(sim, cursor)}")
    assert _creates(sim, cursor) >= OBJECTS
