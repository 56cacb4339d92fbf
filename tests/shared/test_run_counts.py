"""Run counters: one piece (``Counts`` + ``ItemTally``) for activities and orchestrators."""

from __future__ import annotations

from shared.runs.model import Counts, ItemAction, ItemStatus, ItemTally, RunStatus


def test_tally_counts_item_statuses_and_actions_alike():
    tally = ItemTally.of([ItemAction.CAPTURED.status, "failed", ItemStatus.SKIPPED,
                          ItemAction.WOULD_SKIP.status, "succeeded"])

    assert tally == ItemTally(succeeded=2, failed=1, skipped=2)
    assert tally.processed == 5


def test_counts_add_batches_and_keep_processed_the_sum_of_outcomes():
    counts = Counts(total=10)

    counts.add(ItemTally(succeeded=3, failed=1))
    counts.add(ItemTally.from_payload({"skipped": 2}))

    assert counts == Counts(total=10, processed=6, succeeded=3, failed=1, skipped=2)


def test_counts_of_statuses_settle_the_run_status():
    assert Counts.of(["succeeded", "skipped"]).final_status() is RunStatus.SUCCEEDED
    assert Counts.of(["succeeded", "failed"]).final_status() is RunStatus.PARTIAL
    assert Counts.of(["failed"], total=4) == Counts(4, 1, 0, 1, 0)
    assert Counts.of(["failed"]).final_status() is RunStatus.FAILED
