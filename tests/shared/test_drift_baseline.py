"""The drift baseline, a check's job and who an alert reaches, on real Azure Tables (Azurite)."""

from __future__ import annotations

import pytest

from shared.backups.sets import BackupSet, BackupSetStore
from shared.drift.alerts import alert_recipients
from shared.drift.baseline import BaselineStore, Pin, resolve_baseline
from shared.drift.start import drift_check_job
from shared.graph.catalog import SUPPORTED_KEYS
from shared.platform.errors import NoBaseline, NotFound, ValidationFailed
from shared.platform.keys import new_ulid
from shared.runs.model import Run, RunType
from shared.runs.store import RunStore
from shared.tenants.store import Grant, TenantStore

pytestmark = pytest.mark.anyio
TENANT = "33333333-3333-3333-3333-333333333333"
OTHER = "44444444-4444-4444-4444-444444444444"


async def _set(storage, *, kind: str = "backup", status: str = "succeeded",
               types: list[str] | None = None, tenant_id: str = TENANT,
               sealed: bool = True) -> str:
    """A backup set and the run that made it; ``sealed=False``: an older row, without the
    run status and all-types fields."""
    run_id = new_ulid()
    key = f"{tenant_id}|backup|{','.join(types) if types else '*'}"
    await RunStore(storage).create(Run(
        run_id=run_id, tenant_id=tenant_id, run_type="backup", status=status,
        requested_by="oid", idempotency_key=key, created_at="2026-01-01T00:00:00Z",
        instance_id=f"pv-{run_id}-1", started_at="2026-01-01T00:00:05Z",
        parameters={"policy_types": types or list(SUPPORTED_KEYS)}))
    await BackupSetStore(storage).put(BackupSet(
        backup_set_id=run_id, tenant_id=tenant_id, label=None, run_id=run_id,
        created_at="2026-01-01T00:00:00Z", item_count=1, kind=kind,
        run_status=status if sealed else None, all_types=(types is None) if sealed else None))
    return run_id


async def test_resolve_baseline_is_the_newest_succeeded_backup_of_every_type(storage):
    eligible = await _set(storage)
    await _set(storage, types=["roleScopeTags"])
    await _set(storage, status="partial")
    await _set(storage, kind="capture")
    await _set(storage, kind="pre_restore")

    baseline = await resolve_baseline(storage, TENANT)

    assert baseline.backup_set_id == eligible and baseline.pin is None
    assert baseline.since == baseline.run.started_at
    assert baseline.policy_types == sorted(SUPPORTED_KEYS)


async def test_resolve_baseline_judges_sets_sealed_before_their_run_fields_by_their_run(
        storage):
    older_full = await _set(storage, sealed=False)
    await _set(storage, types=["roleScopeTags"], sealed=False)
    await _set(storage, status="partial", sealed=False)

    assert (await resolve_baseline(storage, TENANT)).backup_set_id == older_full


async def test_resolve_baseline_prefers_the_pin_and_refuses_a_pin_that_is_gone(storage):
    pinned = await _set(storage, types=["roleScopeTags"], status="partial")
    await _set(storage)
    await BaselineStore(storage).pin(TENANT, Pin(pinned, "admin", "2026-01-02T00:00:00Z"))

    baseline = await resolve_baseline(storage, TENANT)

    assert (baseline.backup_set_id, baseline.pin.pinned_by) == (pinned, "admin")
    assert baseline.policy_types == ["roleScopeTags"]
    await BaselineStore(storage).pin(TENANT, Pin(new_ulid(), "admin", "2026-01-03T00:00:00Z"))
    with pytest.raises(NoBaseline):
        await resolve_baseline(storage, TENANT)


async def test_resolve_baseline_without_any_eligible_set_raises_no_baseline(storage):
    await _set(storage, types=["roleScopeTags"])
    await _set(storage, kind="capture")

    with pytest.raises(NoBaseline) as refused:
        await resolve_baseline(storage, TENANT)
    assert (refused.value.http_status, refused.value.code) == (409, "no_baseline")


async def test_resolve_baseline_named_set_of_another_tenant_404_capture_400(storage):
    foreign = await _set(storage, tenant_id=OTHER)
    capture = await _set(storage, kind="capture")

    with pytest.raises(NotFound):
        await resolve_baseline(storage, TENANT, foreign)
    with pytest.raises(ValidationFailed):
        await resolve_baseline(storage, TENANT, capture)


async def test_drift_check_job_keys_on_the_baseline_and_checks_its_types(storage):
    partial = await _set(storage, types=["roleScopeTags", "assignmentFilters"])
    await BaselineStore(storage).pin(TENANT, Pin(partial, "admin", "2026-01-02T00:00:00Z"))

    every = await drift_check_job(storage, TENANT)
    one = await drift_check_job(storage, TENANT, policy_types=["roleScopeTags"])

    assert every.run_type is RunType.DRIFT_CHECK and every.backup_set_id == partial
    assert every.key == f"{TENANT}|drift|{partial}|*"
    assert every.parameters["policy_types"] == ["assignmentFilters", "roleScopeTags"]
    assert one.key == f"{TENANT}|drift|{partial}|roleScopeTags"
    assert one.parameters["policy_types"] == ["roleScopeTags"]
    with pytest.raises(ValidationFailed):
        await drift_check_job(storage, TENANT, policy_types=["deviceConfigurations"])


async def test_alert_recipients_are_the_requester_or_for_the_scheduler_the_admins(storage):
    tenants = TenantStore(storage)
    for principal, role in (("a1", "admin"), ("o1", "operator"), ("a2", "admin")):
        await tenants.grant(Grant(TENANT, principal, role, "root", "2026-01-01T00:00:00Z"))
    run = Run(run_id=new_ulid(), tenant_id=TENANT, run_type="drift_check", status="running",
              requested_by="engineer", idempotency_key="k", created_at="2026-01-01T00:00:00Z",
              instance_id="pv-x-1")

    assert await alert_recipients(storage, run) == ["engineer"]
    run.requested_by = "system:schedules"
    assert await alert_recipients(storage, run) == ["a1", "a2"]
