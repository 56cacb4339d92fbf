"""The ownership table and its sweep on real Azure Storage (Azurite): every entry finds
exactly one tenant's rows — another tenant's stay — a sweep bounded to one row at a time
ends in the same state, and stopping runs reaches runs that read from the tenant."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from shared.backups.sets import BACKUP_SETS
from shared.deploy.store import DEPLOY_PLANS
from shared.offboarding.plan import (
    DEPLOYED_RUN_IDS,
    OWNED,
    RUN_IDS,
    TENANT_ROW,
    BlobPrefix,
    Owned,
    Partition,
    PartitionPrefix,
    PartitionsOf,
    Property,
    RowPrefix,
)
from shared.offboarding.runs import stop_runs
from shared.offboarding.sweep import owned_ids, sweep_step
from shared.platform import tables
from shared.platform.keys import iso, new_ulid, utc_now
from shared.platform.storage import upload_once
from shared.runs.model import Run, RunStatus
from shared.runs.store import RUN_INDEX, RUNS, RunStore

pytestmark = pytest.mark.anyio
A, B = str(uuid.uuid4()), str(uuid.uuid4())


def _ids(tenant: str) -> dict[str, str]:
    return {"run": f"run-{tenant}", "set": f"set-{tenant}", "pre": f"pre-{tenant}"}


async def _plant(storage, tenant: str) -> None:
    """The runs and sets the tenant's ids are found from, then one row (or blob) that each
    entry of the ownership table should find."""
    ids = _ids(tenant)
    await tables.upsert(await storage.table(RUNS), {
        "PartitionKey": tenant, "RowKey": "r0", "run_id": ids["run"], "tenant_id": tenant,
        "pre_restore_backup_set_id": ids["pre"], "status": "succeeded"})
    await tables.upsert(await storage.table(RUN_INDEX), {
        "PartitionKey": f"indexed-{tenant}", "RowKey": "run", "tenant_id": tenant})
    await tables.upsert(await storage.table(BACKUP_SETS), {
        "PartitionKey": tenant, "RowKey": "s0", "backup_set_id": ids["set"]})
    for owned in (*OWNED, TENANT_ROW):
        for row in _rows(owned, tenant):
            if owned.blobs:
                await upload_once(await storage.container(owned.store), row, b"x", "text/plain")
            else:
                await tables.upsert(await storage.table(owned.store), row)


def _rows(owned: Owned, tenant: str) -> list:
    find, ids = owned.find, _ids(tenant)
    if isinstance(find, BlobPrefix):
        return [find.prefix(tenant) + "type/id/digest.json"]
    if isinstance(find, Partition):
        keys = [(find.key(tenant), "r1")]
    elif isinstance(find, PartitionPrefix):
        keys = [(find.prefix(tenant) + "deviceConfigurations|p1", "r1")]
    elif isinstance(find, PartitionsOf) and find.ids == DEPLOYED_RUN_IDS:
        return []  # other tenants' runs: test_sweep_deletes_the_plans_of_deployments_from_it
    elif isinstance(find, PartitionsOf):
        partitions = [ids["run"], f"indexed-{tenant}"] if find.ids == RUN_IDS else [
            ids["run"], ids["set"], ids["pre"]]
        keys = [(p, "r1") for p in partitions]
    elif isinstance(find, RowPrefix):
        prefix = find.prefix(tenant)
        keys = [(find.partition, prefix + ("1" if prefix.endswith("|") else ""))]
    elif isinstance(find, Property) and find.name == "RowKey":
        keys = [("backup", tenant)]
    else:
        assert isinstance(find, Property)
        return [{"PartitionKey": f"p:{uuid.uuid4()}", "RowKey": "r1", find.name: tenant}]
    return [{"PartitionKey": pk, "RowKey": rk} for pk, rk in keys]


async def _stored(storage) -> dict[str, set]:
    out: dict[str, set] = {}
    for store in {o.store for o in (*OWNED, TENANT_ROW)}:
        if any(o.blobs for o in OWNED if o.store == store):
            box = await storage.container(store)
            out[store] = {b.name async for b in box.list_blobs()}
        else:
            table = await storage.table(store)
            out[store] = {(e["PartitionKey"], e["RowKey"]) async for e in table.list_entities()}
    return out


async def _sweep(storage, tenant: str, limit: int) -> int:
    deleted = 0
    for owned in (*OWNED, TENANT_ROW):
        while (found := await sweep_step(storage, tenant, owned, limit)) >= limit:
            deleted += found
        deleted += found
    return deleted


async def _mentions(storage, tenant: str) -> list[str]:
    state = await _stored(storage)
    return [f"{store}: {key}" for store, keys in state.items() for key in keys
            if tenant in str(key)]


@pytest.mark.parametrize("limit", [500, 1])
async def test_sweep_deletes_every_row_of_one_tenant_and_none_of_another(storage, limit):
    await _plant(storage, A)
    await _plant(storage, B)
    before = await _stored(storage)
    assert await _mentions(storage, A)

    deleted = await _sweep(storage, A, limit)

    after = await _stored(storage)
    assert await _mentions(storage, A) == []
    # Property-found rows carry the tenant only in a property: count them by difference.
    assert deleted == sum(len(before[s]) - len(after[s]) for s in before)
    assert all(len(after[s]) * 2 == len(before[s]) for s in before), (before, after)
    assert await _sweep(storage, A, limit) == 0  # idempotent: nothing left to find
    assert {_ids(B)["run"], f"indexed-{B}"} <= (await owned_ids(storage, B))[RUN_IDS]


async def test_sweep_deletes_the_plans_of_deployments_from_it_and_keeps_the_runs(storage):
    """B deployed from A: B's run and items stay (B's records), the plan — A's object ids and
    names — goes with A; B's own plans stay."""
    runs_table, plans = await storage.table(RUNS), await storage.table(DEPLOY_PLANS)
    await tables.upsert(runs_table, {"PartitionKey": B, "RowKey": "d1", "run_id": "from-a",
                                     "tenant_id": B, "source_tenant_id": A,
                                     "status": "succeeded"})
    await tables.upsert(runs_table, {"PartitionKey": B, "RowKey": "d2", "run_id": "b-own",
                                     "tenant_id": B, "status": "succeeded"})
    for run_id in ("from-a", "b-own"):
        await tables.upsert(plans, {"PartitionKey": run_id, "RowKey": "groups|g1",
                                    "source_name": "A's group"})
    [entry] = [o for o in OWNED if o.store == DEPLOY_PLANS and isinstance(o.find, PartitionsOf)
               and o.find.ids == DEPLOYED_RUN_IDS]

    found = (await owned_ids(storage, A))[DEPLOYED_RUN_IDS]
    deleted = await sweep_step(storage, A, entry)

    assert found == {"from-a"} and deleted == 1
    assert await tables.query_all(plans, "from-a") == []
    assert len(await tables.query_all(plans, "b-own")) == 1
    assert {r["run_id"] for r in await tables.query_all(runs_table, B)} >= {"from-a", "b-own"}
    assert (await owned_ids(storage, B))[DEPLOYED_RUN_IDS] == set()


class FakeInstances:
    """Instances whose terminate takes effect at the next look (as the Durable engine's
    does, asynchronously)."""

    def __init__(self, running: set[str]) -> None:
        self.running, self.terminating, self.terminated = set(running), set(), []

    async def status(self, instance_id: str) -> str | None:
        if instance_id in self.terminating:
            self.running.discard(instance_id)
            self.terminating.discard(instance_id)
            return "Terminated"
        return "Running" if instance_id in self.running else "Completed"

    async def children(self, instance_id: str) -> list[tuple[str, str]]:
        child = f"{instance_id}:slice:0"
        return [(child, await self.status(child))]

    async def terminate(self, instance_id: str, reason: str) -> None:
        self.terminated.append(instance_id)
        self.terminating.add(instance_id)

    async def purge(self, instance_id: str) -> None:
        raise AssertionError("stopping purges nothing")


def _run(tenant: str, **extra) -> Run:
    run_id = new_ulid()
    return Run(run_id=run_id, tenant_id=tenant, run_type="backup",
               status=RunStatus.RUNNING.value, requested_by="someone",
               idempotency_key=f"{tenant}|backup|{run_id}", instance_id=f"pv-{run_id}-1",
               created_at=iso(utc_now() - timedelta(minutes=5)), **extra)


async def test_stop_runs_terminates_runs_of_and_from_the_tenant_and_settles_source_runs(
        storage):
    runs = RunStore(storage)
    # sourced: a cross-tenant deployment from A into B (DESIGN §11)
    own, foreign, sourced = _run(A), _run(B), _run(B, parameters={"source_tenant_id": A})
    for run in (own, foreign, sourced):
        await runs.create(run)
    instances = FakeInstances({own.instance_id, f"{own.instance_id}:slice:0",
                               foreign.instance_id, sourced.instance_id})

    first = await stop_runs(storage, instances, A, utc_now())
    second = await stop_runs(storage, instances, A, utc_now())

    assert sorted(first) == sorted(instances.terminated) == sorted(
        [own.instance_id, f"{own.instance_id}:slice:0", sourced.instance_id])
    assert second == []
    settled = await runs.get(B, sourced.run_id)
    assert settled is not None and settled.status == "failed"
    assert settled.error == {"code": "tenant_offboarding",
                             "message": "the source tenant of this run was offboarded"}
    untouched = await runs.get(B, foreign.run_id)
    assert untouched is not None and untouched.status == "running"


def test_every_entry_of_the_ownership_table_is_distinct_and_the_tenant_row_goes_last():
    names = [owned.name for owned in (*OWNED, TENANT_ROW)]

    assert len(set(names)) == len(names)
    assert names[-2:] == ["tenantkeys:RowPrefix", "tenants:RowPrefix"]
