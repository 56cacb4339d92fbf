"""What expires by age alone (DESIGN §12), against Azurite: audit events after 400 days,
every principal's notifications after their tenant's retention, and run items of finished
runs created before it, with every other row keyed by the run — a run still in flight keeps
them until a later purge."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from ulid import ULID

from shared.platform import tables
from shared.platform.keys import iso
from shared.platform.storage import Storage
from shared.retention.aged import (
    RETENTION_STATE,
    RUN_PARTITIONS,
    purge_aged,
    purge_notifications,
    purge_run_rows,
)
from shared.runs.model import Run, RunItem
from shared.runs.notifications import Notification, NotificationStore
from shared.runs.store import RunStore
from shared.tenants.audit import AuditEvent, AuditLog
from shared.webhooks.store import WEBHOOK_DELIVERIES

pytestmark = pytest.mark.anyio
SHORT = "5a7e0c11-0000-4000-8000-0000000000d1"  # keeps 7 days
LONG = "5a7e0c11-0000-4000-8000-0000000000d2"  # keeps 90 days
NOW = datetime(2030, 6, 1, tzinfo=UTC)


async def test_audit_events_are_kept_400_days_whatever_the_retention(storage: Storage) -> None:
    log = AuditLog(storage)
    for days in (401, 399, 30):
        at = NOW - timedelta(days=days)
        await log.record(AuditEvent(f"e{days}", SHORT, "me", "tenant.updated", SHORT,
                                    "succeeded", iso(at)), at)

    counts = await purge_aged(storage, SHORT, 7, NOW)

    page = await log.list(SHORT, top=10, continuation=None)
    assert [e["event_id"] for e in page.value] == ["e30", "e399"]
    assert counts["audit_deleted"] == 1


def _note(tenant_id: str, n: int, at: datetime) -> Notification:
    return Notification(f"n{n}", tenant_id, "backup", f"r{n}", "succeeded", {}, None, None, [],
                        "/api", iso(at))


async def test_notifications_of_every_principal_go_after_their_tenant_s_retention(
        storage: Storage) -> None:
    store = NotificationStore(storage)
    ages = {1: (SHORT, 8), 2: (SHORT, 6), 3: (LONG, 8), 4: (LONG, 91), 5: (SHORT, 100)}
    for n, (tenant_id, days) in ages.items():
        at = NOW - timedelta(days=days)
        await store.publish_to(["alice", "bob"], _note(tenant_id, n, at), at)

    deleted = await purge_notifications(storage, {SHORT: 7, LONG: 90}, NOW)
    again = await purge_notifications(storage, {SHORT: 7, LONG: 90}, NOW)

    for principal in ("alice", "bob"):
        page = await store.list(principal, unread_only=False, top=10, continuation=None)
        assert sorted(n["notification_id"] for n in page.value) == ["n2", "n3"]
    assert (deleted, again) == (6, 0)


def _run(tenant_id: str, at: datetime, status: str) -> Run:
    run_id = str(ULID.from_datetime(at))
    return Run(run_id, tenant_id, "backup", status, "me", "k", iso(at), "i", backup_set_id=run_id)


async def test_rows_of_finished_runs_go_after_the_retention_and_in_flight_ones_later(
        storage: Storage) -> None:
    """Items, a restore's steps and id map, a deployment's plan: every row keyed by the run."""
    runs = RunStore(storage)
    old = _run(SHORT, NOW - timedelta(days=9), "succeeded")
    busy = _run(SHORT, NOW - timedelta(days=8), "running")
    young = _run(SHORT, NOW - timedelta(days=2), "succeeded")
    owned = [await storage.table(name) for name in RUN_PARTITIONS[1:]]
    for run in (old, busy, young):
        await runs.create(run)
        await runs.put_items(run.run_id, [RunItem(f"t.{n}", "t", str(n), "", "captured")
                                          for n in range(3)])
        for table in owned:
            await tables.upsert(table, {"PartitionKey": run.run_id, "RowKey": "r1"})

    first = await purge_run_rows(storage, SHORT, 7, NOW)
    await runs.update(SHORT, busy.run_id, status="succeeded")
    second = await purge_run_rows(storage, SHORT, 7, NOW + timedelta(hours=1))

    assert RUN_PARTITIONS[0] == "runitems"
    assert first == second == {"runitems_deleted": 3, "restoresteps_deleted": 1,
                               "restoreidmap_deleted": 1, "deployplans_deleted": 1}
    assert [len(await runs.all_items(r.run_id)) for r in (old, busy, young)] == [0, 0, 3]
    for table in owned:
        assert [len(await tables.query_all(table, r.run_id)) for r in (old, busy, young)] == [
            0, 0, 1]


async def test_a_tenant_purged_before_the_steps_joined_has_them_purged_from_its_oldest_run(
        storage: Storage) -> None:
    """The watermark of the items-only purge (``run_items_purged_to``) is not taken up: runs
    behind it still hold their steps, id maps and plans."""
    runs, steps = RunStore(storage), await storage.table(RUN_PARTITIONS[1])
    old = _run(LONG, NOW - timedelta(days=30), "succeeded")
    await runs.create(old)
    await tables.upsert(steps, {"PartitionKey": old.run_id, "RowKey": "r1"})
    await tables.upsert(await storage.table(RETENTION_STATE), {
        "PartitionKey": LONG, "RowKey": "state",
        "run_items_purged_to": iso(NOW - timedelta(days=8))})

    counts = await purge_run_rows(storage, LONG, 7, NOW)

    assert counts["restoresteps_deleted"] == 1
    assert await tables.query_all(steps, old.run_id) == []


async def test_webhook_delivery_rows_go_after_the_tenant_s_retention(storage: Storage) -> None:
    """Delivery rows are keyed by webhook, not time: they age by their last write."""
    log = await storage.table(WEBHOOK_DELIVERIES)
    await tables.upsert(log, {"PartitionKey": SHORT, "RowKey": "hook|0001|e1|1", "status": 200})
    written = datetime.now(UTC)

    kept = await purge_aged(storage, SHORT, 7, written + timedelta(days=6))
    gone = await purge_aged(storage, SHORT, 7, written + timedelta(days=8))

    assert (kept["webhookdeliveries_deleted"], gone["webhookdeliveries_deleted"]) == (0, 1)
    assert await tables.query_all(log, SHORT) == []
