"""Rows and blobs that expire by age alone (DESIGN §12), and the one list that says which.

**The hook**: :data:`AGED_ROWS` and :data:`AGED_BLOBS` name every table and blob container
whose tenant data the daily purge deletes by age — ``days=None`` means the tenant's own
``retention_days``. A feature whose data must expire adds one line here (reports, DESIGN
§14, are blobs named ``{tenant}/…``). Rows qualify when their
PartitionKey is the tenant id and their RowKey starts with ``inverted_time`` (as audit
events do), or, for rows keyed otherwise, by their last write; blobs age by their creation
time.

Kept apart because their keys differ: the rows a run owns (:data:`RUN_PARTITIONS`: its items,
a restore's steps and id map, a deployment's plan; PartitionKey = run id) go with the runs
created before the tenant's retention (:func:`purge_run_rows`, from a per-tenant watermark
so old runs are not read again every day), and notifications (PartitionKey = principal) in
one scan for all tenants (:func:`purge_notifications`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from ulid import ULID

from shared.deploy.store import DEPLOY_PLANS
from shared.platform import tables
from shared.platform.keys import inverted_time, inverted_ulid, iso, parse_iso, utc_now
from shared.platform.storage import Storage, delete_if_unchanged, list_blob_states
from shared.reports.store import REPORTS
from shared.restore.state import RESTORE_ID_MAP, RESTORE_STEPS
from shared.retention.settings import AUDIT_RETENTION_DAYS
from shared.runs.notifications import NOTIFICATIONS
from shared.runs.store import RUN_ITEMS, RUNS
from shared.tenants.audit import AUDIT
from shared.webhooks.store import WEBHOOK_DELIVERIES

RETENTION_STATE = "retention"  # PartitionKey = tenant, RowKey "state": the run-row watermark
_CLOCK_MARGIN = timedelta(hours=1)
# How far the run rows are purged. Renamed from ``run_items_purged_to`` when a run's steps,
# id map and plan joined its items: a tenant purged before starts again from its oldest run.
_WATERMARK = "run_rows_purged_to"


@dataclass(frozen=True)
class AgedRows:
    table: str
    days: int | None = None  # None: the tenant's retention_days
    # True: the RowKey starts with ``inverted_time`` (audit); False: age by the row's last
    # write (the service's ``Timestamp``), for rows keyed otherwise (webhook deliveries).
    keyed_by_time: bool = True


@dataclass(frozen=True)
class AgedBlobs:
    container: str
    days: int | None = None


AGED_ROWS: tuple[AgedRows, ...] = (
    AgedRows(AUDIT, AUDIT_RETENTION_DAYS),
    AgedRows(WEBHOOK_DELIVERIES, keyed_by_time=False),
)
AGED_BLOBS: tuple[AgedBlobs, ...] = (AgedBlobs(REPORTS),)  # {tenant}/{run}.{html|md}
# Tables partitioned by run id: what a finished run leaves besides its run row.
RUN_PARTITIONS: tuple[str, ...] = (RUN_ITEMS, RESTORE_STEPS, RESTORE_ID_MAP, DEPLOY_PLANS)


def _cutoff(now: datetime, days: int | None, retention_days: int) -> datetime:
    return now - timedelta(days=retention_days if days is None else days)


async def purge_aged(storage: Storage, tenant_id: str, retention_days: int,
                     now: datetime) -> dict[str, int]:
    """Everything :data:`AGED_ROWS` and :data:`AGED_BLOBS` list, for one tenant."""
    counts: dict[str, int] = {}
    for aged in AGED_ROWS:
        table = await storage.table(aged.table)
        cutoff = _cutoff(now, aged.days, retention_days)
        if aged.keyed_by_time:
            rows = await tables.query_all(table, tenant_id, "RowKey gt @k",
                                          {"k": inverted_time(cutoff)})
        else:
            rows = await tables.query_all(table, tenant_id, "Timestamp lt @t", {"t": cutoff})
        await tables.delete_many(table, [(r["PartitionKey"], r["RowKey"]) for r in rows])
        counts[f"{aged.table}_deleted"] = len(rows)
    for blobs in AGED_BLOBS:
        container = await storage.container(blobs.container)
        cutoff = _cutoff(now, blobs.days, retention_days)
        deleted = 0
        for state in await list_blob_states(container, f"{tenant_id}/"):
            if state.created_on is not None and state.created_on < cutoff:
                deleted += await delete_if_unchanged(container, state)
        counts[f"{blobs.container}_deleted"] = deleted
    return counts


def _ulid_floor(moment: datetime) -> str:
    """The smallest ULID of ``moment``'s millisecond."""
    return str(ULID.from_datetime(moment))[:10] + "0" * 16


async def purge_run_rows(storage: Storage, tenant_id: str, retention_days: int,
                         now: datetime) -> dict[str, int]:
    """Delete the :data:`RUN_PARTITIONS` rows of the tenant's finished runs created before its
    retention; ``{table}_deleted`` counts. Runs from the watermark on are read; it then moves
    to the cutoff, or to the oldest run still in flight (whose rows go once it has finished)."""
    counts = {f"{name}_deleted": 0 for name in RUN_PARTITIONS}
    cutoff = now - timedelta(days=retention_days)
    state_table = await storage.table(RETENTION_STATE)
    state = await tables.get_or_none(state_table, tenant_id, "state")
    since = parse_iso(state[_WATERMARK]) if state and state.get(_WATERMARK) else None
    if since is not None and since >= cutoff:
        return counts
    where, params = "RowKey gt @older", {"older": inverted_ulid(_ulid_floor(cutoff))}
    if since is not None:
        where += " and RowKey le @newer"
        params["newer"] = inverted_ulid(_ulid_floor(since))
    runs_table = await storage.table(RUNS)
    owned = [(name, await storage.table(name)) for name in RUN_PARTITIONS]
    # Never past the real clock (less a margin for skew between workers): a run created
    # after this purge must still be ahead of the watermark, even when ``now`` is not today.
    watermark = min(cutoff, utc_now() - _CLOCK_MARGIN)
    for row in await tables.query_all(runs_table, tenant_id, where, params):
        if row["status"] in ("queued", "running"):
            watermark = min(watermark, parse_iso(row["created_at"]))
            continue
        for name, table in owned:
            keys = [(r["PartitionKey"], r["RowKey"])
                    for r in await tables.query_all(table, row["run_id"])]
            await tables.delete_many(table, keys)
            counts[f"{name}_deleted"] += len(keys)
    await tables.upsert(state_table, {"PartitionKey": tenant_id, "RowKey": "state",
                                      _WATERMARK: iso(watermark)}, merge=True)
    return counts


async def purge_notifications(storage: Storage, retention_days: dict[str, int],
                              now: datetime) -> int:
    """Delete every principal's notifications about the tenants in ``retention_days`` that
    are older than that tenant's retention: one scan per distinct retention, longest first,
    each deleting what is older than it for the tenants that keep no longer."""
    table = await storage.table(NOTIFICATIONS)
    deleted = 0
    for days in sorted(set(retention_days.values()), reverse=True):
        older = inverted_time(now - timedelta(days=days))
        rows = await tables.query_table(table, "RowKey gt @k", {"k": older},
                                        select=["PartitionKey", "RowKey", "tenant_id"])
        doomed: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for row in rows:
            kept_for = retention_days.get(str(row.get("tenant_id") or ""))
            if kept_for is not None and kept_for <= days:
                doomed[row["PartitionKey"]].append((row["PartitionKey"], row["RowKey"]))
        for keys in doomed.values():
            await tables.delete_many(table, keys)
            deleted += len(keys)
    return deleted
