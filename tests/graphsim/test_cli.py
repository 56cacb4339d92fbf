"""`python -m local.graphsim` prints one ready line and serves HTTPS with its CA."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]


def test_cli_prints_ready_line_and_serves_with_generated_ca(tmp_path):
    ca_file = tmp_path / "ca.pem"
    proc = subprocess.Popen(
        [sys.executable, "-m", "local.graphsim", "--port", "0", "--tenants", "2",
         "--ca-file", str(ca_file), "--limits", "intune", "--seed", "3"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        line = proc.stdout.readline().strip()
        assert line.startswith("graphsim listening on https://127.0.0.1:"), (
            line, proc.stderr.read() if proc.poll() is not None else "")
        assert line.endswith("(tenants=2)")
        base = line.split(" ")[3]
        bundle = tmp_path / "ca-bundle.pem"
        assert bundle.read_bytes().endswith(ca_file.read_bytes())
        context = ssl.create_default_context(cafile=str(ca_file))
        with httpx.Client(verify=context) as client:
            tenants = client.get(f"{base}/_sim/tenants").json()
            assert len(tenants) == 2
            meta = client.get(f"{base}/{tenants[0]['id']}/v2.0/.well-known/"
                              "openid-configuration").json()
            assert meta["token_endpoint"] == f"{base}/{tenants[0]['id']}/oauth2/v2.0/token"
            assert client.get(f"{base}/_sim/limits").json()["enabled"] is True
            # The leaf's SAN covers localhost as well as 127.0.0.1.
            localhost = base.replace("127.0.0.1", "localhost")
            assert client.get(f"{localhost}/_sim/tenants").status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert proc.returncode == 0
