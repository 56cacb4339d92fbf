"""Per-tenant schedules end to end (DESIGN §10): set over the API, fired by the scheduler's
tick into real backups on the runtime — each due job exactly once across repeated,
concurrent and interrupted ticks, a manual backup in flight reused, an idle tick silent.

The session's timer is disabled (tests/e2e/conftest.py); tests run the tick's logic on the
runtime's loop with the real Durable client and a ``now`` of their choosing, days ahead of
the tenants' registration, or fire the timer function itself with the real clock.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import azure.durable_functions as df
import pytest
from azure.data.tables import TableServiceClient, UpdateMode

from api.starts import DurableScheduler
from local.host.durable.extension import DurableExtension
from shared.platform.keys import iso, utc_now
from shared.platform.storage import expand_connection_string, get_storage
from shared.runs.starter import start_job
from shared.schedules.jobs import SCHEDULER
from shared.schedules.marks import CLAIM_LEASE, MARKS
from shared.schedules.tick import Fired, TickOutcome, run_tick

DAILY_AT_3 = "0 0 3 * * *"


class Stop(Exception):
    """The tick's process dies here."""


@pytest.fixture
def due_at() -> datetime:
    """03:02 UTC two days from now: after the first 03:00 since any registration here."""
    return (utc_now() + timedelta(days=2)).replace(hour=3, minute=2, second=0, microsecond=0)


class Scheduled(list):
    """The simulator tenants, scheduled for the test; runs the scheduler started before the
    test are not its own."""

    def __init__(self, admin, tenant_ids: list[str]) -> None:
        super().__init__(tenant_ids)
        self.admin = admin
        self.earlier = {r["run_id"] for t in tenant_ids for r in self._all(t)}

    def _all(self, tenant_id: str) -> list[dict]:
        return [r for r in self.admin.pages(f"/api/tenants/{tenant_id}/runs", run_type="backup")
                if r["requested_by"] == SCHEDULER]

    def runs(self, tenant_id: str) -> list[dict]:
        """The tenant's backup runs the scheduler started during this test."""
        return [r for r in self._all(tenant_id) if r["run_id"] not in self.earlier]


@pytest.fixture
def scheduled(admin, stack, sim) -> Scheduled:
    """Every simulator tenant backs up daily at 03:00 and checks no drift, every other
    registered tenant has no schedule, and there are no markers yet."""
    for tenant in admin.pages("/api/tenants"):
        backup = DAILY_AT_3 if tenant["tenant_id"] in sim.tenant_ids else None
        admin.ok("PUT", f"/api/tenants/{tenant['tenant_id']}",
                 json={"schedules": {"backup": backup, "drift_check": None}})
    with _tables(stack) as service:
        marks = service.get_table_client(stack.storage_prefix + MARKS)
        for row in stack.entities(MARKS):
            marks.delete_entity(row["PartitionKey"], row["RowKey"])
    return Scheduled(admin, sim.tenant_ids)


def _tables(stack) -> TableServiceClient:
    return TableServiceClient.from_connection_string(
        expand_connection_string(stack.storage_connection))


def _tick(stack, now: datetime, *, ticks: int = 1, **options: Any) -> list[TickOutcome]:
    """Run ``ticks`` ticks at ``now`` concurrently on the runtime's loop, as the timer function
    does: its storage, the real Durable client."""
    async def run() -> list[TickOutcome]:
        durable = next(e for e in stack.host.host.extensions if isinstance(e, DurableExtension))
        client = df.DurableOrchestrationClient(durable.input_binding_value({}))
        scheduler = DurableScheduler(client)
        return list(await asyncio.gather(*(run_tick(get_storage(), scheduler, now, **options)
                                           for _ in range(ticks))))
    return stack.host.call(run())


def _total(outcomes: list[TickOutcome], kind: Fired) -> int:
    return sum(outcome.fired[kind] for outcome in outcomes)


def _snapshot(stack) -> set[tuple[str, str, str, str]]:
    """Every row the app has in storage, with its ETag."""
    with _tables(stack) as service:
        return {(t.name, e["PartitionKey"], e["RowKey"], e.metadata["etag"])
                for t in service.list_tables() if t.name.startswith(stack.storage_prefix)
                for e in service.get_table_client(t.name).list_entities()}


def test_tenant_schedules_default_spread_and_put_changes_only_what_it_names(admin, sim):
    tenant_id = sim.tenant_ids[0]
    path = f"/api/tenants/{tenant_id}"
    fresh = "0d0d0d0d-0000-4000-8000-00000000000d"

    registered = admin.ok("PUT", f"/api/tenants/{fresh}", json={"display_name": "New"})
    drift = admin.ok("PUT", path, json={"schedules": {"drift_check": "0 0 */6 * * *"}})
    renamed = admin.ok("PUT", path, json={"display_name": "Renamed"})
    off = admin.ok("PUT", path, json={"schedules": {"backup": None}})

    second, _minute, hour, *rest = registered["schedules"]["backup"].split()
    assert (second, rest, hour in ("1", "2")) == ("0", ["*", "*", "*"], True)
    assert registered["schedules"]["drift_check"] is None
    assert drift["schedules"]["drift_check"] == "0 0 */6 * * *"
    assert renamed["schedules"] == drift["schedules"] and renamed["display_name"] == "Renamed"
    assert off["schedules"] == {"backup": None, "drift_check": "0 0 */6 * * *"}
    assert admin.ok("GET", path)["schedules"] == off["schedules"]


@pytest.mark.parametrize(("schedules", "field"), [
    ({"backup": "0 0 25 * * *"}, "schedules.backup"),
    ({"backup": "0 */5 * * * *"}, "schedules.backup"),
    ({"drift_check": "0 0,10 * * * *"}, "schedules.drift_check"),
])
def test_put_tenant_bad_schedule_is_400_naming_the_field_and_changes_nothing(
        admin, sim, schedules, field):
    path = f"/api/tenants/{sim.tenant_ids[0]}"
    before = admin.ok("GET", path)

    refused = admin.request("PUT", path, json={"display_name": "Other", "schedules": schedules})

    assert refused.status_code == 400
    assert (refused.json()["code"], field in refused.json()["detail"]) == (
        "validation_failed", True)
    assert admin.ok("GET", path) == before


def test_put_new_tenant_without_a_display_name_is_400_and_registers_nothing(admin):
    path = "/api/tenants/0e0e0e0e-0000-4000-8000-00000000000e"

    refused = admin.request("PUT", path, json={"schedules": {"backup": None}})

    assert (refused.status_code, "display_name" in refused.json()["detail"]) == (400, True)
    assert admin.request("GET", path).status_code == 403  # unknown tenant


def test_due_backups_start_once_across_concurrent_and_repeated_ticks(admin, stack, scheduled,
                                                                      due_at):
    concurrent = _tick(stack, due_at, ticks=2)
    repeated = _tick(stack, due_at) + _tick(stack, due_at + timedelta(minutes=5))

    assert _total(concurrent, Fired.STARTED) == len(scheduled)
    assert _total(concurrent, Fired.REUSED) == 0
    assert [outcome.due for outcome in repeated] == [0, 0]
    for tenant_id in scheduled:
        [run] = scheduled.runs(tenant_id)  # one run per tenant and occurrence
        run = admin.wait(run)
        assert run["status"] == "succeeded", run
        backup_set = admin.backup_set(tenant_id, run["backup_set_id"])
        assert backup_set["label"] == f"scheduled {due_at:%Y-%m-%d} 03:00 UTC"
        assert backup_set["item_count"] == run["counts"]["succeeded"] > 0

    [next_day] = _tick(stack, due_at + timedelta(days=1))

    assert next_day.fired[Fired.STARTED] == len(scheduled)
    for tenant_id in scheduled:
        assert [admin.wait(r)["status"] for r in scheduled.runs(tenant_id)] == ["succeeded"] * 2


def test_scheduled_backup_reuses_a_manual_one_in_flight(admin, stack, sim, scheduled, due_at):
    busy = scheduled[0]
    sim.add_fault("slow", tenant=busy, delay_ms=100)  # keeps this backup in flight
    manual = admin.backup(busy)
    assert manual.status_code == 202

    [outcome] = _tick(stack, due_at)

    assert (outcome.fired[Fired.REUSED], outcome.fired[Fired.STARTED]) == (1, len(scheduled) - 1)
    assert scheduled.runs(busy) == []  # the engineer's run serves the schedule
    assert admin.wait(manual)["status"] == "succeeded"
    [mark] = [m for m in stack.entities(MARKS) if m["RowKey"] == busy]
    assert (mark["run_id"], mark["reused"]) == (manual.json()["run_id"], True)
    for tenant_id in scheduled[1:]:
        [run] = scheduled.runs(tenant_id)
        assert admin.wait(run)["status"] == "succeeded"


def test_tick_stopped_before_starting_is_finished_once_after_the_lease(admin, stack, scheduled,
                                                                       due_at):
    async def stops(*args: Any, **kwargs: Any) -> Any:
        raise Stop

    [stopped] = _tick(stack, due_at, start=stops)
    [held] = _tick(stack, due_at + timedelta(minutes=5))  # the claims are still their tick's
    nothing_yet = [scheduled.runs(t) for t in scheduled]
    [resumed] = _tick(stack, due_at + CLAIM_LEASE)
    [after] = _tick(stack, due_at + CLAIM_LEASE + timedelta(minutes=5))

    assert (stopped.fired[Fired.FAILED], held.due, nothing_yet) == (
        len(scheduled), 0, [[] for _ in scheduled])
    assert (resumed.resumed, resumed.fired[Fired.STARTED], after.due) == (
        len(scheduled), len(scheduled), 0)
    for tenant_id in scheduled:
        [run] = scheduled.runs(tenant_id)
        assert admin.wait(run)["status"] == "succeeded"


def test_tick_stopped_after_starting_never_starts_again(admin, stack, scheduled, due_at):
    async def stops_after_starting(*args: Any, **kwargs: Any) -> Any:
        await start_job(*args, **kwargs)
        raise Stop

    [stopped] = _tick(stack, due_at, start=stops_after_starting)
    finished = [admin.wait(scheduled.runs(t)[0]) for t in scheduled]  # ended meanwhile
    [resumed] = _tick(stack, due_at + CLAIM_LEASE)

    assert stopped.fired[Fired.FAILED] == len(scheduled)
    assert (resumed.resumed, resumed.fired[Fired.REUSED], resumed.fired[Fired.STARTED]) == (
        len(scheduled), len(scheduled), 0)
    assert all(run["status"] == "succeeded" for run in finished)
    assert [[r["run_id"] for r in scheduled.runs(t)] for t in scheduled] == [
        [run["run_id"]] for run in finished]


def test_the_timer_function_starts_a_due_backup_once(admin, stack, scheduled):
    """The real timer and clock: a tenant registered two days ago backs up daily at
    midnight, so one occurrence at least has passed since (its row is aged for the test)."""
    tenant_id = scheduled[0]
    for other in scheduled[1:]:  # none of theirs is due today
        admin.ok("PUT", f"/api/tenants/{other}", json={"schedules": {"backup": None}})
    admin.ok("PUT", f"/api/tenants/{tenant_id}", json={"schedules": {"backup": "0 0 0 * * *"}})
    with _tables(stack) as service:
        service.get_table_client(stack.storage_prefix + "tenants").update_entity(
            {"PartitionKey": "tenant", "RowKey": tenant_id,
             "created_at": iso(utc_now() - timedelta(days=2)), "schedules_set_at": "{}"},
            mode=UpdateMode.MERGE)

    stack.fire_timer("schedule_tick")
    stack.fire_timer("schedule_tick")

    [run] = scheduled.runs(tenant_id)
    assert admin.wait(run)["status"] == "succeeded"
    [mark] = [m for m in stack.entities(MARKS) if m["RowKey"] == tenant_id]
    assert (mark["state"], mark["run_id"]) == ("started", run["run_id"])


def test_the_timer_function_with_nothing_due_writes_nothing(admin, stack, scheduled):
    """Every tenant's schedule is set just now: nothing is due before its next occurrence."""
    for tenant in admin.pages("/api/tenants"):
        for backup in (None, DAILY_AT_3):
            admin.ok("PUT", f"/api/tenants/{tenant['tenant_id']}",
                     json={"schedules": {"backup": backup, "drift_check": None}})
    before = _snapshot(stack)

    stack.fire_timer("schedule_tick")

    assert _snapshot(stack) == before


def test_a_scheduled_drift_check_compares_with_the_baseline_and_alerts_the_tenant_admins(
        admin, stack, sim, scheduled, due_at):
    tenant_id = sim.tenant_ids[0]
    path = f"/api/tenants/{tenant_id}"
    owner = "0c0c0c0c-0000-4000-8000-00000000000c"  # the customer's tenant admin
    admin.ok("PUT", f"{path}/access/{owner}", json={"role": "admin"})
    assert admin.pin_baseline(tenant_id, None).status_code in (204, 404)
    baseline = admin.wait(admin.backup(tenant_id))
    assert baseline["status"] == "succeeded"
    admin.ok("PUT", path, json={"schedules": {"backup": None, "drift_check": DAILY_AT_3}})
    [policy] = sim.objects(tenant_id, "deviceManagement/deviceConfigurations")[:1]
    sim.drift(tenant_id, "deviceManagement/deviceConfigurations", policy["id"],
              patch={"description": "changed overnight"})

    outcomes = _tick(stack, due_at, ticks=2)

    assert _total(outcomes, Fired.STARTED) >= 1
    checks = [r for r in admin.pages(f"{path}/runs", run_type="drift_check")
              if r["requested_by"] == SCHEDULER and r["created_at"] >= baseline["finished_at"]]
    assert len(checks) == 1, checks
    check = admin.wait(checks[0])
    assert (check["status"], check["backup_set_id"]) == ("succeeded",
                                                         baseline["backup_set_id"])
    assert check["drift"]["drifted"] == 1
    with stack.api(owner) as customer:
        alerts = [n for n in customer.ok("GET", "/api/notifications")["value"]
                  if n["status"] == "drift_detected"]
    assert [a["link"].rsplit("/", 1)[-1] for a in alerts] == [check["run_id"]]
