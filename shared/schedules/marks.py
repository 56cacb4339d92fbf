"""The ``last_fired`` marker of each (tenant, job): how ticks agree on what has fired.

One row per (job, tenant) in ``schedulemarks`` — PartitionKey the job, RowKey the tenant —
so a tick reads every marker of a job in one partition query. Every write is ETag-guarded
(inserted once, or replaced only as it was read), so of several ticks that saw the same due
occurrence exactly one claims it; the others find the row changed and leave it.

A fire is two writes: the **claim** (``claimed``: ``last_fired`` moves to the tick's time and
the row records what the start will be judged against — the job key's idempotency generation,
and a run of that key already in flight) before the start, and the **confirmation**
(``started`` with the run, or ``skipped`` with a code) after it. A claim that stays
unconfirmed past :data:`CLAIM_LEASE` belongs to a tick that stopped midway; the next tick takes
it over and finishes it (``shared.schedules.tick``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from shared.platform import tables
from shared.platform.keys import iso, new_ulid, parse_iso
from shared.platform.storage import Storage

MARKS = "schedulemarks"
# Longer than any tick takes between its claim and its confirmation (seconds), and than one
# tick interval, so a tick that is merely slow is not overtaken by the next one.
CLAIM_LEASE = timedelta(minutes=10)


class MarkState(StrEnum):
    CLAIMED = "claimed"  # a tick is starting the job (or stopped while it did)
    STARTED = "started"  # the occurrence has its run (a new one, or one already in flight)
    SKIPPED = "skipped"  # the job could not start in the tenant's state (e.g. no_baseline)


@dataclass(frozen=True)
class Mark:
    job: str
    tenant_id: str
    last_fired: str  # occurrences up to this time are fired; the next counts only later ones
    occurrence: str  # the occurrence this fire is for (the latest one it caught up on)
    state: str
    claimed_at: str
    claim_id: str  # which claim wrote the row, so only its own tick confirms it
    generation: int = 0  # the job key's idempotency generation when claimed (0: none yet)
    covering_run: str | None = None  # a run of the key in flight when claimed: it serves this
    run_id: str | None = None
    reused: bool | None = None
    code: str | None = None  # why a fire was skipped
    etag: str | None = None

    def stale(self, now: datetime) -> bool:
        """An unconfirmed claim older than the lease: its tick stopped midway."""
        return self.state == MarkState.CLAIMED and now - parse_iso(self.claimed_at) >= CLAIM_LEASE


class MarkStore:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    async def of_job(self, job: str) -> dict[str, Mark]:
        """Every tenant's marker of ``job`` (one partition query), by tenant id."""
        table = await self._storage.table(MARKS)
        return {e["RowKey"]: _mark(e) for e in await tables.query_all(table, job)}

    async def get(self, job: str, tenant_id: str) -> Mark | None:
        table = await self._storage.table(MARKS)
        entity = await tables.get_or_none(table, job, tenant_id)
        return None if entity is None else _mark(entity)

    async def claim(self, previous: Mark | None, *, job: str, tenant_id: str, now: datetime,
                    occurrence: datetime, state: MarkState = MarkState.CLAIMED,
                    generation: int = 0, covering_run: str | None = None,
                    code: str | None = None) -> Mark | None:
        """Fire ``occurrence``: write the marker over ``previous`` (as read; None: there was
        none). None when another tick wrote it first."""
        mark = Mark(job=job, tenant_id=tenant_id, last_fired=iso(now),
                    occurrence=iso(occurrence), state=state, claimed_at=iso(now),
                    claim_id=new_ulid(), generation=generation, covering_run=covering_run,
                    code=code)
        return mark if await self._write(previous, mark) else None

    async def take_over(self, stale: Mark, now: datetime) -> Mark | None:
        """Continue the stale claim ``stale`` as this tick's; None when another tick did."""
        mark = replace(stale, claimed_at=iso(now), claim_id=new_ulid(), etag=None)
        return mark if await self._write(stale, mark) else None

    async def confirm(self, claim: Mark, state: MarkState, *, run_id: str | None = None,
                      reused: bool | None = None, code: str | None = None) -> bool:
        """Settle this tick's ``claim``; False when the row is no longer that claim (a later
        tick took it over) — it is then left as it is."""
        current = await self.get(claim.job, claim.tenant_id)
        if current is None or current.claim_id != claim.claim_id:
            return False
        settled = replace(current, state=state, run_id=run_id, reused=reused, code=code)
        return await self._write(current, settled)

    async def _write(self, previous: Mark | None, mark: Mark) -> bool:
        table = await self._storage.table(MARKS)
        entity = _entity(mark)
        if previous is None:
            return await tables.insert_once(table, entity)
        assert previous.etag is not None, "a marker is replaced only as it was read"
        return await tables.replace_if_unchanged(table, entity, previous.etag)


def _entity(mark: Mark) -> dict[str, Any]:
    body = {k: v for k, v in asdict(mark).items()
            if k not in ("job", "tenant_id", "etag") and v is not None}
    return {"PartitionKey": mark.job, "RowKey": mark.tenant_id, **body}


def _mark(entity: Any) -> Mark:
    return Mark(
        job=entity["PartitionKey"], tenant_id=entity["RowKey"],
        last_fired=entity["last_fired"], occurrence=entity["occurrence"],
        state=entity["state"], claimed_at=entity["claimed_at"], claim_id=entity["claim_id"],
        generation=entity.get("generation", 0), covering_run=entity.get("covering_run"),
        run_id=entity.get("run_id"), reused=entity.get("reused"), code=entity.get("code"),
        etag=tables.etag(entity),
    )


__all__ = ["CLAIM_LEASE", "MARKS", "Mark", "MarkState", "MarkStore"]
