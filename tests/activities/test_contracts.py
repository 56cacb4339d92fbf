"""Activity contracts: every one survives Durable history (a JSON round trip), and for one
release the inputs and outcomes orchestrations recorded before the contracts still build
the same typed objects (histories in flight at an upgrade replay them)."""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest

from activities.contracts.base import RunRef
from activities.contracts.restore import (
    ApplyItems,
    AuditRestoreFinished,
    BeginRestore,
    CaptureLiveItems,
    LiveCaptured,
    PlanRestore,
    PreviewItems,
    RestoreBatch,
    RestoreBegun,
    RestorePlan,
    SealedSet,
    SealPreRestoreSet,
)
from activities.contracts.runs import FinishedRun, FinishRun, RecordProgress, StartedRun, StartRun
from activities.contracts.snapshots import (
    CapturedBatch,
    CapturedType,
    CapturePolicies,
    CaptureType,
    Listing,
    ListPolicies,
    PolicyGroup,
    RecordUnfetched,
    TransientMode,
    TypeListing,
)
from orchestrators.backup_tenant import BackupSlice, Batch
from shared.runs.model import Counts, ItemTally

REF = {"run_id": "run-1", "tenant_id": "tenant-1"}
RUN = RunRef(**REF)
GROUPS = [PolicyGroup("a", ["a-1", "a-2"]), PolicyGroup("b", ["b-1"])]
ITEMS = {"backup_set_id": "set-1", "include_assignments": True, "ca_state": "report_only",
         "policy_type": "roleScopeTags", "item_ids": ["roleScopeTags.t1"]}

SAMPLES = [
    StartRun.for_run(RUN, at="2025-01-01T01:00:00Z"),
    StartedRun("running", {"policy_types": ["a"]}, "set-1", False, "engineer"),
    RecordProgress.for_run(RUN, counts=Counts(3, 2, 1, 1, 0)),
    FinishRun.for_run(RUN, at="t", error={"code": "internal_error", "message": "m"},
                      backup_set_kind="backup"),
    FinishedRun("partial", Counts(2, 2, 1, 1, 0)),
    ListPolicies.for_run(RUN, policy_types=["a", "b"], mode=TransientMode.RETURN_FOR_RETRY),
    Listing([TypeListing("a", ["a-1"]), TypeListing("b", retry=True),
             TypeListing("c", outcome="skipped")]),
    CapturePolicies.for_run(RUN, backup_set_id="set-1", at="t", groups=GROUPS,
                            mode=TransientMode.RECORD_FAILED),
    CapturedBatch(ItemTally(succeeded=2, failed=1), [PolicyGroup("b", ["b-1"])]),
    RecordUnfetched.for_run(RUN, backup_set_id="set-1", groups=GROUPS),
    CaptureType.for_run(RUN, backup_set_id="set-1", at="t", policy_type="a",
                        mode=TransientMode.RETURN_FOR_RETRY),
    CapturedType("a", listed=3, tally=ItemTally(succeeded=2, skipped=1), retry=["a-3"]),
    PlanRestore.for_run(RUN, backup_set_id="set-1", item_ids=["a.1"]),
    RestorePlan([RestoreBatch("roleScopeTags", 0, ["roleScopeTags.t1"])], total=1),
    PreviewItems.for_run(RUN, **ITEMS),
    ApplyItems.for_run(RUN, **ITEMS),
    CaptureLiveItems.for_run(RUN, **ITEMS, pre_restore_backup_set_id="pre-1", at="t"),
    LiveCaptured(1),
    BeginRestore.for_run(RUN, at="t"),
    RestoreBegun("pre-1"),
    SealPreRestoreSet.for_run(RUN, pre_restore_backup_set_id="pre-1", at="t"),
    SealedSet(3),
    AuditRestoreFinished.for_run(RUN, at="t", error=None),
    ItemTally(succeeded=1, skipped=2),
    BackupSlice(**REF, backup_set_id="set-1", at="t", batches=[Batch(GROUPS, attempt=2)],
                counts=Counts(40, 20, 20, 0, 0)),
]


@pytest.mark.parametrize("contract", SAMPLES, ids=lambda c: type(c).__name__)
def test_contract_survives_a_trip_through_history_unchanged(contract):
    recorded = json.loads(json.dumps(asdict(contract)))  # what Durable history holds

    assert type(contract).from_payload(recorded) == contract


@pytest.mark.parametrize("contract", [c for c in SAMPLES if hasattr(c, "mode")],
                         ids=lambda c: type(c).__name__)
def test_contract_mode_comes_back_from_history_as_the_enum_member(contract):
    # Activities test ``job.mode is TransientMode.X``: an equal string would never match.
    recorded = json.loads(json.dumps(asdict(contract)))

    assert type(contract).from_payload(recorded).mode is contract.mode


OLD_CAPTURE = {**REF, "backup_set_id": "set-1", "at": "t"}


@pytest.mark.parametrize(("old", "mode"), [
    ({}, TransientMode.RAISE),
    ({"final": False}, TransientMode.RETURN_FOR_RETRY),
    ({"final": True}, TransientMode.RECORD_FAILED),
])
def test_an_old_capture_batch_with_final_builds_the_input_with_its_mode(old, mode):
    recorded = {**OLD_CAPTURE, "groups": [asdict(g) for g in GROUPS], **old}

    assert CapturePolicies.from_payload(recorded) == CapturePolicies.from_payload(
        {**OLD_CAPTURE, "groups": [asdict(g) for g in GROUPS], "mode": mode.value})


def test_an_old_single_type_capture_builds_one_group_that_raises_on_transient_faults():
    recorded = {**OLD_CAPTURE, "policy_type": "a", "policy_ids": ["a-1"]}

    assert CapturePolicies.from_payload(recorded) == CapturePolicies.for_run(
        RUN, backup_set_id="set-1", at="t", groups=[PolicyGroup("a", ["a-1"])],
        mode=TransientMode.RAISE)


@pytest.mark.parametrize(("final", "mode"), [
    (None, TransientMode.RAISE),
    (False, TransientMode.RETURN_FOR_RETRY),
    (True, TransientMode.RECORD_FAILED),
])
def test_an_old_listing_request_with_final_builds_the_input_with_its_mode(final, mode):
    recorded = {**REF, "policy_types": ["a"]} | ({} if final is None else {"final": final})

    assert ListPolicies.from_payload(recorded) == ListPolicies.for_run(
        RUN, policy_types=["a"], mode=mode)


def test_old_capture_and_listing_outcomes_build_the_new_ones():
    assert CapturedBatch.from_payload({"succeeded": 2, "failed": 0, "skipped": 1}) == (
        CapturedBatch(ItemTally(succeeded=2, skipped=1)))
    assert CapturedBatch.from_payload({
        "succeeded": 1, "failed": 0, "skipped": 0,
        "retry": [{"policy_type": "b", "policy_ids": ["b-1"]}]}) == CapturedBatch(
        ItemTally(succeeded=1), [PolicyGroup("b", ["b-1"])])
    assert Listing.from_payload([
        {"policy_type": "a", "ids": ["a-1"]}, {"policy_type": "b", "ids": [], "retry": True},
        {"policy_type": "c", "ids": [], "outcome": "failed"}]) == Listing([
            TypeListing("a", ["a-1"]), TypeListing("b", retry=True),
            TypeListing("c", outcome="failed")])


def test_old_restore_item_inputs_with_the_shared_job_keys_build_each_activitys_input():
    shared_job = {**REF, **ITEMS, "pre_restore_backup_set_id": "pre-1"}

    assert ApplyItems.from_payload(shared_job) == ApplyItems.for_run(RUN, **ITEMS)
    assert PreviewItems.from_payload(shared_job) == PreviewItems.for_run(RUN, **ITEMS)


def test_an_old_slice_without_attempts_starts_its_batches_at_the_first_attempt():
    recorded = {**REF, "backup_set_id": "set-1", "at": "t", "counts": asdict(Counts()),
                "batches": [{"groups": [asdict(g) for g in GROUPS]}]}

    assert BackupSlice.from_payload(recorded).batches == [Batch(GROUPS, attempt=1)]


def test_an_input_missing_a_required_field_is_refused():
    with pytest.raises(TypeError):
        StartRun.from_payload(dict(REF))
