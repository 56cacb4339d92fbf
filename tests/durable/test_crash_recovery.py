"""kill -9 at arbitrary moments, restart: every orchestration finishes with the output of an
uninterrupted run and no activity is lost (activities are at-least-once)."""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
FAN, CHAIN = 40, 6


class Runtime:
    """The test app served by `tests.durable.runner` in a child process."""

    def __init__(self, connection: str, prefix: str, log: Path) -> None:
        self.log = log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.durable.runner", connection, prefix],
            cwd=REPO, stdout=subprocess.PIPE, stderr=self.log, env={**os.environ})
        line = self.proc.stdout.readline().decode() if self.proc.stdout else ""
        assert line.startswith("READY "), f"runner did not start: {line!r} (see {log})"
        self.base, self.key = line.split()[1:3]

    def start(self, payload: dict) -> str:
        response = requests.post(f"{self.base}/api/start/crash_workload", json=payload,
                                 timeout=30)
        assert response.status_code == 202, response.text
        return response.json()["id"]

    def status(self, instance_id: str) -> dict:
        response = requests.get(
            f"{self.base}/runtime/webhooks/durabletask/instances/{instance_id}",
            headers={"x-functions-key": self.key}, timeout=30)
        return response.json()

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self.log.close()

    def terminate(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(60)
        self.log.close()
        return code


def ledger_lines(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


def wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.fixture
def runtimes(storage_connection: str, storage_prefix: str, tmp_path: Path) -> Iterator[list]:
    started: list[Runtime] = []

    def launch() -> Runtime:
        runtime = Runtime(storage_connection, storage_prefix, tmp_path / "runtime.log")
        started.append(runtime)
        return runtime
    yield [launch]
    for runtime in started:
        if runtime.proc.poll() is None:
            runtime.kill()


@pytest.mark.slow
def test_kill9_and_restart_finish_every_orchestration_with_identical_output(
        runtimes: list, tmp_path: Path) -> None:
    launch = runtimes[0]
    ledger = tmp_path / "ledger.txt"

    def job(tag: str) -> dict:
        return {"tag": tag, "ledger": str(ledger), "fan": FAN, "chain": CHAIN}

    first = launch()
    reference = first.start(job("ref"))
    wait_until(lambda: first.status(reference)["runtimeStatus"] == "Completed", 60, "reference")
    expected = first.status(reference)["output"]
    assert expected == {"fan_sum": 2 * sum(range(FAN)),
                        "chain": [2 * (1000 + s) for s in range(CHAIN)], "sub": 14}

    tags = ["k0", "k1", "k2"]
    instances = {tag: first.start(job(tag)) for tag in tags[:2]}

    def progress() -> int:
        return sum(1 for line in ledger_lines(ledger) if not line.startswith("ref:"))
    wait_until(lambda: progress() >= 30, 60, "fan-out progress")
    instances["k2"] = first.start(job("k2"))         # acknowledged (202) ...
    first.kill()                                     # ... then killed at once; k0/k1 mid fan-out

    second = launch()
    before = progress()
    wait_until(lambda: progress() >= before + 45, 90, "progress after restart")
    second.kill()                                    # somewhere in fan-out / chain

    third = launch()
    for tag, instance in instances.items():
        wait_until(lambda i=instance: third.status(i)["runtimeStatus"] not in
                   ("Pending", "Running"), 120, f"{tag} to finish")
        final = third.status(instance)
        assert final["runtimeStatus"] == "Completed", final
        assert final["output"] == expected

    runs = collections.Counter(ledger_lines(ledger))
    for tag in tags:
        wanted = [f"{tag}:{i}" for i in range(FAN)] + [f"{tag}:{1000 + s}" for s in range(CHAIN)]
        missing = [key for key in wanted if runs[key] == 0]
        assert not missing, f"activities lost: {missing}"
    assert third.terminate() == 0                    # SIGTERM drains and exits cleanly
