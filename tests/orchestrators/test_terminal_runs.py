"""An orchestration started for a run that is already finished does nothing (issue 19,
finding 3): it asks for the run, finds it terminal, and returns it as it is — no plan, no
capture, no write, no finish that could rewrite a set or a pre-restore set."""

from __future__ import annotations

import pytest

from orchestrators.backup_tenant import backup_tenant
from orchestrators.capture_snapshot import capture_snapshot
from orchestrators.check_drift import check_drift
from orchestrators.restore import restore
from tests.orchestrators.fake_context import FakeContext, run

COUNTS = {"total": 3, "processed": 3, "succeeded": 3, "failed": 0, "skipped": 0}


def _finished(status: str):
    def start_run(_: dict) -> dict:
        return {"status": status, "backup_set_id": "set-1", "dry_run": False,
                "requested_by": "admin", "counts": COUNTS,
                "parameters": {"include_assignments": True, "ca_state": "report_only",
                               "item_ids": None, "policy_types": ["assignmentFilters"],
                               "policy_type": "assignmentFilters", "policy_id": "p-1"}}
    return start_run


@pytest.mark.parametrize("orchestrator", [restore, backup_tenant, capture_snapshot, check_drift])
@pytest.mark.parametrize("status", ["succeeded", "failed", "partial"])
def test_an_orchestration_for_a_finished_run_calls_nothing_after_start(orchestrator, status):
    context = FakeContext(input={"run_id": "run-1", "tenant_id": "tenant-1"},
                          answers={"start_run": _finished(status)})

    output = run(orchestrator, context)

    assert [c.name for c in context.calls] == ["start_run"]
    assert output == {"status": status, "counts": COUNTS}
