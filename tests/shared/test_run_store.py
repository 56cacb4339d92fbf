"""Run records, item rows and paging on real Azure Tables (Azurite)."""

import pytest

from shared.platform.codes import ErrorCode
from shared.platform.errors import NotFound, ValidationFailed
from shared.platform.keys import new_ulid
from shared.runs.model import Counts, Run, RunItem
from shared.runs.store import RunStore

pytestmark = pytest.mark.anyio
TENANT = "22222222-2222-2222-2222-222222222222"


def _run(status: str = "queued", run_type: str = "backup") -> Run:
    run_id = new_ulid()
    return Run(
        run_id=run_id,
        tenant_id=TENANT,
        run_type=run_type,
        status=status,
        requested_by="oid",
        idempotency_key="k",
        created_at="2026-11-29T00:00:00Z",
        instance_id=f"pv-{run_id}-1",
    )


async def test_run_store_lists_newest_first_with_continuation(storage):
    store = RunStore(storage)
    created = [_run() for _ in range(5)]
    for run in created:
        await store.create(run)
    first = await store.list(TENANT, top=3)
    assert [r.run_id for r in first.value] == [r.run_id for r in reversed(created)][:3]
    assert first.continuation
    second = await store.list(TENANT, top=3, continuation=first.continuation)
    assert [r.run_id for r in second.value] == [r.run_id for r in reversed(created)][3:]
    assert second.continuation is None


async def test_run_store_filters_by_type_and_status(storage):
    store = RunStore(storage)
    await store.create(_run(run_type="backup"))
    wanted = _run(run_type="restore", status="failed")
    await store.create(wanted)
    page = await store.list(TENANT, top=10, run_type="restore", status="failed")
    assert [r.run_id for r in page.value] == [wanted.run_id]


async def test_run_store_bad_status_filter_and_tampered_token_are_400(storage):
    store = RunStore(storage)
    with pytest.raises(ValidationFailed):
        await store.list(TENANT, top=10, status="done")
    with pytest.raises(ValidationFailed):
        await store.list(TENANT, top=10, continuation="!!not-a-token!!")


async def test_run_store_terminal_run_never_changes_again(storage):
    store = RunStore(storage)
    run = _run()
    await store.create(run)
    await store.update(TENANT, run.run_id, status="succeeded", counts=Counts(total=1).__dict__)
    after = await store.update(TENANT, run.run_id, status="failed")
    assert after.status == "succeeded"
    assert (await store.get(TENANT, run.run_id)).status == "succeeded"


async def test_run_store_index_finds_tenant_and_unknown_run_is_none(storage):
    store = RunStore(storage)
    run = _run()
    await store.create(run)
    assert await store.tenant_of(run.run_id) == TENANT
    assert await store.tenant_of(new_ulid()) is None
    assert await store.get("33333333-3333-3333-3333-333333333333", run.run_id) is None


async def test_run_store_retried_item_write_overwrites_its_row(storage):
    store = RunStore(storage)
    item = RunItem("deviceConfigurations.p1", "deviceConfigurations", "p1", "Baseline", "failed",
                   error={"code": ErrorCode.GRAPH_UNAVAILABLE, "message": "503"})
    await store.put_item("run-1", item)
    item.action, item.error = "captured", None
    await store.put_item("run-1", item)
    rows = await store.all_items("run-1")
    assert len(rows) == 1 and rows[0].status == "succeeded" and rows[0].error is None


async def test_run_store_item_warnings_round_trip_and_old_rows_have_none(storage):
    store = RunStore(storage)
    warned = RunItem("deviceConfigurations.p1", "deviceConfigurations", "p1", "Baseline",
                     "updated", warnings=[{"code": ErrorCode.MISSING_REFERENCE, "message": "g"}])
    plain = RunItem("deviceConfigurations.p2", "deviceConfigurations", "p2", "Other", "updated")
    await store.put_items("run-1", [warned, plain])
    rows = {r.item_id: r for r in await store.all_items("run-1")}
    assert rows[warned.item_id].warnings == warned.warnings
    assert rows[plain.item_id].warnings is None


async def test_run_store_update_of_an_unknown_run_is_not_found(storage):
    with pytest.raises(NotFound):
        await RunStore(storage).update(TENANT, new_ulid(), status="running")


async def test_run_store_warnings_round_trip_and_a_run_without_them_has_none(storage):
    store = RunStore(storage)
    warned, plain = _run(), _run()
    await store.create(warned)
    await store.create(plain)
    warnings = [{"code": ErrorCode.NOT_AVAILABLE.value, "policy_type": "cloudPcUserSettings",
                 "message": "not available in this tenant"}]

    await store.update(TENANT, warned.run_id, status="succeeded", warnings=warnings)

    assert (await store.get(TENANT, warned.run_id)).warnings == warnings
    assert (await store.get(TENANT, plain.run_id)).warnings == []


async def test_run_store_update_from_a_stale_read_applies_to_the_run_as_it_is_now(storage):
    """An update handed the run as read earlier (``seen``) does not overwrite a change made
    since: it reads again and applies its changes on top, or leaves a run settled meanwhile."""
    store = RunStore(storage)
    run = _run()
    await store.create(run)
    seen = await store.get_seen(TENANT, run.run_id)
    await store.update(TENANT, run.run_id, status="running", started_at="2026-11-29T00:00:01Z")
    after = await store.update(TENANT, run.run_id, seen=seen, counts=Counts(total=3).__dict__)
    assert (after.status, after.started_at, after.counts.total) == (
        "running", "2026-11-29T00:00:01Z", 3)
    assert await store.get(TENANT, run.run_id) == after
    stale = await store.get_seen(TENANT, run.run_id)
    await store.update(TENANT, run.run_id, status="succeeded")
    settled = await store.update(TENANT, run.run_id, seen=stale, status="failed")
    assert settled.status == "succeeded" and (await store.get(TENANT, run.run_id)).status == (
        "succeeded")
