"""The repair sweep (issue 19, finding 5) on real Azure Tables (Azurite): a run recorded but
never scheduled, or whose orchestration failed or was terminated, is started again after a
grace period, a bounded number of times, then failed; an offboarding tenant's runs count as
final; a sweep with nothing to repair writes nothing; the run-index write is retried."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from shared.platform import tables
from shared.platform.errors import RestoreInProgress, StorageError
from shared.platform.keys import iso, utc_now
from shared.restore.lock import claim_live_restore
from shared.runs import repair
from shared.runs.jobs import restore_job
from shared.runs.model import RunStatus
from shared.runs.repair import GRACE, MAX_ATTEMPTS, RUN_REPAIRS, sweep
from shared.runs.starter import start_job
from shared.runs.store import RUN_INDEX, RUNS, RunStore
from shared.tenants.store import TENANTS, Tenant, TenantStore
from tests.shared.test_jobs import TENANT, RecordingScheduler, _request

pytestmark = pytest.mark.anyio


class LostStarts(RecordingScheduler):
    """Every schedule is lost (the instance never appears), or — ``statuses`` — the
    instance is in the given state."""

    def __init__(self, statuses: dict[str, str] | None = None) -> None:
        super().__init__()
        self.fixed = statuses or {}
        self.schedules: list[str] = []

    async def schedule(self, orchestrator: str, instance_id: str, payload: dict[str, Any]
                       ) -> None:
        self.schedules.append(instance_id)

    async def status(self, instance_id: str) -> str | None:
        return self.fixed.get(instance_id)


async def _tenant(storage, tenant_id: str = TENANT, **extra: str) -> None:
    now = iso(utc_now())
    await TenantStore(storage).put(Tenant(tenant_id, "Customer", now, now))
    if extra:
        await tables.upsert(await storage.table(TENANTS),
                            {"PartitionKey": "tenant", "RowKey": tenant_id, **extra},
                            merge=True)


async def _recorded(storage, now: datetime, key: str = f"{TENANT}|backup|*"):
    """A run recorded at ``now`` whose scheduling was lost (a crash in between)."""
    run, _ = await start_job(_request(key, run_type="backup", orchestrator="backup_tenant"),
                             storage=storage, scheduler=LostStarts(), now=now)
    return run


async def _rows(storage, table: str) -> list[tuple[str, str, str]]:
    client = await storage.table(table)
    found = [e async for e in client.list_entities()]
    return sorted((e["PartitionKey"], e["RowKey"], e.metadata["etag"]) for e in found)


async def test_sweep_a_queued_run_never_scheduled_is_scheduled_after_the_grace(storage):
    await _tenant(storage)
    start = utc_now()
    run = await _recorded(storage, start)
    scheduler = LostStarts()

    early = await sweep(storage, scheduler, start + GRACE / 2)
    assert (early.inspected, scheduler.schedules) == (0, [])  # its start may still be on it

    outcome = await sweep(storage, scheduler, start + GRACE + timedelta(seconds=1))
    assert scheduler.schedules == [run.instance_id]
    assert outcome.repaired == {"scheduled": 1}


async def test_sweep_attempts_are_bounded_then_the_run_fails(storage):
    await _tenant(storage)
    start = utc_now()
    run = await _recorded(storage, start)
    scheduler = LostStarts()

    moment = start
    for _ in range(MAX_ATTEMPTS + 2):
        moment += GRACE + timedelta(seconds=1)
        await sweep(storage, scheduler, moment)
        await sweep(storage, scheduler, moment + timedelta(seconds=5))  # within its grace

    assert scheduler.schedules == [run.instance_id] * MAX_ATTEMPTS
    failed = await RunStore(storage).get(TENANT, run.run_id)
    assert failed.status == RunStatus.FAILED.value
    assert failed.error["code"] == "internal_error"


async def test_sweep_a_queued_run_whose_instance_stays_pending_is_scheduled_again(storage):
    await _tenant(storage)
    start = utc_now()
    run = await _recorded(storage, start)
    scheduler = LostStarts({run.instance_id: "Pending"})  # its start message was lost

    outcome = await sweep(storage, scheduler, start + GRACE * 2)

    assert (scheduler.schedules, outcome.repaired) == ([run.instance_id], {"scheduled": 1})


@pytest.mark.parametrize("state", ["Failed", "Terminated"])
async def test_sweep_a_run_whose_orchestration_died_is_restarted(storage, state):
    await _tenant(storage)
    start = utc_now()
    run = await _recorded(storage, start)
    await RunStore(storage).update(TENANT, run.run_id, status=RunStatus.RUNNING.value)
    scheduler = LostStarts({run.instance_id: state})

    outcome = await sweep(storage, scheduler, start + GRACE * 2)

    assert scheduler.schedules == [run.instance_id]
    assert outcome.repaired == {"restarted": 1}


async def test_sweep_with_nothing_to_repair_writes_nothing(storage):
    await _tenant(storage)
    start = utc_now()
    running = await _recorded(storage, start)
    done = await _recorded(storage, start, key=f"{TENANT}|backup|assignmentFilters")
    await RunStore(storage).update(TENANT, done.run_id, status=RunStatus.SUCCEEDED.value)
    scheduler = LostStarts({running.instance_id: "Running"})
    before = {t: await _rows(storage, t) for t in (RUNS, RUN_INDEX, RUN_REPAIRS, TENANTS)}

    outcome = await sweep(storage, scheduler, start + GRACE * 2)

    assert (outcome.inspected, outcome.wrote, scheduler.schedules) == (1, False, [])
    assert {t: await _rows(storage, t) for t in before} == before


async def test_sweep_an_offboarding_tenants_runs_count_as_final(storage):
    await _tenant(storage)
    start = utc_now()
    await _recorded(storage, start)
    assert await TenantStore(storage).mark_offboarding(TENANT, "01JOFFBOARDING0000000000000")
    scheduler = LostStarts()

    outcome = await sweep(storage, scheduler, start + GRACE * 2)

    assert (outcome.inspected, scheduler.schedules) == (0, [])


async def test_sweep_a_stuck_queued_live_restore_stops_blocking_its_tenant(storage):
    await _tenant(storage)
    start = utc_now()
    request = restore_job(TENANT, "01J00000000000000000000000", dry_run=False).request("oid-1")
    await claim_live_restore(storage, TENANT, request.key, start)
    run, _ = await start_job(request, storage=storage, scheduler=LostStarts(), now=start)
    other = f"{TENANT}|restore|other"
    with pytest.raises(RestoreInProgress):  # queued for good: 409 until someone re-POSTs
        await claim_live_restore(storage, TENANT, other, start + GRACE * 10)

    scheduler = LostStarts()
    moment = start
    for _ in range(MAX_ATTEMPTS + 1):
        moment += GRACE + timedelta(seconds=1)
        await sweep(storage, scheduler, moment)

    assert (await RunStore(storage).get(TENANT, run.run_id)).terminal
    await claim_live_restore(storage, TENANT, other, moment)  # free


async def test_sweep_writes_a_missing_run_index_row(storage):
    await _tenant(storage)
    start = utc_now()
    run = await _recorded(storage, start)
    await tables.delete(await storage.table(RUN_INDEX), run.run_id, "run")
    assert await RunStore(storage).tenant_of(run.run_id) is None  # 403 forever, before

    outcome = await sweep(storage, LostStarts({run.instance_id: "Running"}), start + GRACE * 2)

    assert outcome.repaired == {"indexed": 1}
    assert await RunStore(storage).tenant_of(run.run_id) == TENANT


async def test_run_index_write_is_retried_until_it_lands(storage, monkeypatch):
    written = tables.upsert
    failures = []

    async def flaky(table, entity, **kwargs):
        if table.table_name.endswith(RUN_INDEX) and len(failures) < 3:
            failures.append(entity["PartitionKey"])
            raise StorageError("Azure Storage could not write a row of runindex: HTTP 503")
        return await written(table, entity, **kwargs)

    await _tenant(storage)
    monkeypatch.setattr(tables, "upsert", flaky)
    run = await _recorded(storage, utc_now())
    monkeypatch.undo()

    assert len(failures) == 3
    assert await RunStore(storage).tenant_of(run.run_id) == TENANT
    assert await RunStore(storage).get(TENANT, run.run_id) is not None


def test_repair_knows_every_run_type_the_jobs_start():
    assert set(repair.ORCHESTRATORS) >= {"capture_snapshot", "backup", "restore", "drift_check"}

