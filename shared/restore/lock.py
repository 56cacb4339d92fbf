"""One live restore per tenant at a time (DESIGN §3: 409 ``restore_in_progress``).

The lock is one ETag-guarded row per tenant naming the idempotency key that holds it and when
it was claimed. Whether it is held is *derived* from the holder's run — a live run holds it,
a finished one does not — so a crashed restore can never leave a tenant locked. Between
claiming the lock and recording its run, the holder is given ``CLAIM_GRACE``.

Every claim writes the row, ETag-guarded (issue 19, finding 4): also a start with the holder's
own key, so a concurrent start with another key that read the row before it must look again,
and sees a claim newer than the holder's finished run (held, within the grace) rather than a
free lock. A start with the holder's key passes while its start would return that key's live
run; a client key past its 24 hours would start a second run beside the live one: 409. The
lock is released only while no live run holds it — never after a start that may have
scheduled its run.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from shared.platform import tables
from shared.platform.errors import RestoreInProgress
from shared.platform.keys import iso, parse_iso
from shared.platform.storage import Storage
from shared.runs.idempotency import IdempotencyRecord, IdempotencyStore
from shared.runs.store import RunStore

RESTORE_LOCKS = "restorelocks"
CLAIM_GRACE = timedelta(seconds=60)
# A start with the holder's key that found its run live reuses it; only if that run finished
# in the moment before the start read it again would it record another. Held that long.
REUSE_GRACE = timedelta(seconds=5)
_ROW = "live"
_MAX_ATTEMPTS = 25


async def claim_live_restore(storage: Storage, tenant_id: str, key: str, now: datetime
                             ) -> None:
    """Take (or renew) the tenant's live-restore lock for ``key``; :class:`RestoreInProgress`
    if another key's restore still runs, or ``key``'s own would run twice."""
    table = await storage.table(RESTORE_LOCKS)
    for _ in range(_MAX_ATTEMPTS):
        entity = await tables.get_or_none(table, tenant_id, _ROW)
        if entity is not None:
            holder, claimed_at = entity["key"], parse_iso(entity["claimed_at"])
            if holder == key:
                record = await IdempotencyStore(storage).get(tenant_id, key)
                if await _expired_but_live(storage, tenant_id, record, now):
                    raise RestoreInProgress("a live restore started with this Idempotency-Key "
                                            "more than 24 hours ago is still running")
                if _claim_is_newest(record, claimed_at, now):
                    return  # an identical start is recording its run: nothing to renew
            elif await _held(storage, tenant_id, entity, now):
                raise RestoreInProgress("a live restore is already running in this tenant; "
                                        "wait for it to finish")
        row = {"PartitionKey": tenant_id, "RowKey": _ROW, "key": key, "claimed_at": iso(now),
               "reusing": await _live_run_id(storage, tenant_id, key) or ""}
        if entity is None:
            won = await tables.insert_once(table, row)
        else:
            won = await tables.replace_if_unchanged(table, row, tables.etag(entity))
        if won:
            return
        # another start claimed (or released) it first: look again
    raise RestoreInProgress("a live restore is being started in this tenant; try again")


async def release_live_restore(storage: Storage, tenant_id: str, key: str) -> None:
    """Give the lock back after a start that took it but started nothing (refused, or
    answered with a finished run), so the tenant is not blocked for ``CLAIM_GRACE``. Kept
    while a run of ``key`` is live: the start may have scheduled it before it failed."""
    table = await storage.table(RESTORE_LOCKS)
    entity = await tables.get_or_none(table, tenant_id, _ROW)
    if entity is None or entity["key"] != key:
        return
    if await _live_run_id(storage, tenant_id, key) is not None:
        return
    # False when another start took it since: then it is theirs to keep.
    await tables.delete(table, tenant_id, _ROW, etag=tables.etag(entity))


async def _live_run_id(storage: Storage, tenant_id: str, key: str) -> str | None:
    """The run id of ``key``'s live run, if it has one."""
    record = await IdempotencyStore(storage).get(tenant_id, key)
    if record is None:
        return None
    run = await RunStore(storage).get(tenant_id, record.run_id)
    return None if run is None or run.terminal else run.run_id


async def _expired_but_live(storage: Storage, tenant_id: str,
                            record: IdempotencyRecord | None, now: datetime) -> bool:
    """A start with the record's key would make a second run beside its live one: its
    client key has expired (after 24 h the key gets a new run, DESIGN §3)."""
    if record is None or not record.expired(now):
        return False
    run = await RunStore(storage).get(tenant_id, record.run_id)
    return run is not None and not run.terminal


def _claim_is_newest(record: IdempotencyRecord | None, claimed_at: datetime,
                     now: datetime) -> bool:
    """The row's claim is newer than the key's last recorded run, and well within the grace:
    whoever reads the row finds it held (``_held``) without it being renewed. So N identical
    concurrent starts write the row once."""
    fresh = now - claimed_at < CLAIM_GRACE / 2
    return fresh and (record is None or parse_iso(record.created_at) < claimed_at)


async def _held(storage: Storage, tenant_id: str, row: dict, now: datetime) -> bool:
    """Whether the lock ``row`` still holds: its key's run is live, or the claim's run is
    still being recorded (within the grace)."""
    claimed_at = parse_iso(row["claimed_at"])
    record = await IdempotencyStore(storage).get(tenant_id, row["key"])
    if record is not None:
        run = await RunStore(storage).get(tenant_id, record.run_id)
        if run is not None:
            if not run.terminal:
                return True  # a live run holds it, however old the claim
            if parse_iso(record.created_at) >= claimed_at:
                return False  # the run this claim recorded has finished
            if row.get("reusing") == run.run_id:
                return now - claimed_at < REUSE_GRACE  # the claim found it live: reused
    # Claimed, and its run not recorded (yet): the claimer is writing it, or crashed.
    return now - claimed_at < CLAIM_GRACE
