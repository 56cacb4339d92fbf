"""Which (tenant, job) is due at a moment (shared.schedules.due): occurrences after
max(registration, the schedule's set time, last_fired), a missed tick caught up once, and a
claim left by a stopped tick."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.platform.keys import iso
from shared.schedules.due import Due, candidates, due_jobs
from shared.schedules.marks import CLAIM_LEASE, Mark, MarkState
from shared.schedules.model import Schedules
from shared.tenants.store import Tenant

A = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa"
B = "bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb"
REGISTERED = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
DAILY_AT_3 = "0 0 3 * * *"


def _tenant(tenant_id: str = A, backup: str | None = DAILY_AT_3, drift: str | None = None,
            registered: datetime = REGISTERED, set_at: dict[str, str] | None = None) -> Tenant:
    schedules = Schedules({"backup": backup, "drift_check": drift}, set_at or {})
    return Tenant(tenant_id, "T", iso(registered), iso(registered), schedules)


def _mark(tenant_id: str = A, job: str = "backup", *, last_fired: datetime,
          state: MarkState = MarkState.STARTED, occurrence: datetime | None = None) -> Mark:
    return Mark(job=job, tenant_id=tenant_id, last_fired=iso(last_fired),
                occurrence=iso(occurrence or last_fired), state=state,
                claimed_at=iso(last_fired), claim_id="c", etag="W/1")


def _due(tenants: list[Tenant], now: datetime, *marks: Mark) -> list[Due]:
    table: dict[str, dict[str, Mark]] = {}
    for mark in marks:
        table.setdefault(mark.job, {})[mark.tenant_id] = mark
    return due_jobs(candidates(tenants, now), table, now)


def test_due_newly_registered_tenant_is_not_due_for_an_earlier_occurrence_today():
    # registered at 12:00; today's 03:00 is before it, tomorrow's is not yet
    assert candidates([_tenant()], REGISTERED + timedelta(hours=11)) == []


def test_due_first_occurrence_after_registration_is_due_at_or_after_it():
    tomorrow_3 = datetime(2026, 3, 3, 3, 0, tzinfo=UTC)

    assert _due([_tenant()], tomorrow_3 - timedelta(seconds=1)) == []
    [due] = _due([_tenant()], tomorrow_3)
    assert (due.tenant_id, due.job, due.occurrence, due.mark) == (A, "backup", tomorrow_3, None)


def test_due_missed_ticks_catch_up_once_and_count_from_last_fired():
    week_later = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)  # six 03:00s missed

    [due] = _due([_tenant()], week_later)
    fired = _mark(last_fired=week_later)

    assert due.occurrence == datetime(2026, 3, 9, 3, 0, tzinfo=UTC)  # the latest missed one
    assert _due([_tenant()], week_later + timedelta(minutes=5), fired) == []
    assert _due([_tenant()], datetime(2026, 3, 10, 2, 59, tzinfo=UTC), fired) == []
    [next_day] = _due([_tenant()], datetime(2026, 3, 10, 3, 0, tzinfo=UTC), fired)
    assert next_day.occurrence == datetime(2026, 3, 10, 3, 0, tzinfo=UTC)
    assert next_day.mark == fired


def test_due_schedule_set_after_registration_counts_from_when_it_was_set():
    set_at = datetime(2026, 3, 5, 12, 0, tzinfo=UTC)
    tenant = _tenant(drift="0 0 */6 * * *", backup=None, set_at={"drift_check": iso(set_at)})

    assert _due([tenant], set_at + timedelta(hours=5, minutes=59)) == []  # not 06:00 of the 5th
    [due] = _due([tenant], set_at + timedelta(hours=6, minutes=2))
    assert (due.job, due.occurrence) == ("drift_check", set_at + timedelta(hours=6))


def test_due_job_switched_off_is_never_due():
    assert _due([_tenant(backup=None)], datetime(2027, 1, 1, tzinfo=UTC)) == []


def test_due_fresh_claim_is_its_ticks_and_a_stale_one_is_due_for_its_own_occurrence():
    claimed_at = datetime(2026, 3, 3, 3, 1, tzinfo=UTC)
    claim = _mark(last_fired=claimed_at, state=MarkState.CLAIMED,
                  occurrence=datetime(2026, 3, 3, 3, 0, tzinfo=UTC))

    assert _due([_tenant()], claimed_at + CLAIM_LEASE - timedelta(seconds=1), claim) == []
    [due] = _due([_tenant()], claimed_at + CLAIM_LEASE, claim)
    assert due.resumes and due.mark == claim
    assert due.occurrence == datetime(2026, 3, 3, 3, 0, tzinfo=UTC)


def test_due_skipped_fire_moves_the_bound_like_a_started_one():
    fired_at = datetime(2026, 3, 3, 3, 2, tzinfo=UTC)
    skipped = _mark(job="drift_check", last_fired=fired_at, state=MarkState.SKIPPED)
    tenant = _tenant(backup=None, drift=DAILY_AT_3)

    assert _due([tenant], fired_at + timedelta(hours=1), skipped) == []


def test_due_lists_the_longest_waiting_first_and_each_job_on_its_own():
    tenants = [_tenant(B, drift="0 0 3 * * *"),
               _tenant(A, backup="0 30 3 * * *", registered=REGISTERED - timedelta(days=1))]

    due = _due(tenants, datetime(2026, 3, 3, 4, 0, tzinfo=UTC))

    assert [(d.tenant_id, d.job, d.waiting_since.day, d.occurrence.day, d.occurrence.minute)
            for d in due] == [(A, "backup", 2, 3, 30),  # waiting since the 2nd, fired for the 3rd
                              (B, "backup", 3, 3, 0), (B, "drift_check", 3, 3, 0)]
