"""A live restore or deployment that outlives its terminated orchestration (DESIGN §12),
against the simulator and Azurite: once its tenant (or a deployment's source) is being
offboarded, it writes nothing more — not to Graph, not a row the offboarding's last sweep
would miss."""

from __future__ import annotations

from dataclasses import asdict

import pytest

from activities import deploy, restore
from activities.contracts.deploy import PlanDeployment
from activities.contracts.restore import ApplyItems, SealPreRestoreSet
from local.graphsim.pytest_plugin import graphsim, graphsim_session  # noqa: F401
from shared.backups.sets import BackupSetStore
from shared.deploy.store import PlanStore
from shared.platform.errors import TenantOffboarding
from shared.platform.keys import new_ulid
from shared.restore.state import RestoreState
from shared.runs.store import RunStore
from shared.tenants import gate
from shared.tenants.gate import OpenTenants
from shared.tenants.store import TenantStore
from tests.activities.test_run_scope import (  # noqa: F401
    AT,
    TYPE,
    _begun_restore,
    _item,
    _run,
    _set,
    wired,
)

pytestmark = pytest.mark.anyio


@pytest.fixture(autouse=True)
def sees_the_mark(monkeypatch: pytest.MonkeyPatch) -> None:
    """The gate reads the tenant row each time, so the mark is seen at the next write."""
    monkeypatch.setattr(gate, "PROCESS_OPEN_TENANTS", OpenTenants(open_s=0))


async def _apply_one(tenant_id: str, run, set_id: str, item_id: str,
                     source_tenant_id: str | None = None) -> None:
    await restore.apply_items(asdict(ApplyItems(
        run_id=run.run_id, tenant_id=tenant_id, backup_set_id=set_id,
        include_assignments=False, ca_state="report_only", policy_type=TYPE,
        item_ids=[item_id], source_tenant_id=source_tenant_id)))


async def test_a_restore_batch_running_into_its_tenants_offboarding_writes_nothing_more(
        graphsim, wired):  # noqa: F811
    tenant_id = graphsim.tenant_ids[0]
    set_id = await _set(wired, tenant_id)
    item_id = await _item(wired, set_id, tenant_id, "44444444-4444-4444-4444-444444444444")
    run = await _run(wired, tenant_id, "restore", set_id)
    await TenantStore(wired).mark_offboarding(tenant_id, new_ulid())
    cursor = graphsim.request_cursor()

    with pytest.raises(TenantOffboarding):
        await _apply_one(tenant_id, run, set_id, item_id)

    assert graphsim.writes(cursor) == []
    assert await RunStore(wired).all_items(run.run_id) == []
    assert await RestoreState(wired).step(run.run_id, item_id) is None


async def test_a_restore_item_whose_tenant_is_marked_while_it_creates_records_nothing_after(
        graphsim, wired, monkeypatch):  # noqa: F811
    """The offboarding is marked while the item's POST is in flight (a throttled write can
    take minutes, far longer than the drain): the object Graph made stays the customer's, but
    no row of it lands after the mark for the last sweep to miss."""
    tenant_id = graphsim.tenant_ids[0]
    set_id = await _set(wired, tenant_id)
    item_id = await _item(wired, set_id, tenant_id, "55555555-5555-5555-5555-555555555555")
    run = await _run(wired, tenant_id, "restore", set_id)
    creating = restore.create_item

    async def marked_meanwhile(*args, **kwargs):
        await TenantStore(wired).mark_offboarding(tenant_id, new_ulid())
        return await creating(*args, **kwargs)

    monkeypatch.setattr(restore, "create_item", marked_meanwhile)
    cursor = graphsim.request_cursor()

    with pytest.raises(TenantOffboarding):
        await _apply_one(tenant_id, run, set_id, item_id)

    assert [w["method"] for w in graphsim.writes(cursor)] == ["POST"]  # it was in flight
    assert await RunStore(wired).all_items(run.run_id) == []
    step = await RestoreState(wired).step(run.run_id, item_id)
    assert step is not None and step.state == "creating"  # written before the mark: swept
    assert await RestoreState(wired).id_map(run.run_id) == {}


async def test_a_deployment_batch_writes_nothing_once_its_source_is_being_offboarded(
        graphsim, wired):  # noqa: F811
    """DESIGN §12 stops runs where the tenant is target or source: a batch that outlives its
    deployment's orchestration stops too when only the source is being offboarded."""
    target, source = graphsim.tenant_ids[:2]
    source_set = await _set(wired, source)
    item_id = await _item(wired, source_set, source, "66666666-6666-6666-6666-666666666666")
    run = await _run(wired, target, "restore", source_set, source_tenant_id=source)
    await TenantStore(wired).mark_offboarding(source, new_ulid())
    cursor = graphsim.request_cursor()

    with pytest.raises(TenantOffboarding, match=source):
        await _apply_one(target, run, source_set, item_id, source_tenant_id=source)

    assert graphsim.writes(cursor) == []
    assert await RunStore(wired).all_items(run.run_id) == []
    assert await RestoreState(wired).step(run.run_id, item_id) is None


async def test_a_restore_does_not_publish_its_pre_restore_set_once_its_tenant_is_marked(
        graphsim, wired):  # noqa: F811
    tenant_id = graphsim.tenant_ids[0]
    run, pre_id = await _begun_restore(wired, tenant_id)
    await TenantStore(wired).mark_offboarding(tenant_id, new_ulid())

    with pytest.raises(TenantOffboarding):
        await restore.seal_pre_restore_set(asdict(SealPreRestoreSet(
            run_id=run.run_id, tenant_id=tenant_id, pre_restore_backup_set_id=pre_id, at=AT)))

    assert await BackupSetStore(wired).get(tenant_id, pre_id) is None


@pytest.mark.parametrize("marked", [False, True], ids=["open", "source-offboarding"])
async def test_a_deployment_plan_is_recorded_only_while_its_source_is_open(
        graphsim, wired, monkeypatch, marked):  # noqa: F811
    """The plan reads the target's Graph first (minutes, when throttled): a source marked
    meanwhile gets no plan rows."""
    monkeypatch.setattr(deploy, "get_storage", lambda: wired)
    target, source = graphsim.tenant_ids[:2]
    source_set = await _set(wired, source)
    await _item(wired, source_set, source, "77777777-7777-7777-7777-777777777777",
                description=f"devices of tenant {source}")  # a tenant value: one plan row
    run = await _run(wired, target, "restore", source_set, source_tenant_id=source)
    if marked:
        await TenantStore(wired).mark_offboarding(source, new_ulid())
    step = asdict(PlanDeployment(run_id=run.run_id, tenant_id=target, at=AT))

    if marked:
        with pytest.raises(TenantOffboarding, match=source):
            await deploy.plan_deployment(step)
    else:
        await deploy.plan_deployment(step)

    rows = await PlanStore(wired).rows(run.run_id)
    assert [r.source_id for r in rows] == ([] if marked else [source])
