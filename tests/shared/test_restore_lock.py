"""One live restore per tenant (409 restore_in_progress) on real Azure Tables (Azurite)."""

import asyncio
from datetime import timedelta

import pytest

from shared.platform import tables
from shared.platform.codes import ErrorCode
from shared.platform.errors import RestoreInProgress
from shared.platform.keys import utc_now
from shared.restore.lock import (
    CLAIM_GRACE,
    RESTORE_LOCKS,
    REUSE_GRACE,
    claim_live_restore,
    release_live_restore,
)
from shared.runs.model import RunStatus
from shared.runs.starter import start_job
from shared.runs.store import RunStore
from tests.shared.test_jobs import TENANT, RecordingScheduler, _request, registered

pytestmark = pytest.mark.anyio
KEY_A, KEY_B = f"{TENANT}|restore|A|false|*|true|report_only", f"{TENANT}|restore|B|false"


async def _start(storage, key: str, now=None):
    await claim_live_restore(storage, TENANT, key, now or utc_now())
    run, _ = await start_job(_request(key, run_type="restore", orchestrator="restore"),
                             storage=storage, scheduler=RecordingScheduler())
    return run


async def test_restore_lock_second_key_refused_while_first_runs_then_free(storage):
    await registered(storage)
    run = await _start(storage, KEY_A)
    await claim_live_restore(storage, TENANT, KEY_A, utc_now())  # its own key passes

    with pytest.raises(RestoreInProgress) as refused:
        await claim_live_restore(storage, TENANT, KEY_B, utc_now())
    assert (refused.value.http_status, refused.value.code) == (409, ErrorCode.RESTORE_IN_PROGRESS)

    await RunStore(storage).update(TENANT, run.run_id, status=RunStatus.SUCCEEDED.value)
    # A's second start found its run live and reused it: held a moment more (REUSE_GRACE)
    await _start(storage, KEY_B, utc_now() + REUSE_GRACE)
    with pytest.raises(RestoreInProgress):
        await claim_live_restore(storage, TENANT, KEY_A, utc_now())


async def test_restore_lock_claimed_without_a_run_expires_after_the_grace(storage):
    await registered(storage)
    now = utc_now()
    await claim_live_restore(storage, TENANT, KEY_A, now)  # the claimer crashed here
    with pytest.raises(RestoreInProgress):
        await claim_live_restore(storage, TENANT, KEY_B, now + timedelta(seconds=1))
    await claim_live_restore(storage, TENANT, KEY_B, now + CLAIM_GRACE + timedelta(seconds=1))


async def test_restore_lock_concurrent_different_keys_one_wins(storage):
    await registered(storage)
    keys = [f"{TENANT}|restore|{n}" for n in range(10)]
    results = await asyncio.gather(*(claim_live_restore(storage, TENANT, k, utc_now())
                                     for k in keys), return_exceptions=True)
    assert results.count(None) == 1
    assert all(isinstance(r, RestoreInProgress) for r in results if r is not None)


async def test_restore_lock_released_by_its_holder_is_free_at_once(storage):
    await registered(storage)
    await claim_live_restore(storage, TENANT, KEY_A, utc_now())
    await claim_live_restore(storage, TENANT, KEY_A, utc_now())  # its own key passes

    await release_live_restore(storage, TENANT, KEY_B)  # not the holder: no effect
    with pytest.raises(RestoreInProgress):
        await claim_live_restore(storage, TENANT, KEY_B, utc_now())
    await release_live_restore(storage, TENANT, KEY_A)

    await claim_live_restore(storage, TENANT, KEY_B, utc_now())


async def test_restore_lock_released_between_read_and_claim_is_taken_not_an_error(
        storage, monkeypatch):
    now = utc_now()
    await claim_live_restore(storage, TENANT, KEY_A, now - CLAIM_GRACE * 2)  # long expired
    read = tables.get_or_none
    released = []

    async def read_then_release(table, partition_key, row_key):
        entity = await read(table, partition_key, row_key)
        if entity is not None and not released:  # the holder gives it back right after
            released.append(entity)
            await release_live_restore(storage, TENANT, entity["key"])
        return entity

    monkeypatch.setattr(tables, "get_or_none", read_then_release)
    await claim_live_restore(storage, TENANT, KEY_B, now)
    monkeypatch.undo()
    assert released
    row = await tables.get_or_none(await storage.table(RESTORE_LOCKS), TENANT, "live")
    assert row["key"] == KEY_B


# ---- issue 19, finding 4: ETag-guarded on every path ----------------------------------------
async def test_restore_lock_the_finished_holders_key_and_another_key_never_both_run(storage):
    await registered(storage)
    first = await _start(storage, KEY_A)
    await RunStore(storage).update(TENANT, first.run_id, status=RunStatus.SUCCEEDED.value)
    now = utc_now()

    await claim_live_restore(storage, TENANT, KEY_A, now)  # A again: it will get a new run
    with pytest.raises(RestoreInProgress):  # B, reading the row before A's run is recorded
        await claim_live_restore(storage, TENANT, KEY_B, now + timedelta(seconds=1))
    second, reused = await start_job(_request(KEY_A, run_type="restore", orchestrator="restore"),
                                     storage=storage, scheduler=RecordingScheduler())

    assert not reused and second.run_id != first.run_id
    with pytest.raises(RestoreInProgress):
        await claim_live_restore(storage, TENANT, KEY_B, now + CLAIM_GRACE * 2)


async def test_restore_lock_an_expired_client_key_cannot_start_beside_its_live_run(storage):
    await registered(storage)
    key = f"{TENANT}|client|retry-me"
    now = utc_now()
    await claim_live_restore(storage, TENANT, key, now)
    await start_job(_request(key, run_type="restore", orchestrator="restore", client_key=True),
                    storage=storage, scheduler=RecordingScheduler(), now=now)
    later = now + timedelta(hours=25)  # the key expired; its restore still runs

    with pytest.raises(RestoreInProgress):
        await claim_live_restore(storage, TENANT, key, later)


async def test_restore_lock_is_kept_when_the_start_failed_after_recording_its_run(storage):
    await registered(storage)
    await _start(storage, KEY_A)  # recorded and scheduled; then the response failed

    await release_live_restore(storage, TENANT, KEY_A)  # the start's error path

    with pytest.raises(RestoreInProgress):
        await claim_live_restore(storage, TENANT, KEY_B, utc_now() + CLAIM_GRACE * 2)


async def test_restore_lock_concurrent_identical_starts_all_pass(storage):
    await registered(storage)
    results = await asyncio.gather(*(claim_live_restore(storage, TENANT, KEY_A, utc_now())
                                     for _ in range(20)), return_exceptions=True)
    assert results == [None] * 20
