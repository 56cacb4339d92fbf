"""One live restore per tenant at a time (DESIGN §3: 409 ``restore_in_progress``).

The lock is one ETag-guarded row per tenant naming the idempotency key that holds it. It is
never released: whether it is held is *derived* from the holder's run — the lock is free once
that run is terminal — so a crashed restore can never leave a tenant locked. A start with the
holder's own key passes (it reuses that run, DESIGN §4). Between claiming the lock and
recording its run, the holder is given ``CLAIM_GRACE`` to write its idempotency record.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from shared.platform import tables
from shared.platform.errors import RestoreInProgress
from shared.platform.keys import iso, parse_iso
from shared.platform.storage import Storage
from shared.runs.idempotency import IdempotencyStore
from shared.runs.store import RunStore

RESTORE_LOCKS = "restorelocks"
CLAIM_GRACE = timedelta(seconds=60)
_ROW = "live"
_MAX_ATTEMPTS = 25


async def claim_live_restore(storage: Storage, tenant_id: str, key: str, now: datetime) -> bool:
    """Take the tenant's live-restore lock for ``key``; :class:`RestoreInProgress` if another
    key's restore still runs. True when this call took it (False: ``key`` already held it)."""
    table = await storage.table(RESTORE_LOCKS)
    for _ in range(_MAX_ATTEMPTS):
        entity = await tables.get_or_none(table, tenant_id, _ROW)
        if entity is not None:
            if entity["key"] == key:
                return False
            if await _held(storage, tenant_id, entity["key"], parse_iso(entity["claimed_at"]),
                           now):
                raise RestoreInProgress("a live restore is already running in this tenant; "
                                        "wait for it to finish")
        row = {"PartitionKey": tenant_id, "RowKey": _ROW, "key": key, "claimed_at": iso(now)}
        if entity is None:
            won = await tables.insert_once(table, row)
        else:
            won = await tables.replace_if_unchanged(table, row, tables.etag(entity))
        if won:
            return True
        # another start claimed (or released) it first: look again
    raise RestoreInProgress("a live restore is being started in this tenant; try again")


async def release_live_restore(storage: Storage, tenant_id: str, key: str) -> None:
    """Give the lock back after a start that took it but started nothing (refused, or
    answered with a finished run), so the tenant is not blocked for ``CLAIM_GRACE``."""
    table = await storage.table(RESTORE_LOCKS)
    entity = await tables.get_or_none(table, tenant_id, _ROW)
    if entity is not None and entity["key"] == key:
        # False when another start took it since: then it is theirs to keep.
        await tables.delete(table, tenant_id, _ROW, etag=tables.etag(entity))


async def _held(storage: Storage, tenant_id: str, key: str, claimed_at: datetime,
                now: datetime) -> bool:
    record = await IdempotencyStore(storage).get(tenant_id, key)
    if record is None or parse_iso(record.created_at) < claimed_at:
        # The holder claimed the lock but has not recorded its run yet.
        return now - claimed_at < CLAIM_GRACE
    run = await RunStore(storage).get(tenant_id, record.run_id)
    if run is None:
        return now - claimed_at < CLAIM_GRACE
    return not run.terminal
