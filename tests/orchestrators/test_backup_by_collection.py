"""The backup orchestration's by-collection flow replayed without a host: types read
PARALLEL_TYPES at a time, counters published as each finishes, transient types read again,
transient objects fetched again by id, a type whose activity keeps failing recorded as one
failed item — and runs recorded before this flow still replay the by-id flow."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from activities.contracts.snapshots import (
    CapturedBatch,
    CapturedType,
    CapturedTypes,
    CapturePolicies,
    CaptureType,
    CaptureTypes,
    Listing,
    TransientMode,
    TypeListing,
)
from orchestrators.backup_tenant import ITEM_ATTEMPTS, PARALLEL_TYPES, backup_tenant
from shared.runs.jobs import READ_BY_COLLECTION
from shared.runs.model import TYPE_LEVEL_ID, ItemTally
from tests.orchestrators.fake_context import FakeContext, max_in_flight, run

REF = {"run_id": "run-1", "tenant_id": "tenant-1"}
SIZES = {"a": 30, "b": 3, "c": 7, "d": 1, "e": 12, "f": 2}


def _read_whole(payload: dict) -> dict:
    job = CaptureType.from_payload(payload)
    size = SIZES[job.policy_type]
    return asdict(CapturedType(job.policy_type, listed=size, tally=ItemTally(succeeded=size)))


def _context(read: Any = _read_whole, parameters: dict | None = None,
             **answers: Any) -> FakeContext:
    parameters = parameters if parameters is not None else {
        "policy_types": list(SIZES), "read": READ_BY_COLLECTION}
    defaults = {
        "start_run": lambda _: {"status": "running", "parameters": parameters,
                                "backup_set_id": "set-1", "dry_run": False,
                                "requested_by": "engineer"},
        "capture_type": read,
        "capture_policies": lambda p: asdict(CapturedBatch(ItemTally(succeeded=sum(
            len(g["policy_ids"]) for g in p["groups"])))),
        "record_unfetched": lambda p: asdict(ItemTally(failed=sum(
            len(g["policy_ids"]) for g in p["groups"]))),
        "record_progress": lambda _: None,
        "list_policies": lambda _: asdict(Listing(types=[
            TypeListing(t, [f"{t}-{n}" for n in range(n_)]) for t, n_ in SIZES.items()])),
        "finish_run": lambda p: {"status": "settled", "error": p["error"]},
    }
    return FakeContext(input=dict(REF), answers={**defaults, **answers})


def _progress(context: FakeContext) -> list[dict]:
    return [c.input["counts"] for c in context.named("record_progress")]


def test_backup_reads_as_many_types_at_once_as_its_run_was_recorded_with():
    context = _context(parameters={"policy_types": list(SIZES), "read": READ_BY_COLLECTION,
                                   "types_at_once": 2})

    run(backup_tenant, context)

    assert max_in_flight(context, "capture_type") == 2
    assert len(context.named("capture_type")) == len(SIZES)


def test_backup_publishes_its_counters_every_few_types_as_its_run_was_recorded_with():
    context = _context(parameters={"policy_types": list(SIZES), "read": READ_BY_COLLECTION,
                                   "progress_every": 4})

    run(backup_tenant, context)

    [published] = _progress(context)  # 6 types: after the 4th finished, not after each
    assert 0 < published["processed"] < sum(SIZES.values())
    assert context.named("finish_run")  # the finish publishes the rest


def test_backup_reads_every_type_whole_a_few_at_a_time_and_publishes_each():
    context = _context()

    result = run(backup_tenant, context)

    assert result == {"status": "settled", "error": None}
    reads = [CaptureType.from_payload(c.input) for c in context.named("capture_type")]
    assert [r.policy_type for r in reads] == list(SIZES)
    assert {r.mode for r in reads} == {TransientMode.RETURN_FOR_RETRY}
    assert {r.backup_set_id for r in reads} == {"set-1"}
    assert max_in_flight(context, "capture_type") == PARALLEL_TYPES
    assert context.named("list_policies") == [] and context.named("capture_policies") == []
    progress = _progress(context)
    assert len(progress) == len(SIZES)
    assert [p["total"] for p in progress] == sorted(p["total"] for p in progress)
    assert progress[-1]["total"] == progress[-1]["succeeded"] == sum(SIZES.values())


def test_the_next_type_starts_before_the_counters_are_published():
    context = _context()

    run(backup_tenant, context)

    order = [c.name for c in context.calls if c.name in ("capture_type", "record_progress")]
    # 4 start, then each finish starts the next read before publishing
    assert order[:PARALLEL_TYPES + 2] == [*["capture_type"] * PARALLEL_TYPES,
                                          "capture_type", "record_progress"]


def test_objects_refused_transiently_are_fetched_again_by_id_until_the_last_try():
    def read(payload: dict) -> dict:
        job = CaptureType.from_payload(payload)
        size = SIZES[job.policy_type]
        if job.policy_type == "a":  # two objects Graph kept refusing
            return asdict(CapturedType("a", listed=size, tally=ItemTally(succeeded=size - 2),
                                       retry=["a-1", "a-2"]))
        return _read_whole(payload)

    def capture(payload: dict) -> dict:
        job = CapturePolicies.from_payload(payload)
        ids = [i for g in job.groups for i in g.policy_ids]
        if job.mode is TransientMode.RECORD_FAILED:
            return asdict(CapturedBatch(ItemTally(failed=len(ids))))
        return asdict(CapturedBatch(ItemTally(), retry=job.groups))  # still refused

    context = _context(read, capture_policies=capture)

    run(backup_tenant, context)

    retries = [CapturePolicies.from_payload(c.input) for c in context.named("capture_policies")]
    assert [[i for g in r.groups for i in g.policy_ids] for r in retries] == [
        ["a-1", "a-2"]] * (ITEM_ATTEMPTS - 1)
    assert [r.mode for r in retries][-1] is TransientMode.RECORD_FAILED
    final = _progress(context)[-1]
    assert final["total"] == sum(SIZES.values())
    assert (final["succeeded"], final["failed"]) == (sum(SIZES.values()) - 2, 2)


def test_a_type_whose_listing_is_refused_transiently_is_read_again():
    tries: list[str] = []

    def read(payload: dict) -> dict:
        job = CaptureType.from_payload(payload)
        tries.append(f"{job.policy_type}:{job.mode}")
        if job.policy_type == "b" and job.mode is TransientMode.RETURN_FOR_RETRY:
            return asdict(CapturedType("b", retry_type=True))
        return _read_whole(payload)

    context = _context(read)

    run(backup_tenant, context)

    assert [t for t in tries if t.startswith("b:")] == [
        *["b:return_for_retry"] * (ITEM_ATTEMPTS - 1), "b:record_failed"]
    assert _progress(context)[-1]["total"] == sum(SIZES.values())


def test_a_type_whose_activity_keeps_failing_is_one_failed_item_and_the_run_goes_on():
    def read(payload: dict) -> Any:
        job = CaptureType.from_payload(payload)
        return RuntimeError("storage down") if job.policy_type == "c" else _read_whole(payload)

    context = _context(read)

    result = run(backup_tenant, context)

    assert result["error"] is None
    [unfetched] = context.named("record_unfetched")
    assert unfetched.input["groups"] == [{"policy_type": "c", "policy_ids": [TYPE_LEVEL_ID]}]
    final = _progress(context)[-1]
    assert final["total"] == sum(SIZES.values()) - SIZES["c"] + 1
    assert final["failed"] == 1


def test_a_run_recorded_before_the_by_collection_flow_replays_the_by_id_flow():
    context = _context(parameters={"policy_types": list(SIZES)})  # no "read"

    run(backup_tenant, context)

    assert context.named("capture_type") == []
    assert len(context.named("list_policies")) == 1 and context.named("capture_policies")


GROUPED = {"policy_types": list(SIZES), "read": READ_BY_COLLECTION, "types_at_once": 4,
           "types_per_activity": 2, "progress_every": 1}


def _read_several(payload: dict) -> Any:
    job = CaptureTypes.from_payload(payload)
    return asdict(CapturedTypes([CapturedType.from_payload(_read_whole(asdict(job.one(t))))
                                 for t in job.policy_types]))


def test_a_run_recorded_with_types_per_activity_reads_that_many_types_in_each_activity():
    context = _context(parameters=GROUPED, capture_types=_read_several)

    result = run(backup_tenant, context)

    assert result == {"status": "settled", "error": None}
    assert context.named("capture_type") == []
    reads = [CaptureTypes.from_payload(c.input) for c in context.named("capture_types")]
    assert [r.policy_types for r in reads] == [["a", "b"], ["c", "d"], ["e", "f"]]
    assert max_in_flight(context, "capture_types") == 2  # 4 types at once, 2 per activity
    progress = _progress(context)
    assert len(progress) == len(reads)  # progress_every counts activities
    assert progress[-1]["total"] == progress[-1]["succeeded"] == sum(SIZES.values())


def test_a_grouped_type_refused_transiently_is_read_again_without_its_activity_mates():
    def read(payload: dict) -> Any:
        job = CaptureTypes.from_payload(payload)
        if "b" in job.policy_types and job.mode is TransientMode.RETURN_FOR_RETRY:
            return asdict(CapturedTypes([
                CapturedType("b", retry_type=True) if t == "b" else
                CapturedType.from_payload(_read_whole(asdict(job.one(t))))
                for t in job.policy_types]))
        return _read_several(payload)

    context = _context(parameters=GROUPED, capture_types=read)

    run(backup_tenant, context)

    reads = [CaptureTypes.from_payload(c.input) for c in context.named("capture_types")]
    assert [r.policy_types for r in reads].count(["a", "b"]) == 1
    again = [(r.policy_types, r.mode) for r in reads if r.policy_types == ["b"]]
    assert again == [(["b"], TransientMode.RETURN_FOR_RETRY), (["b"], TransientMode.RECORD_FAILED)]
    assert _progress(context)[-1]["total"] == sum(SIZES.values())


def test_a_grouped_activity_that_keeps_failing_records_each_of_its_types_as_one_failed_item():
    def read(payload: dict) -> Any:
        job = CaptureTypes.from_payload(payload)
        return RuntimeError("storage down") if "c" in job.policy_types else _read_several(payload)

    context = _context(parameters=GROUPED, capture_types=read)

    result = run(backup_tenant, context)

    assert result["error"] is None
    assert [u.input["groups"] for u in context.named("record_unfetched")] == [
        [{"policy_type": "c", "policy_ids": [TYPE_LEVEL_ID]}],
        [{"policy_type": "d", "policy_ids": [TYPE_LEVEL_ID]}]]
    final = _progress(context)[-1]
    assert final["total"] == sum(SIZES.values()) - SIZES["c"] - SIZES["d"] + 2
    assert final["failed"] == 2
