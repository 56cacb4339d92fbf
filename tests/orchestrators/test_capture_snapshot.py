"""The capture orchestration replayed without a host."""

from __future__ import annotations

from typing import Any

from activities.contracts.snapshots import (
    CapturePolicies,
    CaptureRun,
    PolicyGroup,
    TransientMode,
)
from orchestrators.capture_snapshot import capture_snapshot
from shared.platform.codes import ErrorCode
from shared.runs.starter import CURRENT_FLOW
from tests.orchestrators.fake_context import FakeContext, run


def _context(capture: Any, *, flow: int | None = None,
             capture_run: Any = None) -> FakeContext:
    scheduled = {"run_id": "run-1", "tenant_id": "tenant-1"}
    if flow is not None:
        scheduled["flow"] = flow
    return FakeContext(input=scheduled, answers={
        "capture_run": capture_run,
        "start_run": lambda _: {
            "status": "running", "backup_set_id": "set-1", "dry_run": False,
            "requested_by": "engineer",
            "parameters": {"policy_type": "configurationPolicies", "policy_id": "p-1"}},
        "capture_policies": capture,
        "finish_run": lambda p: {"status": "settled", "error": p["error"],
                                 "kind": p["backup_set_kind"]},
    })


def test_a_capture_scheduled_now_is_one_activity_whose_output_is_the_settled_run():
    settled = {"status": "succeeded", "counts": {"succeeded": 1}}
    context = _context(None, flow=CURRENT_FLOW, capture_run=lambda _: settled)

    output = run(capture_snapshot, context)

    assert [c.name for c in context.calls] == ["capture_run"]
    job = CaptureRun.from_payload(context.calls[0].input)
    assert (job.run_id, job.tenant_id) == ("run-1", "tenant-1")
    assert job.at == "2025-01-01T01:00:00Z"  # the orchestration's clock
    assert output == settled


def test_a_one_activity_capture_that_kept_failing_takes_the_three_steps_with_their_retries():
    context = _context(lambda _: {"tally": {"succeeded": 1}, "retry": []}, flow=CURRENT_FLOW,
                       capture_run=lambda _: RuntimeError("storage unavailable"))

    output = run(capture_snapshot, context)

    assert [c.name for c in context.calls] == [
        "capture_run", "start_run", "capture_policies", "finish_run"]
    assert output == {"status": "settled", "error": None, "kind": "capture"}


def test_a_capture_whose_one_activity_and_capture_step_kept_failing_ends_with_a_safe_error():
    context = _context(lambda _: RuntimeError("Authorization: Bearer eyJ"), flow=CURRENT_FLOW,
                       capture_run=lambda _: RuntimeError("Authorization: Bearer eyJ"))

    output = run(capture_snapshot, context)

    assert [c.name for c in context.calls][-1] == "finish_run"
    assert output["kind"] == "capture"
    assert output["error"]["code"] == ErrorCode.INTERNAL_ERROR
    assert "Bearer" not in output["error"]["message"]


def test_capture_scheduled_before_the_flow_field_replays_its_three_activities():
    context = _context(lambda _: {"tally": {"succeeded": 1}, "retry": []})

    output = run(capture_snapshot, context)

    assert [c.name for c in context.calls] == ["start_run", "capture_policies", "finish_run"]
    job = CapturePolicies.from_payload(context.named("capture_policies")[0].input)
    assert job.groups == [PolicyGroup("configurationPolicies", ["p-1"])]
    assert (job.mode, job.backup_set_id, job.tenant_id) == (
        TransientMode.RAISE, "set-1", "tenant-1")
    assert output == {"status": "settled", "error": None, "kind": "capture"}


def test_capture_of_the_three_step_flow_whose_activity_kept_failing_finishes_with_a_safe_error():
    context = _context(lambda _: RuntimeError("token=secret"))

    output = run(capture_snapshot, context)

    assert output["error"]["code"] == ErrorCode.INTERNAL_ERROR
    assert "secret" not in output["error"]["message"]
