"""The bounded chaos run in CI (issue 19): two trials — a backup and a live restore — each
killed with SIGKILL at random moments under 10% Graph 503s and the Intune limits; every check
of ``tests.e2e.chaos`` must hold. ``python -m tests.e2e.chaos --trials 30`` is the full run."""

from __future__ import annotations

import pytest

from tests.e2e.chaos import Chaos, run_trials, summary

pytestmark = pytest.mark.slow


@pytest.mark.timeout(1200)  # two runtimes per trial under throttling: minutes, not a target
def test_chaos_two_trials_lose_nothing_double_nothing_and_leak_nothing(stack, sim, tmp_path):
    try:
        results = run_trials(sim, stack.storage_connection, 2, seed=19, log_dir=tmp_path,
                             kinds=("backup", "restore"))
    finally:
        sim.reset()  # the session's simulator: limits and seed back as they were

    print(summary(results))
    assert {r.kind: r.problems for r in results} == {"backup": [], "restore": []}
    assert sum(r.kills for r in results) >= 2


def test_chaos_checks_catch_doubled_items_and_counters_that_differ_from_rows():
    run = {"status": "partial", "error": None,
           "counts": {"total": 2, "processed": 2, "succeeded": 2, "failed": 0, "skipped": 0}}
    items = [{"item_id": "a", "status": "succeeded"}, {"item_id": "a", "status": "failed"}]

    problems = Chaos._common(run, items)

    assert len(problems) == 3  # not succeeded, an id twice, counters ≠ rows
