"""A tenant's schedules (shared.schedules.model): defaults spread per tenant, what a tenant
may set, and what a change moves."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from api.models.requests import TenantPut, parse
from shared.platform.errors import ValidationFailed
from shared.platform.ncrontab import CronError, CronSchedule
from shared.schedules.model import JOBS, Schedules, default_backup, parse_schedule

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
TENANT = "11111111-1111-1111-1111-111111111111"


def test_default_backup_is_daily_between_0100_and_0259_and_spread_over_tenants():
    tenants = [str(uuid.UUID(int=n * 7919 + 1)) for n in range(500)]
    starts = []
    for tenant_id in tenants:
        schedule = CronSchedule.parse(default_backup(tenant_id))
        first = schedule.next_after(datetime(2026, 3, 2, tzinfo=UTC))
        assert schedule.next_after(first) - first == first.replace(day=3) - first  # daily
        starts.append(first)

    assert all(datetime(2026, 3, 2, 1, 0, tzinfo=UTC) <= s
               < datetime(2026, 3, 2, 3, 0, tzinfo=UTC) for s in starts)
    per_minute = {s: starts.count(s) for s in set(starts)}
    assert len(per_minute) > 100  # of 120 minutes
    assert max(per_minute.values()) <= 12  # ~4 a minute; never hundreds at once


def test_default_backup_is_the_same_for_the_same_tenant_whatever_the_case():
    assert default_backup(TENANT) == default_backup(TENANT.upper())
    assert Schedules.defaults(TENANT).view() == {"backup": default_backup(TENANT),
                                                  "drift_check": None}


@pytest.mark.parametrize("expression", [
    "0 0 1 * *", "0 0 25 * * *", "0 60 * * * *", "0 0 1 * * FUNDAY", "0 0 0 30 FEB *",
    "0 */5 * * * *", "0 */14 * * * *", "* 0 1 * * *", "0 0,10 9 * * *", "0 5,55 0,23 * * *",
])
def test_parse_schedule_bad_or_more_often_than_every_15_minutes_is_refused(expression):
    with pytest.raises(CronError):
        parse_schedule(expression)


@pytest.mark.parametrize("expression", [
    "0 */15 * * * *", "0 0 */6 * * *", "0 30 2 * * MON-FRI", "0 0 0 1 * *", "0 0,15 9 * * *",
])
def test_parse_schedule_every_15_minutes_or_less_often_is_accepted(expression):
    assert parse_schedule(expression).expression == expression


@pytest.mark.parametrize(("schedules", "field"), [
    ({"backup": "0 0 25 * * *"}, "schedules.backup"),
    ({"backup": "0 */5 * * * *"}, "schedules.backup"),
    ({"drift_check": "every day"}, "schedules.drift_check"),
    ({"drift_check": "0 */10 * * * *"}, "schedules.drift_check"),
    ({"backup": None, "restore": "0 0 1 * * *"}, "schedules.restore"),
])
def test_tenant_put_refuses_a_schedule_naming_its_field(schedules, field):
    with pytest.raises(ValidationFailed) as refused:
        parse(TenantPut, {"schedules": schedules})
    assert field in refused.value.message


def test_tenant_put_tells_an_absent_schedule_from_null():
    body = parse(TenantPut, {"schedules": {"drift_check": " 0 0  */6 * * * "}})
    assert body.display_name is None
    assert body.schedules is not None
    assert body.schedules.changes() == {"drift_check": "0 0 */6 * * *"}
    assert parse(TenantPut, {"schedules": {"backup": None}}).schedules.changes() == {
        "backup": None}


def test_schedules_changed_moves_only_the_jobs_whose_expression_changes():
    start = Schedules.defaults(TENANT)
    later = T0.replace(hour=13)

    changed = start.changed({"drift_check": "0 0 */6 * * *"}, T0)
    again = changed.changed({"drift_check": "0 0 */6 * * *", "backup": None}, later)

    assert changed.view() == {"backup": default_backup(TENANT), "drift_check": "0 0 */6 * * *"}
    assert changed.set_at == {"drift_check": "2026-03-02T12:00:00Z"}
    assert again.view() == {"backup": None, "drift_check": "0 0 */6 * * *"}
    assert again.set_at == {"drift_check": "2026-03-02T12:00:00Z",
                            "backup": "2026-03-02T13:00:00Z"}


def test_schedules_survive_the_table_row_and_an_old_row_has_the_defaults():
    schedules = Schedules.defaults(TENANT).changed({"backup": None}, T0)

    assert Schedules.from_properties(TENANT, schedules.properties()) == schedules
    assert Schedules.from_properties(TENANT, {"display_name": "x"}) == Schedules.defaults(TENANT)
    assert tuple(schedules.view()) == JOBS
