"""Start `python -m local.host` as a subprocess, and bounded polling."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import httpx

from local.azurite import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
APP_DIR = Path(__file__).resolve().parent / "app"
APP_IMPORT = "tests.local_host.app.function_app:app"
T = TypeVar("T")


def wait_until(probe: Callable[[], T], what: str, timeout: float = 20.0) -> T:
    """Poll `probe` until it returns something truthy; fail naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def host_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PV_TEST_STORAGE",)}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH")) if p)
    env.update(extra)
    return env


def run_host(args: list[str], cwd: Path, env: dict[str, str], timeout: float = 30):
    """Run the host to completion (for start-up failures)."""
    return subprocess.run(
        [sys.executable, "-m", "local.host", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
    )


@dataclass
class HostProcess:
    base_url: str
    process: subprocess.Popen[bytes]
    stdout_path: Path
    stderr_path: Path

    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    def stop(self, timeout: float = 20) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)


@contextmanager
def host_process(
    log_dir: Path, env: dict[str, str], *, cwd: Path = APP_DIR, app: str = "function_app:app",
    ready_path: str = "/api/ping",
) -> Iterator[HostProcess]:
    port = free_port()
    stdout_path, stderr_path = log_dir / "host.out", log_dir / "host.err"
    with stdout_path.open("wb") as out, stderr_path.open("wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "local.host", "--app", app, "--port", str(port)],
            cwd=cwd, env=env, stdout=out, stderr=err,
        )
    host = HostProcess(f"http://127.0.0.1:{port}", process, stdout_path, stderr_path)

    def ready() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"host exited: {stderr_path.read_text()}")
        try:
            return httpx.get(host.base_url + ready_path, timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_until(ready, "the host to answer", timeout=30)
        yield host
    finally:
        try:
            host.stop()
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
