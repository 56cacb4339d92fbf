"""The capture orchestration replayed without a host."""

from __future__ import annotations

from typing import Any

from activities.contracts.snapshots import CapturePolicies, PolicyGroup, TransientMode
from orchestrators.capture_snapshot import capture_snapshot
from shared.platform.codes import ErrorCode
from tests.orchestrators.fake_context import FakeContext, run


def _context(capture: Any) -> FakeContext:
    return FakeContext(input={"run_id": "run-1", "tenant_id": "tenant-1"}, answers={
        "start_run": lambda _: {
            "status": "running", "backup_set_id": "set-1", "dry_run": False,
            "requested_by": "engineer",
            "parameters": {"policy_type": "configurationPolicies", "policy_id": "p-1"}},
        "capture_policies": capture,
        "finish_run": lambda p: {"status": "settled", "error": p["error"],
                                 "kind": p["backup_set_kind"]},
    })


def test_capture_fetches_its_one_policy_and_fails_the_activity_on_transient_faults():
    context = _context(lambda _: {"tally": {"succeeded": 1}, "retry": []})

    output = run(capture_snapshot, context)

    assert [c.name for c in context.calls] == ["start_run", "capture_policies", "finish_run"]
    job = CapturePolicies.from_payload(context.named("capture_policies")[0].input)
    assert job.groups == [PolicyGroup("configurationPolicies", ["p-1"])]
    assert (job.mode, job.backup_set_id, job.tenant_id) == (
        TransientMode.RAISE, "set-1", "tenant-1")
    assert output == {"status": "settled", "error": None, "kind": "capture"}


def test_capture_whose_activity_kept_failing_finishes_the_run_with_a_safe_error():
    context = _context(lambda _: RuntimeError("token=secret"))

    output = run(capture_snapshot, context)

    assert output["error"]["code"] == ErrorCode.INTERNAL_ERROR
    assert "secret" not in output["error"]["message"]
