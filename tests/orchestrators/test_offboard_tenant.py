"""The offboarding orchestration replayed without a host: it stops the tenant's runs until
none is left (waiting between looks), purges their instances page by page, sweeps every
entry of the ownership table until an entry finds less than a page, drains, does it all
again, deletes the tenant row last and reports what it stopped and deleted — and a step
that keeps failing ends the run failed with the tenant row (and its mark) kept."""

from __future__ import annotations

from typing import Any

from orchestrators.offboard_tenant import SWEEP_LIMIT, offboard_tenant
from shared.offboarding.plan import OWNED
from tests.orchestrators.fake_context import TIMER, FakeContext, run

REF = {"run_id": "run-1", "tenant_id": "msp"}
STEPS = len(OWNED) + 1
TENANT_ROW = STEPS - 1


def _context(sweep: Any = None, **answers: Any) -> FakeContext:
    looks = iter([["pv-a-1", "pv-a-1:slice:0"], ["pv-a-1"], []])
    pages = iter(["row-50", None])
    full = iter([SWEEP_LIMIT])  # once per round: entry 0 finds a full page, then less

    def swept(payload: dict) -> int:
        return next(full, 0) if payload["step"] == 0 else 1
    defaults = {
        "begin_offboarding": lambda _: {"steps": STEPS, "drain_seconds": 15},
        "stop_tenant_runs": lambda _: next(looks, []),
        "purge_tenant_instances": lambda _: next(pages, None),
        "sweep_tenant_step": sweep or swept,
        "record_progress": lambda _: None,
        "finish_offboarding": lambda p: {"status": "failed" if p["error"] else "succeeded"},
    }
    return FakeContext(input=dict(REF), answers={**defaults, **answers})


def test_offboarding_stops_purges_sweeps_twice_and_deletes_the_tenant_row_last():
    context = _context()

    assert run(offboard_tenant, context) == {"status": "succeeded"}

    names = [c.name for c in context.calls]
    assert names[:6] == ["begin_offboarding", "stop_tenant_runs", TIMER, "stop_tenant_runs",
                         TIMER, "stop_tenant_runs"]
    assert all(c.input["tenant_id"] == "msp" for c in context.calls if c.name != TIMER)
    assert [c.input["after"] for c in context.named("purge_tenant_instances")] == [
        None, "row-50", None]  # the second round finds its first page empty
    steps = [c.input["step"] for c in context.named("sweep_tenant_step")]
    one_round = [*range(TENANT_ROW)]
    assert steps == [0, *one_round, *one_round, TENANT_ROW]  # a full page: asked again
    drain = names.index(TIMER, 6)
    assert names[drain - 1] == "record_progress" and names[drain + 1] == "stop_tenant_runs"
    assert [c.input["counts"]["processed"] for c in context.named("record_progress")] == list(
        range(1, STEPS))
    [finish] = context.named("finish_offboarding")
    assert names[-2:] == ["sweep_tenant_step", "finish_offboarding"]
    swept = SWEEP_LIMIT + 2 * (TENANT_ROW - 1) + 1
    assert (finish.input["error"], finish.input["stopped"], finish.input["deleted"]) == (
        None, 2, swept)


def test_a_step_that_keeps_failing_ends_the_run_failed_and_keeps_the_tenant_row():
    def sweep(payload: dict) -> Any:
        return RuntimeError("storage kept failing") if payload["step"] == 3 else 0

    context = _context(sweep)

    assert run(offboard_tenant, context) == {"status": "failed"}

    assert TENANT_ROW not in [c.input["step"] for c in context.named("sweep_tenant_step")]
    [finish] = context.named("finish_offboarding")
    assert finish.input["error"]["code"] == "internal_error"
