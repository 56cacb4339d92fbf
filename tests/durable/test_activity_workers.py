"""`python -m local.host --activity-workers N`: activities run in worker processes, each a
competing consumer of the work-item queue; orchestrations and HTTP stay in the main process.
Real processes, real Azurite, the conformance app."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from local.azurite import free_port

REPO = Path(__file__).resolve().parents[2]
APP = "tests.durable.app.function_app:app"
KEY = "workers-test-key"


@dataclass
class Runtime:
    process: subprocess.Popen[bytes]
    base_url: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def worker_pids(self) -> list[int]:
        return [int(p) for p in re.findall(r"activity worker \d+ started \(pid (\d+)\)",
                                           self.output())]

    def run(self, name: str, payload: object, timeout: float = 60) -> dict:
        """Start orchestration ``name`` over HTTP and wait until it is terminal."""
        started = httpx.post(f"{self.base_url}/api/start/{name}", json=payload, timeout=30)
        assert started.status_code == 202, started.text
        status_url = (f"{self.base_url}/runtime/webhooks/durabletask/instances/"
                      f"{started.json()['id']}")
        status = wait_for(lambda: _terminal(httpx.get(
            status_url, headers={"x-functions-key": KEY}, timeout=30).json()),
            f"orchestration {name}", timeout)
        assert status["runtimeStatus"] == "Completed", status
        return status


def _terminal(status: dict) -> dict | None:
    return status if status.get("runtimeStatus") in ("Completed", "Failed",
                                                     "Terminated") else None


def wait_for(probe, what: str, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while not (value := probe()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return value


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    return state != "Z"


@pytest.fixture
def runtime(storage_connection: str, storage_prefix: str, tmp_path: Path) -> Iterator[Runtime]:
    (tmp_path / "host.json").write_text(json.dumps({"version": "2.0", "extensions": {
        "durableTask": {"hubName": "WorkersHub"}}}))
    log = tmp_path / "host.log"
    port = free_port()
    env = {**os.environ, "AzureWebJobsStorage": storage_connection,
           "PV_STORAGE_PREFIX": storage_prefix, "DURABLE_SYSTEM_KEY": KEY,
           "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "local.host", "--app", APP, "--script-root", str(tmp_path),
             "--port", str(port), "--activity-workers", "1"],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    running = Runtime(process, f"http://127.0.0.1:{port}", log)
    try:
        wait_for(lambda: "takes the work items" in running.output() or process.poll() is not None,
                 "the runtime and its worker to start")
        assert process.poll() is None, running.output()
        yield running
    finally:
        pids = running.worker_pids()
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(60)
        for pid in pids:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_activities_run_in_the_worker_and_orchestrations_finish_in_the_main_process(
        runtime: Runtime) -> None:
    status = runtime.run("where_activities_run", {"count": 12, "pause": 0.01})

    (worker,) = runtime.worker_pids()
    assert status["output"] == [worker] * 12
    assert runtime.process.pid != worker
    assert "process_id ran [worker=1]" in runtime.output()  # one log, worker lines tagged
    assert "in activity workers" in runtime.output()  # the main process's summary says so


def test_a_worker_that_dies_is_started_again_and_takes_new_work(runtime: Runtime) -> None:
    (first,) = runtime.worker_pids()
    os.kill(first, signal.SIGKILL)
    wait_for(lambda: len(runtime.worker_pids()) == 2, "the worker to be started again")
    second = runtime.worker_pids()[1]
    wait_for(lambda: runtime.output().count("takes the work items") == 2,
             "the new worker to start")

    status = runtime.run("where_activities_run", {"count": 3, "pause": 0})

    assert status["output"] == [second] * 3
    assert "activity worker 1 exited with -9; starting it again" in runtime.output()


def test_sigterm_stops_the_workers_and_the_main_process_cleanly(runtime: Runtime) -> None:
    (worker,) = runtime.worker_pids()
    runtime.process.send_signal(signal.SIGTERM)

    assert runtime.process.wait(60) == 0
    assert not alive(worker)


def test_a_worker_stops_when_the_main_process_is_killed(runtime: Runtime) -> None:
    """Even SIGKILL of the main process leaves no orphan: the worker's lifeline closes."""
    (worker,) = runtime.worker_pids()
    runtime.process.send_signal(signal.SIGKILL)
    runtime.process.wait(10)

    wait_for(lambda: not alive(worker), "the orphaned worker to stop", timeout=40)
