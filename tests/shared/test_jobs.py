"""The job definitions, and the idempotency protocol on real Azure Tables (Azurite)."""

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from function_app import app
from local.host.app_loader import discover_functions
from shared.graph.catalog import SUPPORTED_KEYS
from shared.offboarding.job import offboard_job
from shared.platform.codes import ErrorCode
from shared.platform.errors import IdempotencyMismatch, TenantOffboarding
from shared.platform.keys import iso, utc_now
from shared.runs.jobs import (
    PROGRESS_EVERY,
    READ_BY_COLLECTION,
    TYPES_AT_ONCE,
    TYPES_PER_ACTIVITY,
    Job,
    JobRequest,
    backup_job,
    capture_job,
    drift_job,
    report_job,
    restore_job,
)
from shared.runs.model import RunStatus, RunType
from shared.runs.starter import (
    CAPTURE_IN_ONE_ACTIVITY,
    CURRENT_FLOW,
    REPAIR_GRACE,
    start_job,
)
from shared.runs.store import RunStore
from shared.tenants.store import TENANTS, Tenant, TenantStore

pytestmark = pytest.mark.anyio
TENANT = "11111111-1111-1111-1111-111111111111"


async def registered(storage) -> None:
    """Register :data:`TENANT`: a job starts only in a registered tenant."""
    now = iso(utc_now())
    await TenantStore(storage).put(Tenant(TENANT, "Customer", now, now))


class RecordingScheduler:
    """Stands in for the Durable client in these protocol tests; the end-to-end tests use the
    real client against the local runtime."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.statuses: dict[str, str] = {}
        self.inputs: dict[str, dict[str, Any]] = {}

    async def schedule(self, orchestrator: str, instance_id: str, payload: dict[str, Any]) -> None:
        if instance_id not in self.started:
            self.started.append(instance_id)
            self.inputs[instance_id] = payload

    async def status(self, instance_id: str) -> str | None:
        if instance_id not in self.started:
            return None
        return self.statuses.get(instance_id, "Running")


async def test_start_job_schedules_references_only_with_the_current_flow(storage):
    await registered(storage)
    scheduler = RecordingScheduler()

    run, _ = await start_job(_request(), storage=storage, scheduler=scheduler)

    # a capture scheduled now is one activity (orchestrators.capture_snapshot)
    assert CURRENT_FLOW == CAPTURE_IN_ONE_ACTIVITY
    assert scheduler.inputs == {run.instance_id: {
        "run_id": run.run_id, "tenant_id": TENANT, "flow": CURRENT_FLOW}}


async def test_start_job_in_a_tenant_gone_before_the_recheck_fails_the_run_unscheduled(
        storage, monkeypatch):
    await registered(storage)
    scheduler = RecordingScheduler()
    record = RunStore.create

    async def then_offboarding_ends(store: RunStore, run) -> None:
        await record(store, run)  # the run is recorded, then the tenant's row is deleted
        table = await storage.table(TENANTS)
        await table.delete_entity("tenant", TENANT)

    monkeypatch.setattr(RunStore, "create", then_offboarding_ends)
    with pytest.raises(TenantOffboarding):
        await start_job(_request(), storage=storage, scheduler=scheduler)

    [run] = (await RunStore(storage).list(TENANT, top=10)).value
    assert run.status == RunStatus.FAILED.value
    assert scheduler.started == []


def _request(key: str = f"{TENANT}|capture|deviceConfigurations|p1", *,
             fingerprint: str = "f1", client_key: bool = False, **job_fields) -> JobRequest:
    values = dict(tenant_id=TENANT, run_type=RunType.CAPTURE_SNAPSHOT,
                  orchestrator="capture_snapshot", key=key, route="/api/x", body={})
    values.update(job_fields)
    return JobRequest(job=Job(**values), requested_by="oid-1", key=key,
                      client_key=client_key, fingerprint=fingerprint)


async def test_start_job_concurrent_identical_starts_make_one_run(storage):
    await registered(storage)
    scheduler = RecordingScheduler()
    results = await asyncio.gather(
        *[start_job(_request(), storage=storage, scheduler=scheduler) for _ in range(50)]
    )
    run_ids = {run.run_id for run, _ in results}
    assert len(run_ids) == 1
    assert sum(1 for _, reused in results if not reused) == 1
    assert len(scheduler.started) == 1
    page = await RunStore(storage).list(TENANT, top=100)
    assert [r.run_id for r in page.value] == list(run_ids)


async def test_start_job_after_terminal_run_starts_new_generation(storage):
    await registered(storage)
    scheduler = RecordingScheduler()
    first, _ = await start_job(_request(), storage=storage, scheduler=scheduler)
    await RunStore(storage).update(TENANT, first.run_id, status=RunStatus.SUCCEEDED.value)
    second, reused = await start_job(_request(), storage=storage, scheduler=scheduler)
    assert not reused
    assert second.run_id != first.run_id
    assert first.instance_id.endswith("-1") and second.instance_id.endswith("-2")
    assert first.instance_id[:-2] == second.instance_id[:-2]


async def test_start_job_client_key_returns_same_run_even_when_terminal(storage):
    await registered(storage)
    scheduler = RecordingScheduler()
    request = _request(key=f"{TENANT}|client|abc", client_key=True)
    first, _ = await start_job(request, storage=storage, scheduler=scheduler)
    await RunStore(storage).update(TENANT, first.run_id, status=RunStatus.FAILED.value)
    again, reused = await start_job(request, storage=storage, scheduler=scheduler)
    assert reused and again.run_id == first.run_id and again.status == "failed"


async def test_start_job_client_key_with_other_fingerprint_is_refused_and_writes_nothing(storage):
    await registered(storage)
    scheduler = RecordingScheduler()
    await start_job(
        _request(key=f"{TENANT}|client|abc", client_key=True), storage=storage, scheduler=scheduler
    )
    with pytest.raises(IdempotencyMismatch):
        await start_job(
            _request(key=f"{TENANT}|client|abc", client_key=True, fingerprint="other"),
            storage=storage,
            scheduler=scheduler,
        )
    assert len((await RunStore(storage).list(TENANT, top=10)).value) == 1


async def test_start_job_client_key_after_24_hours_starts_a_new_run(storage):
    await registered(storage)
    scheduler = RecordingScheduler()
    request = _request(key=f"{TENANT}|client|abc", client_key=True)
    first, _ = await start_job(request, storage=storage, scheduler=scheduler)
    later = utc_now() + timedelta(hours=25)
    second, reused = await start_job(
        _request(key=f"{TENANT}|client|abc", client_key=True, fingerprint="other"),
        storage=storage,
        scheduler=scheduler,
        now=later,
    )
    assert not reused and second.run_id != first.run_id


async def test_start_job_queued_run_never_scheduled_is_scheduled_again(storage):
    await registered(storage)
    lost = RecordingScheduler()
    run, _ = await start_job(_request(), storage=storage, scheduler=lost)
    fresh = RecordingScheduler()  # the first schedule "crashed": this engine never saw it
    again, reused = await start_job(
        _request(), storage=storage, scheduler=fresh, now=utc_now() + REPAIR_GRACE * 2
    )
    assert reused and again.run_id == run.run_id
    assert fresh.started == [run.instance_id]


async def test_start_job_young_queued_run_is_left_to_its_creator(storage):
    await registered(storage)
    first = RecordingScheduler()
    await start_job(_request(), storage=storage, scheduler=first)
    other = RecordingScheduler()
    await start_job(_request(), storage=storage, scheduler=other)
    assert other.started == []


async def test_start_job_run_whose_orchestration_died_is_failed_and_a_new_run_starts(storage):
    await registered(storage)
    scheduler = RecordingScheduler()
    dead, _ = await start_job(_request(), storage=storage, scheduler=scheduler)
    scheduler.statuses[dead.instance_id] = "Failed"  # its bookkeeping kept failing

    fresh, reused = await start_job(_request(), storage=storage, scheduler=scheduler,
                                    now=utc_now() + REPAIR_GRACE * 2)

    assert not reused and fresh.run_id != dead.run_id
    assert fresh.instance_id != dead.instance_id
    settled = await RunStore(storage).get(TENANT, dead.run_id)
    assert (settled.status, settled.error["code"]) == ("failed", ErrorCode.INTERNAL_ERROR)


async def test_start_job_running_orchestration_is_reused_however_old(storage):
    await registered(storage)
    scheduler = RecordingScheduler()
    running, _ = await start_job(_request(), storage=storage, scheduler=scheduler)

    again, reused = await start_job(_request(), storage=storage, scheduler=scheduler,
                                    now=utc_now() + REPAIR_GRACE * 100)

    assert reused and again.run_id == running.run_id


# ---- the job definitions (shared.runs.jobs) ------------------------------------------------
def test_backup_job_without_types_is_keyed_star_and_backs_up_every_type():
    job = backup_job(TENANT, label="nightly")

    assert job.key == f"{TENANT}|backup|*"
    assert job.body == {"policy_types": None, "label": "nightly"}
    assert job.parameters == {"policy_types": list(SUPPORTED_KEYS), "label": "nightly",
                              "read": READ_BY_COLLECTION, "types_at_once": TYPES_AT_ONCE,
                              "types_per_activity": TYPES_PER_ACTIVITY,
                              "progress_every": PROGRESS_EVERY}
    assert (job.orchestrator, job.produces_backup_set) == ("backup_tenant", True)


def test_backup_job_types_are_sorted_and_deduplicated_in_key_and_body():
    job = backup_job(TENANT, ["roleScopeTags", "assignmentFilters", "roleScopeTags"])

    assert job.key == f"{TENANT}|backup|assignmentFilters,roleScopeTags"
    assert job.body["policy_types"] == job.parameters["policy_types"] == [
        "assignmentFilters", "roleScopeTags"]


def test_restore_job_key_follows_design_and_ignores_item_order():
    shuffled = restore_job(TENANT, "SET", item_ids=["b", "a", "b"], dry_run=False)
    ordered = restore_job(TENANT, "SET", item_ids=["a", "b"], dry_run=False)
    whole = restore_job(TENANT, "SET", include_assignments=False, ca_state="as_snapshot")

    assert shuffled.key == ordered.key
    assert shuffled.key.startswith(f"{TENANT}|restore|SET|false|")
    assert shuffled.key.endswith("|true|report_only")
    assert whole.key == f"{TENANT}|restore|SET|true|*|false|as_snapshot"
    assert (whole.backup_set_id, whole.dry_run, whole.produces_backup_set) == ("SET", True,
                                                                                False)


def test_restore_job_create_missing_groups_joins_key_and_parameters_only_when_set():
    plain = restore_job(TENANT, "SET", dry_run=False)
    groups = restore_job(TENANT, "SET", dry_run=False, create_missing_groups=True)

    assert plain.key == f"{TENANT}|restore|SET|false|*|true|report_only"
    assert groups.key == f"{plain.key}|groups"
    assert plain.parameters["create_missing_groups"] is False
    assert groups.parameters["create_missing_groups"] is True
    assert groups.body == {**plain.body, "create_missing_groups": True}


def test_restore_job_from_another_tenant_keys_on_the_source_and_a_hash_of_the_mappings():
    source = "11111111-1111-4111-8111-111111111111"
    plain = restore_job(TENANT, "SET")
    deploy = restore_job(TENANT, "SET", source_tenant_id=source)
    mapped = restore_job(TENANT, "SET", source_tenant_id=source, mappings={"b": None, "a": "x"})
    reordered = restore_job(TENANT, "SET", source_tenant_id=source,
                            mappings={"a": "x", "b": None})
    secrets = restore_job(TENANT, "SET", source_tenant_id=source, copy_secrets=True)

    assert deploy.key == f"{plain.key}|from:{source}|*"
    assert mapped.key.startswith(f"{plain.key}|from:{source}|") and mapped.key != deploy.key
    assert reordered.key == mapped.key
    assert secrets.key == f"{deploy.key}|secrets"
    assert deploy.parameters["source_tenant_id"] == source
    assert mapped.parameters["mappings"] == {"a": "x", "b": None}
    assert mapped.body == {**plain.body, "source_tenant_id": source,
                           "mappings": {"a": "x", "b": None}}
    assert "source_tenant_id" not in plain.body and "source_tenant_id" not in plain.parameters


def test_job_request_with_client_key_takes_the_client_namespace_and_keeps_the_fingerprint():
    job = capture_job(TENANT, "deviceConfigurations", "p1")

    derived = job.request("oid-1")
    keyed = job.request("oid-1", client_key="abc", path=job.route)

    assert (derived.key, derived.client_key) == (job.key, False)
    assert (keyed.key, keyed.client_key) == (f"{TENANT}|client|abc", True)
    assert keyed.fingerprint == derived.fingerprint
    assert job.request("oid-1", path=job.route + "/other").fingerprint != derived.fingerprint


def test_report_job_key_names_both_sets_and_the_format():
    documented = report_job(TENANT, "NEW", None, "html")
    changes = report_job(TENANT, "NEW", "OLD", "markdown")

    assert documented.key == f"{TENANT}|report|NEW|-|html"
    assert changes.key == f"{TENANT}|report|NEW|OLD|markdown"
    assert changes.backup_set_id == "NEW" and not changes.produces_backup_set
    assert changes.body == {"backup_set_id": "NEW", "compare_to": "OLD", "format": "markdown"}


def test_every_job_starts_an_orchestration_the_app_registers():
    orchestrations = {spec.name for spec in discover_functions(app)
                      if spec.trigger_type == "orchestrationTrigger"}
    jobs = [capture_job(TENANT, "roleScopeTags", "1"), backup_job(TENANT),
            restore_job(TENANT, "SET"), drift_job(TENANT, "SET", ["roleScopeTags"]),
            offboard_job(TENANT),
            report_job(TENANT, "SET", None, "html")]

    assert {job.run_type for job in jobs} == set(RunType)
    assert {job.orchestrator for job in jobs} <= orchestrations
