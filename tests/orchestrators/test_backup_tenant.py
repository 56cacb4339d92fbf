"""The backup orchestration replayed without a host: batch packing, the sliding window of
capture batches, retry of transient items and types, and slicing of large tenants."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from activities.contracts.snapshots import (
    CapturedBatch,
    CapturePolicies,
    Listing,
    ListPolicies,
    PolicyGroup,
    TransientMode,
    TypeListing,
)
from orchestrators.backup_tenant import (
    BATCH_SIZE,
    ITEM_ATTEMPTS,
    PARALLEL_BATCHES,
    SLICE_SIZE,
    Batch,
    _batches,
    backup_slice,
    backup_tenant,
)
from shared.platform.codes import ErrorCode
from shared.runs.model import ItemTally
from tests.orchestrators.fake_context import FakeContext, max_in_flight, run

REF = {"run_id": "run-1", "tenant_id": "tenant-1"}


def _listed(**sizes: int) -> list[TypeListing]:
    return [TypeListing(t, [f"{t}-{n}" for n in range(size)]) for t, size in sizes.items()]


def _captured_all(payload: dict) -> dict:
    job = CapturePolicies.from_payload(payload)
    return asdict(CapturedBatch(ItemTally(succeeded=sum(len(g.policy_ids) for g in job.groups))))


def _context(listing: list[TypeListing] | Any, types: list[str] | None = None,
             **answers: Any) -> FakeContext:
    """A backup of ``types`` (default: the listed ones); ``listing``: what ``list_policies``
    returns, or a function answering it."""
    if types is None:
        types = [t.policy_type for t in listing]
    defaults = {
        "start_run": lambda _: {"status": "running", "parameters": {"policy_types": types},
                                "backup_set_id": "set-1", "dry_run": False,
                                "requested_by": "engineer"},
        "list_policies": listing if callable(listing) else
        (lambda _: asdict(Listing(types=listing))),
        "capture_policies": _captured_all,
        "record_unfetched": lambda p: asdict(ItemTally(failed=sum(
            len(g["policy_ids"]) for g in p["groups"]))),
        "record_progress": lambda _: None,
        "finish_run": lambda p: {"status": "settled", "error": p["error"]},
    }
    return FakeContext(input=dict(REF), answers={**defaults, **answers})


def _captures(context: FakeContext) -> list[CapturePolicies]:
    return [CapturePolicies.from_payload(c.input) for c in context.named("capture_policies")]


def _ids(job: CapturePolicies) -> list[str]:
    return [i for g in job.groups for i in g.policy_ids]


def test_batches_pack_small_types_together_up_to_the_batch_size():
    batches = _batches(_listed(a=3, b=5, c=2))

    assert batches == [Batch([
        PolicyGroup("a", ["a-0", "a-1", "a-2"]),
        PolicyGroup("b", [f"b-{n}" for n in range(5)]),
        PolicyGroup("c", ["c-0", "c-1"]),
    ])]


def test_batches_split_a_large_type_and_keep_every_id_once_in_order():
    listed = _listed(a=BATCH_SIZE + 7, b=BATCH_SIZE * 2, c=0, d=1)

    batches = _batches(listed)

    sizes = [sum(len(g.policy_ids) for g in b.groups) for b in batches]
    assert sizes == [BATCH_SIZE, BATCH_SIZE, BATCH_SIZE, BATCH_SIZE - 12]
    flat = [(g.policy_type, i) for b in batches for g in b.groups for i in g.policy_ids]
    assert flat == [(e.policy_type, i) for e in listed for i in e.ids]


def test_batches_of_nothing_are_none():
    assert _batches(_listed(a=0)) == []
    assert _batches([TypeListing("x", outcome="skipped")]) == []


def test_backup_keeps_at_most_the_window_of_capture_batches_in_flight():
    context = _context(_listed(a=BATCH_SIZE * 10))

    run(backup_tenant, context)

    assert len(context.named("capture_policies")) == 10
    assert max_in_flight(context, "capture_policies") == PARALLEL_BATCHES


def test_backup_starts_the_next_batch_before_publishing_the_counters():
    context = _context(_listed(a=BATCH_SIZE * 6))

    run(backup_tenant, context)

    names = [(what, call.name) for what, call in context.events
             if call.name == "capture_policies" or (what, call.name) == ("start",
                                                                         "record_progress")]
    # After each of the first two batches finishes, the next one (5th, 6th) starts, then
    # the counters are published.
    first_finish = names.index(("finish", "capture_policies"))
    assert names[first_finish:first_finish + 3] == [
        ("finish", "capture_policies"), ("start", "capture_policies"),
        ("start", "record_progress")]
    progress = [c.input["counts"] for c in context.named("record_progress")]
    assert [p["processed"] for p in progress] == [0, 20, 40, 60, 80, 100, 120]
    assert all(p["total"] == BATCH_SIZE * 6 for p in progress)


def test_backup_tries_a_transient_item_in_later_batches_and_records_it_failed_last():
    def capture(payload: dict) -> dict:
        job = CapturePolicies.from_payload(payload)
        ids = _ids(job)
        if "a-0" in ids and job.mode is TransientMode.RETURN_FOR_RETRY:
            return asdict(CapturedBatch(ItemTally(succeeded=len(ids) - 1),
                                        [PolicyGroup("a", ["a-0"])]))
        refused = int("a-0" in ids)
        return asdict(CapturedBatch(ItemTally(succeeded=len(ids) - refused, failed=refused)))

    context = _context(_listed(a=BATCH_SIZE * 6), capture_policies=capture)

    run(backup_tenant, context)

    captures = _captures(context)
    with_it = [n for n, job in enumerate(captures) if "a-0" in _ids(job)]
    assert [captures[n].mode for n in with_it] == [TransientMode.RETURN_FOR_RETRY] * (
        ITEM_ATTEMPTS - 1) + [TransientMode.RECORD_FAILED]
    # The item comes back in a batch of its own, behind the batches already waiting.
    assert with_it[0] == 0 and with_it[1] == 6 and _ids(captures[6]) == ["a-0"]
    assert all(job.mode is TransientMode.RETURN_FOR_RETRY for job in captures[:6])
    last = context.named("record_progress")[-1].input["counts"]
    assert (last["succeeded"], last["failed"], last["processed"]) == (119, 1, 120)


def test_backup_records_a_batch_that_kept_failing_as_unfetched_and_goes_on():
    def capture(payload: dict) -> Any:
        ids = _ids(CapturePolicies.from_payload(payload))
        return RuntimeError("worker lost") if "a-20" in ids else _captured_all(payload)

    context = _context(_listed(a=BATCH_SIZE * 3), capture_policies=capture)

    output = run(backup_tenant, context)

    unfetched = context.named("record_unfetched")
    assert [g["policy_ids"] for g in unfetched[0].input["groups"]] == [
        [f"a-{n}" for n in range(20, 40)]]
    assert context.named("record_progress")[-1].input["counts"]["failed"] == BATCH_SIZE
    assert output["error"] is None


def test_backup_records_a_batch_whose_key_is_unavailable_with_that_code_not_graphs():
    """An operator is pointed at the key-encryption key, not at Graph or throttling; only
    the class name is read from the failure, never its text."""
    def capture(payload: dict) -> Any:
        return RuntimeError("Activity function 'capture_policies' failed: KeyUnavailable: "
                            "vault said token=abc")

    context = _context(_listed(a=3), capture_policies=capture)

    run(backup_tenant, context)

    [unfetched] = context.named("record_unfetched")
    error = unfetched.input["error"]
    assert error["code"] == ErrorCode.KEY_UNAVAILABLE
    assert "PV_SNAPSHOT_KEK" in error["message"] and "token" not in error["message"]


def test_backup_records_a_batch_that_failed_for_another_reason_as_graphs_to_record():
    context = _context(_listed(a=3), capture_policies=lambda _: RuntimeError("worker lost"))

    run(backup_tenant, context)

    [unfetched] = context.named("record_unfetched")
    assert unfetched.input["error"] is None  # the activity records Graph's transient code


def test_backup_lists_a_transient_type_again_and_records_it_failed_last():
    def listing(payload: dict) -> dict:
        job = ListPolicies.from_payload(payload)
        if job.mode is TransientMode.RECORD_FAILED:
            return asdict(Listing([TypeListing("b", outcome="failed")]))
        return asdict(Listing([TypeListing(t, ids=[f"{t}-0"]) if t == "a"
                               else TypeListing(t, retry=True) for t in job.policy_types]))

    context = _context(listing, types=["a", "b"])

    run(backup_tenant, context)

    lists = [ListPolicies.from_payload(c.input) for c in context.named("list_policies")]
    assert [(job.policy_types, job.mode) for job in lists] == [
        (["a", "b"], TransientMode.RETURN_FOR_RETRY), (["b"], TransientMode.RETURN_FOR_RETRY),
        (["b"], TransientMode.RECORD_FAILED)]
    first = context.named("record_progress")[0].input["counts"]
    assert (first["total"], first["processed"], first["failed"]) == (2, 1, 1)


def test_a_large_backup_runs_in_slices_that_carry_the_counters_on():
    per_slice = SLICE_SIZE // BATCH_SIZE

    def slice_of(payload: dict) -> dict:
        inner = FakeContext(input=payload, answers=context.answers)
        return run(backup_slice, inner)

    context = _context(_listed(a=SLICE_SIZE + BATCH_SIZE))
    context.answers["backup_slice"] = slice_of

    output = run(backup_tenant, context)

    slices = context.named("backup_slice")
    assert [s.instance_id for s in slices] == ["instance-1:slice:0", "instance-1:slice:1"]
    assert [len(s.input["batches"]) for s in slices] == [per_slice, 1]
    assert slices[1].input["counts"]["processed"] == SLICE_SIZE
    assert context.named("capture_policies") == []  # every batch ran inside a slice
    assert context.sub_orchestrator_options == [{"expected_type": dict}] * 2
    assert output["error"] is None


def test_backup_whose_storage_kept_failing_says_so_in_the_run_error():
    context = _context(lambda _: RuntimeError("Activity function 'list_policies' failed: "
                                              "StorageError: Azure Storage could not ..."),
                       types=["a"])

    output = run(backup_tenant, context)

    assert output["error"]["code"] == ErrorCode.STORAGE_ERROR


def test_backup_that_cannot_list_finishes_the_run_failed_with_a_safe_error():
    context = _context(lambda _: RuntimeError("secret detail"), types=["a"])

    output = run(backup_tenant, context)

    assert output["error"]["code"] == ErrorCode.INTERNAL_ERROR
    assert "secret" not in output["error"]["message"]
    assert context.named("capture_policies") == []
