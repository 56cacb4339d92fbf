"""The drift check orchestration replayed without a host: types checked PARALLEL_TYPES at a
time against the run's baseline, transient types read again, a type whose activity keeps
failing recorded as one failed item, the change log read once after every type, the drift
settled (and alerted) before the run finishes — and a failed attribution never fails it."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from activities.contracts.drift import AttributeChanges, CheckType, CheckTypes
from activities.contracts.snapshots import CapturedType, CapturedTypes, TransientMode
from orchestrators.backup_tenant import ITEM_ATTEMPTS, PARALLEL_TYPES
from orchestrators.check_drift import check_drift
from shared.runs.model import ItemTally
from tests.orchestrators.fake_context import FakeContext, max_in_flight, run

REF = {"run_id": "run-1", "tenant_id": "tenant-1"}
SIZES = {"a": 3, "b": 1, "c": 4, "d": 2, "e": 5}
SINCE = "2025-01-01T00:00:00Z"


def _checked(payload: dict) -> dict:
    job = CheckType.from_payload(payload)
    size = SIZES[job.policy_type]
    return asdict(CapturedType(job.policy_type, listed=size, tally=ItemTally(succeeded=size)))


def _context(check: Any = _checked, **answers: Any) -> FakeContext:
    defaults = {
        "start_run": lambda _: {"status": "running", "backup_set_id": "baseline-1",
                                "parameters": {"policy_types": list(SIZES), "since": SINCE},
                                "dry_run": False, "requested_by": "engineer"},
        "check_type": check,
        "record_unchecked": lambda p: asdict(CapturedType(p["policy_type"], listed=1,
                                                          tally=ItemTally(failed=1))),
        "record_progress": lambda _: None,
        "attribute_changes": lambda _: {"attributed": 0},
        "settle_drift": lambda _: {"drift": True, "notified": 1},
        "finish_run": lambda p: {"status": "settled", "error": p["error"]},
    }
    return FakeContext(input=dict(REF), answers={**defaults, **answers})


def _names(context: FakeContext) -> list[str]:
    return [c.name for c in context.calls]


def test_drift_check_reads_every_type_against_the_baseline_then_attributes_once_and_settles():
    context = _context()

    result = run(check_drift, context)

    assert result == {"status": "settled", "error": None}
    checks = [CheckType.from_payload(c.input) for c in context.named("check_type")]
    assert [c.policy_type for c in checks] == list(SIZES)
    assert {c.baseline_backup_set_id for c in checks} == {"baseline-1"}
    assert {c.mode for c in checks} == {TransientMode.RETURN_FOR_RETRY}
    assert max_in_flight(context, "check_type") == PARALLEL_TYPES
    [attribution] = context.named("attribute_changes")
    assert AttributeChanges.from_payload(attribution.input).since == SINCE
    names = _names(context)
    last_check = max(i for i, name in enumerate(names) if name == "check_type")
    assert names.index("attribute_changes") > last_check
    assert names[-3:] == ["attribute_changes", "settle_drift", "finish_run"]
    final = context.named("record_progress")[-1].input["counts"]
    assert final["total"] == final["succeeded"] == sum(SIZES.values())
    assert context.named("finish_run")[0].input["empty_ok"] is True


def test_drift_check_type_refused_transiently_is_read_again_until_the_last_try():
    tries: list[str] = []

    def check(payload: dict) -> dict:
        job = CheckType.from_payload(payload)
        tries.append(f"{job.policy_type}:{job.mode}")
        if job.policy_type == "b" and job.mode is TransientMode.RETURN_FOR_RETRY:
            return asdict(CapturedType("b", retry_type=True))
        return _checked(payload)

    context = _context(check)

    run(check_drift, context)

    assert [t for t in tries if t.startswith("b:")] == [
        *["b:return_for_retry"] * (ITEM_ATTEMPTS - 1), "b:record_failed"]
    assert context.named("record_progress")[-1].input["counts"]["total"] == sum(SIZES.values())


def test_drift_check_type_whose_activity_keeps_failing_is_one_failed_item_and_goes_on():
    def check(payload: dict) -> Any:
        job = CheckType.from_payload(payload)
        return RuntimeError("storage down") if job.policy_type == "c" else _checked(payload)

    context = _context(check)

    result = run(check_drift, context)

    assert result["error"] is None
    [unchecked] = context.named("record_unchecked")
    assert unchecked.input["policy_type"] == "c"
    final = context.named("record_progress")[-1].input["counts"]
    assert (final["total"], final["failed"]) == (sum(SIZES.values()) - SIZES["c"] + 1, 1)


def test_drift_check_failed_attribution_leaves_the_drift_standing():
    context = _context(attribute_changes=lambda _: RuntimeError("audit log down"))

    result = run(check_drift, context)

    assert result["error"] is None
    assert _names(context)[-2:] == ["settle_drift", "finish_run"]


def test_drift_check_whose_settling_fails_finishes_failed():
    context = _context(settle_drift=lambda _: RuntimeError("storage down"))

    result = run(check_drift, context)

    assert result["error"]["code"] == "internal_error"


def test_a_drift_check_recorded_with_types_per_activity_checks_that_many_in_each_activity():
    parameters = {"policy_types": list(SIZES), "since": SINCE, "types_at_once": 6,
                  "types_per_activity": 3, "progress_every": 1}

    def check_several(payload: dict) -> dict:
        job = CheckTypes.from_payload(payload)
        return asdict(CapturedTypes([CapturedType.from_payload(_checked(asdict(job.one(t))))
                                     for t in job.policy_types]))

    context = _context(check_types=check_several, start_run=lambda _: {
        "status": "running", "backup_set_id": "baseline-1", "parameters": parameters,
        "dry_run": False, "requested_by": "engineer"})

    run(check_drift, context)

    assert context.named("check_type") == []
    checks = [CheckTypes.from_payload(c.input) for c in context.named("check_types")]
    assert [c.policy_types for c in checks] == [["a", "b", "c"], ["d", "e"]]
    assert {c.baseline_backup_set_id for c in checks} == {"baseline-1"}
    assert max_in_flight(context, "check_types") == 2
    final = context.named("record_progress")[-1].input["counts"]
    assert final["total"] == final["succeeded"] == sum(SIZES.values())
