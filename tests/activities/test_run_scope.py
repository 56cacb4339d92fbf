"""Activities take the tenant from the run (issue 19, finding 2): a run, backup set or
snapshot outside the run's tenant is refused, and a backup item whose blob lies under another
tenant fails that item (``tenant_mismatch``) while its batch-mates are restored. Against the
simulator and Azurite."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import asdict

import pytest

from activities import restore, runs, snapshots
from activities.contracts.restore import (
    BeginRestore,
    PlanRestore,
    PreviewItems,
    SealPreRestoreSet,
)
from activities.contracts.runs import FinishRun
from activities.contracts.snapshots import CaptureRun, CaptureType, TransientMode
from local.graphsim.pytest_plugin import graphsim, graphsim_session  # noqa: F401
from local.graphsim.simulator import GraphSimulator
from shared.backups.sets import BackupItem, BackupSet, BackupSetStore
from shared.backups.snapshots import SnapshotStore
from shared.platform.config import get_settings
from shared.platform.errors import RunFinished, TenantMismatch
from shared.platform.keys import is_ulid, new_ulid
from shared.platform.storage import Storage
from shared.runs.model import Run, item_key
from shared.runs.notifications import NotificationStore
from shared.runs.store import RunStore
from shared.webhooks.delivery import DELIVERY_QUEUE, DeliveryJob
from shared.webhooks.store import WebhookStore
from tests.graph.conftest import sim_env
from tests.tenants import register

pytestmark = pytest.mark.anyio
TYPE = "assignmentFilters"
AT = "2025-01-01T01:00:00Z"


@pytest.fixture
async def wired(monkeypatch: pytest.MonkeyPatch, storage: Storage,
                graphsim: GraphSimulator) -> AsyncIterator[Storage]:  # noqa: F811
    """The activities on this test's storage, the simulator's tenants registered."""
    await register(storage, *graphsim.tenant_ids)
    for name, value in sim_env(graphsim).items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    monkeypatch.setattr(restore, "get_storage", lambda: storage)
    monkeypatch.setattr(snapshots, "get_storage", lambda: storage)
    monkeypatch.setattr(runs, "get_storage", lambda: storage)
    yield storage
    get_settings.cache_clear()


async def _run(storage: Storage, tenant_id: str, run_type: str, backup_set_id: str,
               **parameters: object) -> Run:
    run = Run(run_id=new_ulid(), tenant_id=tenant_id, run_type=run_type, status="running",
              requested_by="engineer", idempotency_key=new_ulid(), created_at=AT,
              instance_id="pv-test", dry_run=True, backup_set_id=backup_set_id,
              parameters=dict(parameters))
    await RunStore(storage).create(run)
    return run


async def _item(storage: Storage, backup_set_id: str, owner: str, policy_id: str,
                name: str | None = None, **fields: object) -> str:
    document = {"id": policy_id, "displayName": f"filter {policy_id}" if name is None else name,
                "platform": "windows10AndLater", "rule": '(device.osVersion -startsWith "10")',
                **fields}
    sha, path, _ = await SnapshotStore(storage).put(owner, TYPE, policy_id, document)
    item = BackupItem(item_id=item_key(TYPE, policy_id), policy_type=TYPE, policy_id=policy_id,
                      display_name=document["displayName"], sha256=sha, blob_path=path)
    await BackupSetStore(storage).put_item(backup_set_id, item)
    return item.item_id


async def _set(storage: Storage, tenant_id: str) -> str:
    set_id = new_ulid()
    await BackupSetStore(storage).put(BackupSet(set_id, tenant_id, None, new_ulid(), AT, 0))
    return set_id


async def _begun_restore(storage: Storage, tenant_id: str) -> tuple[Run, str]:
    """A restore run past ``begin_restore``, and its pre-restore set's id."""
    run = await _run(storage, tenant_id, "restore", await _set(storage, tenant_id))
    begun = await restore.begin_restore(asdict(BeginRestore(run_id=run.run_id,
                                                            tenant_id=tenant_id, at=AT)))
    return run, begun["pre_restore_backup_set_id"]


async def test_preview_items_an_item_whose_blob_is_another_tenants_fails_alone(
        graphsim, wired):  # noqa: F811
    ours, theirs = graphsim.tenant_ids[:2]
    set_id = await _set(wired, ours)
    own = await _item(wired, set_id, ours, "11111111-1111-1111-1111-111111111111")
    foreign = await _item(wired, set_id, theirs, "22222222-2222-2222-2222-222222222222")
    run = await _run(wired, ours, "restore", set_id)

    await restore.preview_items(asdict(PreviewItems(
        run_id=run.run_id, tenant_id=ours, backup_set_id=set_id, include_assignments=True,
        ca_state="report_only", policy_type=TYPE, item_ids=[own, foreign])))

    rows = {i.item_id: i for i in await RunStore(wired).all_items(run.run_id)}
    assert (rows[foreign].status, rows[foreign].error_code) == ("failed", "tenant_mismatch")
    assert rows[own].status == "succeeded"


async def test_an_activity_for_another_tenants_run_is_refused(graphsim, wired):  # noqa: F811
    ours, theirs = graphsim.tenant_ids[:2]
    set_id = await _set(wired, ours)
    run = await _run(wired, ours, "restore", set_id)

    with pytest.raises(TenantMismatch):
        await restore.plan_restore(asdict(PlanRestore(run_id=run.run_id, tenant_id=theirs,
                                                      backup_set_id=set_id)))
    assert await RunStore(wired).all_items(run.run_id) == []


async def test_plan_restore_a_set_of_another_tenant_is_refused(graphsim, wired):  # noqa: F811
    ours, theirs = graphsim.tenant_ids[:2]
    their_set = await _set(wired, theirs)
    run = await _run(wired, ours, "restore", their_set)

    with pytest.raises(TenantMismatch):
        await restore.plan_restore(asdict(PlanRestore(run_id=run.run_id, tenant_id=ours,
                                                      backup_set_id=their_set)))


async def test_a_cross_tenant_run_reads_only_its_recorded_source_tenant(
        graphsim, wired):  # noqa: F811
    target, source = graphsim.tenant_ids[:2]
    source_set = await _set(wired, source)
    item = await _item(wired, source_set, source, "33333333-3333-3333-3333-333333333333")
    run = await _run(wired, target, "restore", source_set, source_tenant_id=source)

    plan = await restore.plan_restore(asdict(PlanRestore(
        run_id=run.run_id, tenant_id=target, backup_set_id=source_set, source_tenant_id=source)))

    assert plan["total"] == 1 and plan["batches"][0]["item_ids"] == [item]
    other = await _run(wired, target, "restore", source_set)  # no source recorded
    for step_source in (source, None):  # a step naming a source its run did not record, or none
        with pytest.raises(TenantMismatch):
            await restore.plan_restore(asdict(PlanRestore(
                run_id=other.run_id, tenant_id=target, backup_set_id=source_set,
                source_tenant_id=step_source)))


async def test_capture_type_into_a_set_that_is_not_the_runs_is_refused(
        graphsim, wired):  # noqa: F811
    tenant_id = graphsim.tenant_ids[0]
    run = await _run(wired, tenant_id, "backup", new_ulid())
    other_set = await _set(wired, tenant_id)

    with pytest.raises(TenantMismatch):
        await snapshots.capture_type(asdict(CaptureType(
            run_id=run.run_id, tenant_id=tenant_id, backup_set_id=other_set, at=AT,
            policy_type=TYPE, mode=TransientMode.RETURN_FOR_RETRY)))
    assert await RunStore(wired).all_items(run.run_id) == []


async def test_an_activity_of_a_finished_run_writes_nothing(graphsim, wired):  # noqa: F811
    tenant_id = graphsim.tenant_ids[0]
    set_id = await _set(wired, tenant_id)
    run = await _run(wired, tenant_id, "restore", set_id)
    await RunStore(wired).update(tenant_id, run.run_id, status="succeeded", finished_at=AT,
                                 pre_restore_backup_set_id=None)
    pre_id = new_ulid()

    with pytest.raises(RunFinished):
        await restore.seal_pre_restore_set(asdict(SealPreRestoreSet(
            run_id=run.run_id, tenant_id=tenant_id, pre_restore_backup_set_id=pre_id, at=AT)))
    with pytest.raises(RunFinished):
        await restore.plan_restore(asdict(PlanRestore(run_id=run.run_id, tenant_id=tenant_id,
                                                      backup_set_id=set_id)))
    assert await BackupSetStore(wired).get(tenant_id, pre_id) is None


async def test_a_capture_run_for_another_tenants_run_writes_nothing(graphsim, wired):  # noqa: F811
    ours, theirs = graphsim.tenant_ids[:2]
    policy_id = graphsim.objects(ours, TYPE)[0]["id"]
    run = await _run(wired, ours, "capture_snapshot", new_ulid(), policy_type=TYPE,
                     policy_id=policy_id)

    with pytest.raises(TenantMismatch):  # the run is not in that tenant's partition
        await snapshots.capture_run(asdict(CaptureRun(run_id=run.run_id, tenant_id=theirs,
                                                      at=AT)))
    assert await RunStore(wired).all_items(run.run_id) == []
    assert (await RunStore(wired).get(ours, run.run_id)).status == "running"


async def test_a_capture_run_of_a_finished_run_captures_nothing_and_returns_it(
        graphsim, wired):  # noqa: F811
    tenant_id = graphsim.tenant_ids[0]
    policy_id = graphsim.objects(tenant_id, TYPE)[0]["id"]
    run = await _run(wired, tenant_id, "capture_snapshot", new_ulid(), policy_type=TYPE,
                     policy_id=policy_id)
    await RunStore(wired).update(tenant_id, run.run_id, status="failed", finished_at=AT)
    since = graphsim.request_cursor()

    output = await snapshots.capture_run(asdict(CaptureRun(run_id=run.run_id,
                                                           tenant_id=tenant_id, at=AT)))

    assert output["status"] == "failed"
    assert await RunStore(wired).all_items(run.run_id) == []
    assert await BackupSetStore(wired).get(tenant_id, run.backup_set_id) is None
    assert graphsim.requests(since) == []  # Graph was not asked


async def test_a_run_ended_while_its_capture_reads_graph_keeps_that_end(
        graphsim, wired, monkeypatch):  # noqa: F811
    """capture_run hands its steps the run as it last wrote it; a run another writer ends
    meanwhile (the repair of a run whose orchestration died, say) is read again, not
    overwritten by the capture's end, and its requester is told of the end once."""
    tenant_id = graphsim.tenant_ids[0]
    policy_id = graphsim.objects(tenant_id, TYPE)[0]["id"]
    run = await _run(wired, tenant_id, "capture_snapshot", new_ulid(), policy_type=TYPE,
                     policy_id=policy_id)
    await RunStore(wired).update(run.tenant_id, run.run_id, status="queued")  # as started
    capture = snapshots._capture_batch

    async def stopped_meanwhile(job):
        captured = await capture(job)
        await RunStore(wired).update(tenant_id, run.run_id, status="failed", finished_at=AT,
                                     error={"code": "internal_error", "message": "stopped"})
        return captured

    monkeypatch.setattr(snapshots, "_capture_batch", stopped_meanwhile)
    output = await snapshots.capture_run(asdict(CaptureRun(run_id=run.run_id,
                                                           tenant_id=tenant_id, at=AT)))

    stored = await RunStore(wired).get(tenant_id, run.run_id)
    assert output["status"] == stored.status == "failed"
    assert stored.error["code"] == "internal_error"
    notes = (await NotificationStore(wired).list("engineer", unread_only=False, top=50,
                                                 continuation=None)).value
    # One notification per state (DESIGN §4), the end's keyed by the stored end: a second
    # copy of the step, or a writer that notifies too, rewrites the same row.
    assert sorted((n["status"], n["created_at"]) for n in notes if n["run_id"] == run.run_id
                  ) == [("failed", AT), ("running", AT)]


@pytest.mark.parametrize("served", [True, False], ids=["captured", "not-found"])
async def test_a_capture_run_counts_its_run_from_the_item_it_wrote(
        graphsim, wired, monkeypatch, served):  # noqa: F811
    """A capture's one activity settles its run from the item it wrote itself, captured or
    failed, without reading the run's items back."""
    tenant_id = graphsim.tenant_ids[0]
    policy_id = (graphsim.objects(tenant_id, TYPE)[0]["id"] if served
                 else "00000000-0000-0000-0000-0000000000ff")
    run = await _run(wired, tenant_id, "capture_snapshot", new_ulid(), policy_type=TYPE,
                     policy_id=policy_id)
    all_items = RunStore.all_items

    async def not_read_back(*_):
        raise AssertionError("the run's items were read back")

    monkeypatch.setattr(RunStore, "all_items", not_read_back)
    output = await snapshots.capture_run(asdict(CaptureRun(run_id=run.run_id,
                                                           tenant_id=tenant_id, at=AT)))

    stored = await RunStore(wired).get(tenant_id, run.run_id)
    [item] = await all_items(RunStore(wired), run.run_id)
    assert output["status"] == stored.status == ("succeeded" if served else "failed")
    assert asdict(stored.counts) == {"total": 1, "processed": 1, "succeeded": int(served),
                                     "failed": int(not served), "skipped": 0}
    assert item.action == ("captured" if served else "failed")


async def test_a_capture_run_lists_its_tenants_webhooks_once_for_its_start_and_end(
        graphsim, wired, monkeypatch):  # noqa: F811
    tenant_id = graphsim.tenant_ids[0]
    policy_id = graphsim.objects(tenant_id, TYPE)[0]["id"]
    run = await _run(wired, tenant_id, "capture_snapshot", new_ulid(), policy_type=TYPE,
                     policy_id=policy_id)
    await WebhookStore(wired).put(tenant_id, "teams", "https://hooks.example.test/runs",
                                  ["run.running", "run.succeeded"], "oid-1")
    listed, listing = [], WebhookStore.list

    async def counted(store: WebhookStore, tenant: str):
        listed.append(tenant)
        return await listing(store, tenant)

    monkeypatch.setattr(WebhookStore, "list", counted)
    await snapshots.capture_run(asdict(CaptureRun(run_id=run.run_id, tenant_id=tenant_id,
                                                  at=AT)))

    assert listed == [tenant_id]
    queue = await wired.queue(DELIVERY_QUEUE)
    jobs = [DeliveryJob.of(json.loads(m.content)) async for m in queue.receive_messages(
        max_messages=32)]
    assert sorted((j.webhook_id, j.event_type) for j in jobs) == [
        ("teams", "run.running"), ("teams", "run.succeeded")]


async def test_duplicate_begin_restores_agree_on_the_pre_restore_set(graphsim, wired):  # noqa: F811
    """Issue 19, finding 9: two runs of the activity at once (a redelivered work item) give
    the same pre-restore set, and the run points at the set the orchestration captures into."""
    tenant_id = graphsim.tenant_ids[0]
    run = await _run(wired, tenant_id, "restore", await _set(wired, tenant_id))
    step = asdict(BeginRestore(run_id=run.run_id, tenant_id=tenant_id, at=AT))

    answers = await asyncio.gather(*(restore.begin_restore(step) for _ in range(4)))

    ids = {a["pre_restore_backup_set_id"] for a in answers}
    stored = await RunStore(wired).get(tenant_id, run.run_id)
    assert ids == {stored.pre_restore_backup_set_id}
    assert is_ulid(stored.pre_restore_backup_set_id)


async def test_seal_pre_restore_set_of_another_set_id_cannot_repoint_the_run(
        graphsim, wired):  # noqa: F811
    tenant_id = graphsim.tenant_ids[0]
    run, pre_id = await _begun_restore(wired, tenant_id)
    stray = new_ulid()

    with pytest.raises(TenantMismatch):
        await restore.seal_pre_restore_set(asdict(SealPreRestoreSet(
            run_id=run.run_id, tenant_id=tenant_id, pre_restore_backup_set_id=stray, at=AT)))

    stored = await RunStore(wired).get(tenant_id, run.run_id)
    assert stored.pre_restore_backup_set_id == pre_id
    assert await BackupSetStore(wired).get(tenant_id, stray) is None


async def test_two_copies_of_a_settle_racing_notify_the_runs_end_once(
        graphsim, wired, monkeypatch):  # noqa: F811
    tenant_id = graphsim.tenant_ids[0]
    run = await _run(wired, tenant_id, "capture_snapshot", new_ulid())
    # Both copies (a redelivered capture_run beside the first) read the run before either
    # settles it, each with its own clock.
    both_read, get_seen, reads = asyncio.Barrier(2), RunStore.get_seen, []

    async def first_reads_in_step(store: RunStore, tenant: str, run_id: str):
        found = await get_seen(store, tenant, run_id)
        reads.append(found)
        if len(reads) <= 2:  # the loser's re-read, after its write is refused, goes on alone
            await both_read.wait()
        return found

    monkeypatch.setattr(RunStore, "get_seen", first_reads_in_step)
    await asyncio.gather(*(runs.settle_run(FinishRun(
        run_id=run.run_id, tenant_id=tenant_id, at=at, backup_set_kind="capture"))
        for at in ("2025-01-01T01:00:01Z", "2025-01-01T01:00:02Z")))
    monkeypatch.undo()
    assert len(reads) == 3  # both read the run unsettled; the loser read it again

    notes = [n for n in (await NotificationStore(wired).list(
        "engineer", unread_only=False, top=50, continuation=None)).value
        if n["run_id"] == run.run_id]
    settled = await RunStore(wired).get(tenant_id, run.run_id)
    assert [(n["status"], n["created_at"]) for n in notes] == [
        (settled.status, settled.finished_at)]
