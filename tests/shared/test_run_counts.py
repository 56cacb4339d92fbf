"""Run counters: one piece (``Counts`` + ``ItemTally``) for activities and orchestrators;
how a finished run's items settle its status and warnings (``Outcome``)."""

from __future__ import annotations

from shared.runs.model import (
    TYPE_LEVEL_ID,
    WARNING_MESSAGE_CHARS,
    Counts,
    ItemAction,
    ItemStatus,
    ItemTally,
    Outcome,
    RunItem,
    RunStatus,
    item_key,
)


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


def _type_skipped(policy_type: str, code: str, message: str = "refused") -> RunItem:
    return RunItem(item_key(policy_type, TYPE_LEVEL_ID), policy_type, TYPE_LEVEL_ID,
                   policy_type, ItemAction.SKIPPED.value, {"code": code, "message": message})


def _captured(policy_id: str) -> RunItem:
    return RunItem(item_key("roleScopeTags", policy_id), "roleScopeTags", policy_id, "T",
                   ItemAction.CAPTURED.value)


def test_outcome_type_graph_does_not_serve_succeeds_and_warns():
    outcome = Outcome.of([_captured("1"), _type_skipped("cloudPcUserSettings", "not_available",
                                                        "x" * 400)])

    assert outcome.status is RunStatus.SUCCEEDED and outcome.error is None
    assert outcome.counts == Counts(2, 2, 1, 0, 1)
    assert outcome.warnings == [{"code": "not_available", "policy_type": "cloudPcUserSettings",
                                 "message": "x" * WARNING_MESSAGE_CHARS}]


def test_outcome_type_the_app_may_not_read_is_partial_naming_it_and_warns():
    outcome = Outcome.of([_captured("1"), _type_skipped("b", "not_available"),
                          _type_skipped("a", "consent_missing")])

    assert outcome.status is RunStatus.PARTIAL
    assert outcome.error == {"code": "consent_missing",
                             "message": "types not read in this tenant: a"}
    assert [(w["policy_type"], w["code"]) for w in outcome.warnings] == [
        ("a", "consent_missing"), ("b", "not_available")]


def test_outcome_type_skipped_with_an_earlier_code_stays_partial():
    # Rows a run in flight at an upgrade recorded: a type skipped as ``graph_forbidden``.
    outcome = Outcome.of([_captured("1"), _type_skipped("a", "graph_forbidden")])

    assert outcome.status is RunStatus.PARTIAL
    assert outcome.error is not None and outcome.error["code"] == "graph_forbidden"


def test_outcome_failures_come_first_in_the_error_of_a_partial_run():
    failed = RunItem("roleScopeTags.2", "roleScopeTags", "2", "", ItemAction.FAILED.value,
                     {"code": "graph_not_found", "message": "gone"})

    outcome = Outcome.of([_captured("1"), failed, _type_skipped("a", "not_available")])

    assert outcome.status is RunStatus.PARTIAL
    assert outcome.error == {"code": "graph_not_found",
                             "message": "1 of 3 items failed (graph_not_found)"}
    assert [w["policy_type"] for w in outcome.warnings] == ["a"]


def test_outcome_only_types_graph_does_not_serve_succeeds_with_nothing_captured():
    outcome = Outcome.of([_type_skipped("a", "not_available")])

    assert (outcome.status, outcome.error) == (RunStatus.SUCCEEDED, None)
    assert outcome.counts == Counts(1, 1, 0, 0, 1)
