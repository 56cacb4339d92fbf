"""The README's main command: the demo runs the whole story against the session's Azurite
and exits 0, printing API calls but no token or storage key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_demo_runs_every_step_and_exits_zero(storage_connection: str, tmp_path: Path) -> None:
    finished = subprocess.run(
        [sys.executable, "-m", "local.demo", "--storage", storage_connection,
         "--reports-dir", str(tmp_path)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=280,
    )

    output = finished.stdout + finished.stderr
    assert finished.returncode == 0, output[-4000:]
    for heading in ("1. The local stack", "2. Tenants and access", "3. Capture one",
                    "4. Back up every tenant", "5. Restore after drift",
                    "7. Deploy a baseline to a new customer"):
        assert f"== {heading}" in output
    assert "POST   202  /api/tenants/" in output
    assert "== 7. Reports" in output
    for name in ("tenant.html", "tenant.md", "changes.html", "changes.md"):
        assert str((tmp_path / name).resolve()) in output
        assert (tmp_path / name).stat().st_size > 500
    assert "Done in" in output
    assert "eyJ" not in output  # no JWT (header, payload or signature) text
    assert "AccountKey" not in output and "Bearer ey" not in output


def test_demo_rejects_an_invalid_tenant_count_with_exit_code_2() -> None:
    finished = subprocess.run([sys.executable, "-m", "local.demo", "--tenants", "0"],
                              cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)

    assert finished.returncode == 2
    assert "--tenants" in finished.stderr
