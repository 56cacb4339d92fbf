"""One scheduler tick on real Azure Tables (Azurite): each due job starts exactly once across
repeated, concurrent and interrupted ticks; a tick with nothing due writes nothing.

The Durable client is stood in for by ``RecordingScheduler`` (the job protocol's own test
double); ``tests/e2e/test_schedules.py`` runs the same ticks against the runtime.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from azure.data.tables.aio import TableServiceClient

from shared.platform.keys import iso
from shared.platform.storage import Storage, expand_connection_string
from shared.runs.jobs import backup_job
from shared.runs.model import RunStatus
from shared.runs.starter import start_job
from shared.runs.store import RunStore
from shared.schedules.jobs import SCHEDULER
from shared.schedules.marks import CLAIM_LEASE, MarkState, MarkStore
from shared.schedules.model import Schedules
from shared.schedules.tick import Fired, run_tick
from shared.tenants.store import Tenant, TenantStore
from tests.shared.test_jobs import RecordingScheduler

pytestmark = pytest.mark.anyio
TENANTS = [f"{n}{n}{n}{n}{n}{n}{n}{n}-0000-0000-0000-000000000000" for n in range(1, 4)]
REGISTERED = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
DUE = datetime(2026, 3, 3, 3, 2, tzinfo=UTC)  # two minutes after the first 03:00
DAILY_AT_3 = "0 0 3 * * *"


class Stop(Exception):
    """The tick's process dies here (a crash, a scale-in, a deployment)."""


async def _register(storage: Storage, *tenant_ids: str, backup: str | None = DAILY_AT_3,
                    drift: str | None = None) -> None:
    for tenant_id in tenant_ids:
        await TenantStore(storage).put(Tenant(
            tenant_id, "T", iso(REGISTERED), iso(REGISTERED),
            Schedules({"backup": backup, "drift_check": drift})))


async def _runs(storage: Storage, tenant_id: str) -> list[Any]:
    return (await RunStore(storage).list(tenant_id, top=100)).value


async def _rows(connection: str, prefix: str) -> set[tuple[str, str, str, str]]:
    """Every row under the prefix, with its ETag: an insert, update or delete changes this."""
    async with TableServiceClient.from_connection_string(
            expand_connection_string(connection)) as service:
        rows = set()
        async for table in service.list_tables():
            if table.name.startswith(prefix):
                client = service.get_table_client(table.name)
                async for e in client.list_entities():
                    rows.add((table.name, e["PartitionKey"], e["RowKey"], e.metadata["etag"]))
        return rows


async def test_tick_due_backups_start_once_across_concurrent_and_repeated_ticks(
        storage, storage_connection, storage_prefix):
    await _register(storage, *TENANTS)
    scheduler = RecordingScheduler()
    other = Storage(storage_connection, storage_prefix)  # a second instance, its own clients

    try:
        first, second = await asyncio.gather(run_tick(storage, scheduler, DUE),
                                             run_tick(other, scheduler, DUE))
    finally:
        await other.close()
    later = [await run_tick(storage, scheduler, DUE + timedelta(minutes=m)) for m in (0, 5, 60)]

    assert first.fired[Fired.STARTED] + second.fired[Fired.STARTED] == len(TENANTS)
    # the other tick saw each claim, or lost it: it never got as far as a start
    assert first.fired[Fired.REUSED] + second.fired[Fired.REUSED] == 0
    assert len(scheduler.started) == len(TENANTS)
    assert [t.due for t in later] == [0, 0, 0]
    for tenant_id in TENANTS:
        [run] = await _runs(storage, tenant_id)
        assert (run.requested_by, run.idempotency_key) == (SCHEDULER, f"{tenant_id}|backup|*")
        assert run.parameters["label"] == "scheduled 2026-03-03 03:00 UTC"
        mark = await MarkStore(storage).get("backup", tenant_id)
        assert (mark.state, mark.run_id, mark.last_fired) == ("started", run.run_id, iso(DUE))


async def test_tick_with_nothing_due_writes_nothing(storage, storage_connection,
                                                    storage_prefix):
    await _register(storage, *TENANTS)
    await _register(storage, "44444444-0000-0000-0000-000000000000", backup=None,
                    drift="0 0 */6 * * *")
    fired = await run_tick(storage, RecordingScheduler(), DUE)  # three backups, one drift
    before = await _rows(storage_connection, storage_prefix)

    quiet = [await run_tick(storage, RecordingScheduler(), moment) for moment in (
        REGISTERED + timedelta(minutes=5),  # before any first occurrence
        DUE,  # the same tick again
        DUE + timedelta(minutes=5),  # everything due has fired
        DUE.replace(hour=5, minute=59),  # next: the drift check at 06:00, backups tomorrow
    )]

    assert fired.due == 4
    assert [t.due for t in quiet] == [0, 0, 0, 0]
    assert await _rows(storage_connection, storage_prefix) == before


async def test_tick_missed_for_days_catches_up_once(storage):
    await _register(storage, TENANTS[0])
    scheduler = RecordingScheduler()

    week_later = DUE + timedelta(days=6, hours=7)
    caught_up = await run_tick(storage, scheduler, week_later)
    next_tick = await run_tick(storage, scheduler, week_later + timedelta(minutes=5))

    assert (caught_up.due, caught_up.fired[Fired.STARTED], next_tick.due) == (1, 1, 0)
    mark = await MarkStore(storage).get("backup", TENANTS[0])
    assert mark.occurrence == "2026-03-09T03:00:00Z"  # the latest missed occurrence
    assert len(await _runs(storage, TENANTS[0])) == 1


async def test_tick_scheduled_backup_reuses_a_manual_one_in_flight(storage):
    await _register(storage, TENANTS[0])
    scheduler = RecordingScheduler()
    manual, _ = await start_job(backup_job(TENANTS[0]).request("engineer"), storage=storage,
                                scheduler=scheduler)

    outcome = await run_tick(storage, scheduler, DUE)

    assert outcome.fired[Fired.REUSED] == 1
    assert scheduler.started == [manual.instance_id]
    assert [r.run_id for r in await _runs(storage, TENANTS[0])] == [manual.run_id]
    mark = await MarkStore(storage).get("backup", TENANTS[0])
    assert (mark.run_id, mark.reused, mark.covering_run) == (manual.run_id, True, manual.run_id)


async def test_tick_stopped_after_claiming_starts_once_after_the_lease(storage, storage_connection,
                                                                       storage_prefix):
    await _register(storage, TENANTS[0])
    scheduler = RecordingScheduler()

    async def stops_before_starting(*args: Any, **kwargs: Any) -> Any:
        raise Stop

    stopped = await run_tick(storage, scheduler, DUE, start=stops_before_starting)
    started_before = list(scheduler.started)
    claimed = await _rows(storage_connection, storage_prefix)
    while_held = await run_tick(storage, scheduler, DUE + timedelta(minutes=5))
    held_rows = await _rows(storage_connection, storage_prefix)
    resumed = await run_tick(storage, scheduler, DUE + CLAIM_LEASE)
    after = await run_tick(storage, scheduler, DUE + CLAIM_LEASE + timedelta(minutes=5))

    assert (stopped.fired[Fired.FAILED], started_before) == (1, [])
    assert (while_held.due, held_rows == claimed) == (0, True)  # the claim is its tick's
    assert (resumed.resumed, resumed.fired[Fired.STARTED], after.due) == (1, 1, 0)
    [run] = await _runs(storage, TENANTS[0])
    assert scheduler.started == [run.instance_id]
    mark = await MarkStore(storage).get("backup", TENANTS[0])
    assert (mark.state, mark.run_id, mark.occurrence) == ("started", run.run_id,
                                                          "2026-03-03T03:00:00Z")


async def test_tick_stopped_after_starting_never_starts_it_again(storage):
    await _register(storage, *TENANTS[:2])
    scheduler = RecordingScheduler()

    async def stops_after_starting(*args: Any, **kwargs: Any) -> Any:
        await start_job(*args, **kwargs)
        raise Stop

    stopped = await run_tick(storage, scheduler, DUE, start=stops_after_starting)
    [finished] = await _runs(storage, TENANTS[1])
    await RunStore(storage).update(TENANTS[1], finished.run_id,  # ended before the resume
                                   status=RunStatus.SUCCEEDED.value)
    resumed = await run_tick(storage, scheduler, DUE + CLAIM_LEASE)

    assert stopped.fired[Fired.FAILED] == 2
    assert (resumed.resumed, resumed.fired[Fired.REUSED], resumed.fired[Fired.STARTED]) == (
        2, 2, 0)
    for tenant_id in TENANTS[:2]:
        [run] = await _runs(storage, tenant_id)
        mark = await MarkStore(storage).get("backup", tenant_id)
        assert (mark.state, mark.run_id, mark.reused) == ("started", run.run_id, False)
    assert len(scheduler.started) == 2


async def test_tick_stopped_between_recording_and_scheduling_schedules_it_on_resume(storage):
    await _register(storage, TENANTS[0])

    class StopsBeforeScheduling(RecordingScheduler):
        async def schedule(self, orchestrator: str, instance_id: str, payload: dict) -> None:
            raise Stop

    await run_tick(storage, StopsBeforeScheduling(), DUE)
    engine = RecordingScheduler()  # the engine never saw the first schedule
    resumed = await run_tick(storage, engine, DUE + CLAIM_LEASE)

    [run] = await _runs(storage, TENANTS[0])
    assert (run.status, resumed.fired[Fired.REUSED]) == ("queued", 1)
    assert engine.started == [run.instance_id]


async def test_tick_stopped_while_a_manual_run_served_the_fire_does_not_start_after_it(storage):
    await _register(storage, TENANTS[0])
    scheduler = RecordingScheduler()
    manual, _ = await start_job(backup_job(TENANTS[0]).request("engineer"), storage=storage,
                                scheduler=scheduler)

    async def stops(*args: Any, **kwargs: Any) -> Any:
        raise Stop

    await run_tick(storage, scheduler, DUE, start=stops)
    await RunStore(storage).update(TENANTS[0], manual.run_id, status=RunStatus.SUCCEEDED.value)
    resumed = await run_tick(storage, scheduler, DUE + CLAIM_LEASE)

    assert resumed.fired[Fired.REUSED] == 1
    assert [r.run_id for r in await _runs(storage, TENANTS[0])] == [manual.run_id]


async def test_tick_drift_check_without_baseline_advances_its_marker_and_starts_nothing(storage):
    await _register(storage, TENANTS[0], backup=None, drift="0 0 */6 * * *")
    scheduler = RecordingScheduler()

    skipped = await run_tick(storage, scheduler, DUE)
    again = await run_tick(storage, scheduler, DUE + timedelta(minutes=5))

    assert (skipped.fired[Fired.SKIPPED], again.due) == (1, 0)
    mark = await MarkStore(storage).get("drift_check", TENANTS[0])
    assert (mark.state, mark.code, mark.run_id) == (MarkState.SKIPPED, "no_baseline", None)
    assert scheduler.started == [] and await _runs(storage, TENANTS[0]) == []


async def test_tick_starts_at_most_its_limit_and_the_rest_on_the_next_ticks(storage):
    await _register(storage, *TENANTS)
    scheduler = RecordingScheduler()

    ticks = [await run_tick(storage, scheduler, DUE + timedelta(minutes=5 * n), limit=2)
             for n in range(3)]

    assert [(t.due, t.deferred, t.fired[Fired.STARTED]) for t in ticks] == [
        (3, 1, 2), (1, 0, 1), (0, 0, 0)]
    assert len(scheduler.started) == len(TENANTS)
