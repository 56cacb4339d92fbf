"""The restore orchestration replayed without a host: dependency levels, the pre-restore
capture before any write, waves of batches, and a preview that never writes."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from activities.contracts.restore import (
    ApplyItems,
    CaptureLiveItems,
    PreviewItems,
    RestoreBatch,
    RestorePlan,
)
from orchestrators.restore import PARALLEL_BATCHES, restore
from shared.platform.codes import ErrorCode
from shared.runs.model import ItemTally
from tests.orchestrators.fake_context import FakeContext, max_in_flight, run

REF = {"run_id": "run-1", "tenant_id": "tenant-1"}
# Five batches of level 0 (more than one wave), two of level 1, one of level 2.
PLAN = RestorePlan(batches=[
    *[RestoreBatch("roleScopeTags", 0, [f"roleScopeTags.t{n}"]) for n in range(5)],
    RestoreBatch("assignmentFilters", 1, ["assignmentFilters.f0"]),
    RestoreBatch("assignmentFilters", 1, ["assignmentFilters.f1"]),
    RestoreBatch("deviceConfigurations", 2, ["deviceConfigurations.d0"]),
], total=8)
WRITES = ("begin_restore", "capture_live_items", "seal_pre_restore_set", "apply_items",
          "audit_restore_finished")


def _one_succeeded(_: dict) -> dict:
    return asdict(ItemTally(succeeded=1))


def _context(dry_run: bool, **answers: Any) -> FakeContext:
    defaults = {
        "start_run": lambda _: {
            "status": "running", "backup_set_id": "set-1", "dry_run": dry_run,
            "requested_by": "admin",
            "parameters": {"include_assignments": True, "ca_state": "report_only",
                           "item_ids": None}},
        "begin_restore": lambda _: {"pre_restore_backup_set_id": "pre-1"},
        "plan_restore": lambda _: asdict(PLAN),
        "record_progress": lambda _: None,
        "preview_items": _one_succeeded,
        "capture_live_items": lambda _: {"captured": 1},
        "seal_pre_restore_set": lambda _: {"item_count": 8},
        "apply_items": _one_succeeded,
        "audit_restore_finished": lambda _: None,
        "finish_run": lambda p: {"status": "settled", "error": p["error"]},
    }
    return FakeContext(input=dict(REF), answers={**defaults, **answers})


def _order(context: FakeContext) -> list[str]:
    return [call.name for call in context.calls]


def _level(call_input: dict) -> int:
    return {"roleScopeTags": 0, "assignmentFilters": 1, "deviceConfigurations": 2}[
        call_input["policy_type"]]


def test_live_restore_captures_everything_and_seals_before_the_first_write():
    context = _context(dry_run=False)

    run(restore, context)

    order = _order(context)
    assert order[:3] == ["start_run", "begin_restore", "plan_restore"]
    last_capture = max(n for n, name in enumerate(order) if name == "capture_live_items")
    seal = order.index("seal_pre_restore_set")
    assert last_capture < seal < order.index("apply_items")
    finishes = [call.name for what, call in context.events if what == "finish"]
    assert finishes.index("seal_pre_restore_set") > max(
        n for n, name in enumerate(finishes) if name == "capture_live_items")
    captures = [CaptureLiveItems.from_payload(c.input)
                for c in context.named("capture_live_items")]
    assert [c.item_ids for c in captures] == [b.item_ids for b in PLAN.batches]
    assert {(c.pre_restore_backup_set_id, c.include_assignments) for c in captures} == {
        ("pre-1", True)}
    assert order[-2:] == ["audit_restore_finished", "finish_run"]


def test_live_restore_writes_each_level_only_after_the_level_before_finished():
    context = _context(dry_run=False)

    run(restore, context)

    finished: list[int] = []  # levels of the apply batches finished so far
    for what, call in context.events:
        if call.name != "apply_items":
            continue
        level = _level(call.input)
        if what == "start":  # every batch of every lower level has finished
            assert sum(1 for done in finished if done < level) == sum(
                1 for b in PLAN.batches if b.level < level)
        else:
            finished.append(level)
    started = [ApplyItems.from_payload(c.input) for c in context.named("apply_items")]
    assert [s.item_ids for s in started] == [b.item_ids for b in PLAN.batches]
    assert max_in_flight(context, "apply_items") == PARALLEL_BATCHES


def test_live_restore_publishes_the_counters_after_every_wave():
    context = _context(dry_run=False)

    run(restore, context)

    progress = [c.input["counts"] for c in context.named("record_progress")]
    # Plan; level 0 in two waves (4 + 1); level 1; level 2.
    assert [p["processed"] for p in progress] == [0, 4, 5, 7, 8]
    assert {p["total"] for p in progress} == {8}


def test_preview_reads_every_batch_and_never_writes():
    context = _context(dry_run=True)

    output = run(restore, context)

    assert not any(call.name in WRITES for call in context.calls)
    previews = [PreviewItems.from_payload(c.input) for c in context.named("preview_items")]
    assert [p.item_ids for p in previews] == [b.item_ids for b in PLAN.batches]
    assert max_in_flight(context, "preview_items") == PARALLEL_BATCHES
    assert context.named("record_progress")[-1].input["counts"]["processed"] == 8
    assert output["error"] is None


def test_a_failed_apply_batch_waits_for_its_wave_and_stops_before_the_next_level():
    def apply(payload: dict) -> Any:
        if payload["item_ids"] == ["roleScopeTags.t1"]:
            return RuntimeError("kept failing")
        return _one_succeeded(payload)

    context = _context(dry_run=False, apply_items=apply)

    output = run(restore, context)

    applies = context.named("apply_items")
    assert [(a.input["item_ids"], a.input["mode"]) for a in applies] == [
        *[([f"roleScopeTags.t{n}"], "raise") for n in range(PARALLEL_BATCHES)],
        (["roleScopeTags.t1"], "record_failed")]  # its last try failed too
    finished = [call for what, call in context.events if what == "finish"]
    assert all(call in finished[:finished.index(context.named("finish_run")[0])]
               for call in applies)
    assert output["error"]["code"] == ErrorCode.INTERNAL_ERROR
    assert _order(context)[-2:] == ["audit_restore_finished", "finish_run"]


def test_a_batch_whose_last_try_records_its_failures_lets_the_restore_go_on():
    """A batch that exhausted its retries runs once more recording what Graph still refuses
    as failed items; the run then goes on to every later level and ends partial."""
    def apply(payload: dict) -> Any:
        if payload["item_ids"] == ["roleScopeTags.t1"]:
            if payload["mode"] == "raise":
                return RuntimeError("graph kept answering 500")
            return asdict(ItemTally(failed=1))
        return _one_succeeded(payload)

    context = _context(dry_run=False, apply_items=apply)

    output = run(restore, context)

    applied = [a.input["item_ids"] for a in context.named("apply_items")]
    assert sorted(map(tuple, applied)) == sorted(
        [*map(tuple, (b.item_ids for b in PLAN.batches)), ("roleScopeTags.t1",)])
    assert output["error"] is None
    progress = context.named("record_progress")[-1].input["counts"]
    assert (progress["processed"], progress["failed"]) == (8, 1)


def test_a_failed_live_capture_gets_no_last_try():
    """The pre-restore set must be whole before the first write: no batch records a gap."""
    def capture(payload: dict) -> Any:
        if payload["item_ids"] == ["roleScopeTags.t1"]:
            return RuntimeError("kept failing")
        return {"captured": 1}

    context = _context(dry_run=False, capture_live_items=capture)

    output = run(restore, context)

    assert {c.input["mode"] for c in context.named("capture_live_items")} == {"raise"}
    assert not context.named("apply_items")
    assert output["error"]["code"] == ErrorCode.INTERNAL_ERROR
