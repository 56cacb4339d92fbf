"""Start and stop the Azurite storage emulator (installed by npm into node_modules/).

Used by the test suite, the demo and CI so that every run gets its own emulator on free
ports with its data in a temporary folder. Nothing here is used by the function app.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
AZURITE_BIN = REPO_ROOT / "node_modules" / ".bin" / "azurite"
# The well-known development account every Azurite ships with (documented, not a secret).
ACCOUNT = "devstoreaccount1"
# Seconds Azurite keeps an idle connection open: longer than the client pool keeps it.
KEEP_ALIVE_S = "120"
ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)


@dataclass(frozen=True)
class Azurite:
    host: str
    blob_port: int
    queue_port: int
    table_port: int

    @property
    def connection_string(self) -> str:
        base = f"http://{self.host}"
        return (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
            f"BlobEndpoint={base}:{self.blob_port}/{ACCOUNT};"
            f"QueueEndpoint={base}:{self.queue_port}/{ACCOUNT};"
            f"TableEndpoint={base}:{self.table_port}/{ACCOUNT};"
        )


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _wait_for_ports(host: str, ports: list[int], proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    pending = list(ports)
    while pending:
        if proc.poll() is not None:
            raise RuntimeError(f"azurite exited early with code {proc.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"azurite did not open ports {pending} within {timeout:.0f}s")
        try:
            with socket.create_connection((host, pending[0]), timeout=0.5):
                pending.pop(0)
        except OSError:
            time.sleep(0.1)


@contextmanager
def running_azurite(host: str = "127.0.0.1", log_file: Path | None = None) -> Iterator[Azurite]:
    """Run Azurite on free ports with a throw-away data folder for the duration of the block."""
    if not AZURITE_BIN.exists():
        raise RuntimeError(
            f"{AZURITE_BIN} not found: run 'npm ci' in {REPO_ROOT} (the test and demo "
            "commands do this on first use)"
        )
    emulator = Azurite(host, free_port(host), free_port(host), free_port(host))
    data_dir = tempfile.mkdtemp(prefix="pv-azurite-")
    log = open(log_file, "ab") if log_file else subprocess.DEVNULL
    cmd = [
        str(AZURITE_BIN),
        "--silent",
        "--disableTelemetry",
        "--skipApiVersionCheck",
        "--loose",
        "--location", data_dir,
        "--blobHost", host, "--blobPort", str(emulator.blob_port),
        "--queueHost", host, "--queuePort", str(emulator.queue_port),
        "--tableHost", host, "--tablePort", str(emulator.table_port),
        # Idle connections outlive the client's pool (aiohttp keeps them 15 s), as Azure
        # Storage's do: at Azurite's default 5 s a request sent on a connection it is closing
        # that moment fails "could not be sent" — and azure-core retries no POST.
        "--blobKeepAliveTimeout", KEEP_ALIVE_S,
        "--queueKeepAliveTimeout", KEEP_ALIVE_S,
        "--tableKeepAliveTimeout", KEEP_ALIVE_S,
    ]
    proc = subprocess.Popen(cmd, stdout=log, stderr=log, start_new_session=True)
    try:
        _wait_for_ports(
            host, [emulator.blob_port, emulator.queue_port, emulator.table_port], proc, 60
        )
        yield emulator
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if log is not subprocess.DEVNULL:
            log.close()
        shutil.rmtree(data_dir, ignore_errors=True)


def main() -> int:
    """`python -m local.azurite -- CMD...`: run CMD with AzureWebJobsStorage set to a fresh
    Azurite (and PV_TEST_STORAGE so the test suite reuses it), then stop Azurite."""
    parser = argparse.ArgumentParser(prog="python -m local.azurite")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = [c for c in args.command if c != "--"] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give a command to run, e.g. python -m local.azurite -- pytest")
    with running_azurite() as emulator:
        env = dict(os.environ)
        env["AzureWebJobsStorage"] = emulator.connection_string
        env["PV_TEST_STORAGE"] = emulator.connection_string
        print(f"azurite: blob {emulator.blob_port}, queue {emulator.queue_port}, "
              f"table {emulator.table_port}", flush=True)
        return subprocess.call(command, env=env)


if __name__ == "__main__":
    sys.exit(main())
