"""A type Graph will not serve, through both read paths of a backup — ``capture_type`` (by
collection) and ``list_policies`` (by id, runs recorded before it) — against the simulator
and Azurite: 400/404 → one skipped ``not_available`` item, 403 → ``consent_missing``
(DESIGN §7.1), or ``not_available`` when the type's licence (``licensed_by``) is not in the
tenant's ``subscribedSkus``; a refusal after pages were served fails the type instead."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from dataclasses import asdict

import pytest

from activities import snapshots
from activities.contracts.snapshots import (
    CapturedType,
    CapturedTypes,
    CaptureType,
    CaptureTypes,
    Listing,
    ListPolicies,
    PolicyGroup,
    RecordUnfetched,
    TransientMode,
)
from local.graphsim.licences import WINDOWS_365 as WINDOWS_365_SKU
from local.graphsim.pytest_plugin import graphsim, graphsim_session  # noqa: F401
from local.graphsim.simulator import GraphSimulator
from shared.backups.sets import BackupSetStore
from shared.backups.snapshots import SNAPSHOTS
from shared.backups.tenant_keys import TenantKeys
from shared.graph import GraphClient, build_graph_client, list_items, read_collection
from shared.graph.licences import TenantLicences
from shared.graph.tokens import MsalTokenProvider
from shared.platform.config import get_settings, load_settings
from shared.platform.errors import TenantOffboarding
from shared.platform.keys import new_ulid
from shared.platform.storage import Storage
from shared.runs.model import TYPE_LEVEL_ID, ItemTally, Run, RunItem
from shared.runs.store import RunStore
from shared.tenants import gate
from shared.tenants.gate import OpenTenants
from shared.tenants.store import TenantStore
from tests.graph.conftest import FAST, graph_requests, sim_env
from tests.tenants import register

pytestmark = pytest.mark.anyio
REFUSED = "windowsDriverUpdateProfiles"
READABLE = "assignmentFilters"  # its listing is complete: one GET per page, nothing else
CODES = {400: "not_available", 404: "not_available", 403: "consent_missing"}


@pytest.fixture
async def client(graphsim: GraphSimulator) -> AsyncIterator[GraphClient]:  # noqa: F811
    settings = load_settings(sim_env(graphsim))
    made = build_graph_client(settings, policy=FAST,
                              tokens=MsalTokenProvider(settings.graph, settings.authority_host))
    yield made
    await made.aclose()


@pytest.fixture
async def wired(monkeypatch: pytest.MonkeyPatch, storage: Storage, client: GraphClient,
                graphsim: GraphSimulator) -> AsyncIterator[Storage]:  # noqa: F811
    """The activities on this test's storage and Graph client (the simulator), with the
    settings (the snapshot key among them) from the environment, as the runtime's are, and
    the simulator's tenants registered."""
    await register(storage, *graphsim.tenant_ids)
    for name, value in sim_env(graphsim).items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    monkeypatch.setattr(snapshots, "get_storage", lambda: storage)
    monkeypatch.setattr(snapshots, "list_items", functools.partial(list_items, client=client))
    monkeypatch.setattr(snapshots, "read_collection",
                        functools.partial(read_collection, client=client))
    monkeypatch.setattr(snapshots, "TenantLicences",
                        functools.partial(TenantLicences, client=client))
    yield storage
    get_settings.cache_clear()


def _refuse(sim: GraphSimulator, tenant_id: str, status: int) -> None:
    sim.add_fault("status", status=status, method="GET", tenant=tenant_id,
                  path_prefix=f"/deviceManagement/{REFUSED}")


async def _type_item(storage: Storage, run_id: str, policy_type: str) -> RunItem:
    [item] = [i for i in await RunStore(storage).all_items(run_id)
              if (i.policy_type, i.policy_id) == (policy_type, TYPE_LEVEL_ID)]
    return item


async def _capture_type(tenant_id: str, run_id: str, policy_type: str) -> CapturedType:
    backup_set_id = new_ulid()  # the run's own set: activities write no other (issue 19)
    await RunStore(snapshots.get_storage()).create(Run(
        run_id=run_id, tenant_id=tenant_id, run_type="backup", status="running",
        requested_by="engineer", idempotency_key=run_id, created_at="2025-01-01T01:00:00Z",
        instance_id="pv-test", backup_set_id=backup_set_id))
    job = CaptureType(run_id=run_id, tenant_id=tenant_id, backup_set_id=backup_set_id,
                      at="2025-01-01T01:00:00Z", policy_type=policy_type,
                      mode=TransientMode.RETURN_FOR_RETRY)
    return CapturedType.from_payload(await snapshots.capture_type(asdict(job)))


@pytest.mark.parametrize("status", sorted(CODES))
async def test_capture_type_collection_graph_refuses_is_one_skipped_item_with_its_code(
        graphsim, wired, status):  # noqa: F811
    tenant_id, run_id = graphsim.tenant_ids[0], new_ulid()
    _refuse(graphsim, tenant_id, status)

    captured = await _capture_type(tenant_id, run_id, REFUSED)

    assert (captured.listed, captured.tally, captured.retry_type) == (
        1, ItemTally(skipped=1), False)
    item = await _type_item(wired, run_id, REFUSED)
    assert (item.action, item.error_code) == ("skipped", CODES[status])
    assert f"HTTP {status}" in (item.error or {})["message"]


@pytest.mark.parametrize("status", sorted(CODES))
async def test_list_policies_collection_graph_refuses_is_the_same_skipped_item(
        graphsim, wired, status):  # noqa: F811
    tenant_id, run_id = graphsim.tenant_ids[0], new_ulid()
    _refuse(graphsim, tenant_id, status)
    job = ListPolicies(run_id=run_id, tenant_id=tenant_id, policy_types=[REFUSED, READABLE],
                       mode=TransientMode.RETURN_FOR_RETRY)

    listing = Listing.from_payload(await snapshots.list_policies(asdict(job)))

    by_type = {entry.policy_type: entry for entry in listing.types}
    assert (by_type[REFUSED].ids, by_type[REFUSED].outcome) == ([], "skipped")
    assert by_type[READABLE].ids and by_type[READABLE].outcome is None
    item = await _type_item(wired, run_id, REFUSED)
    assert (item.action, item.error_code) == ("skipped", CODES[status])


def _take_licence(sim: GraphSimulator, tenant_id: str) -> None:
    """The tenant keeps Intune (EMS E3) but loses the driver updates' plan (Microsoft 365
    E3): the simulator then answers the type 403, as Intune does."""
    sim.set_licence(tenant_id, "SPE_E3", held=False)
    sim.set_licence(tenant_id, "EMS", held=True)


def _sku_reads(sim: GraphSimulator, tenant_id: str) -> int:
    return len(graph_requests(sim, tenant=tenant_id, path="/v1.0/subscribedSkus"))


async def test_capture_type_403_in_a_tenant_without_the_licence_is_not_available(
        graphsim, wired):  # noqa: F811
    tenant_id, run_id = graphsim.tenant_ids[0], new_ulid()
    _take_licence(graphsim, tenant_id)

    captured = await _capture_type(tenant_id, run_id, REFUSED)

    assert captured.tally == ItemTally(skipped=1)
    item = await _type_item(wired, run_id, REFUSED)
    assert (item.action, item.error_code) == ("skipped", "not_available")
    assert (item.error or {})["message"].startswith("not licensed in this tenant")
    assert "HTTP 403" in (item.error or {})["message"]
    assert _sku_reads(graphsim, tenant_id) == 1


async def test_capture_type_windows_365_in_a_tenant_without_it_is_not_available(
        graphsim, wired):  # noqa: F811
    tenant_id, run_id = graphsim.tenant_ids[0], new_ulid()
    graphsim.set_licence(tenant_id, WINDOWS_365_SKU, held=False)

    captured = await _capture_type(tenant_id, run_id, "cloudPcUserSettings")

    assert captured.tally == ItemTally(skipped=1)
    item = await _type_item(wired, run_id, "cloudPcUserSettings")
    assert (item.action, item.error_code) == ("skipped", "not_available")
    assert "Access is denied to the requested resource." in (item.error or {})["message"]


async def test_list_policies_403_with_the_licence_held_is_consent_missing_after_one_read(
        graphsim, wired):  # noqa: F811
    tenant_id, run_id = graphsim.tenant_ids[0], new_ulid()
    _refuse(graphsim, tenant_id, 403)
    job = ListPolicies(run_id=run_id, tenant_id=tenant_id,
                       policy_types=[REFUSED, READABLE, REFUSED],
                       mode=TransientMode.RETURN_FOR_RETRY)

    await snapshots.list_policies(asdict(job))

    item = await _type_item(wired, run_id, REFUSED)
    assert (item.action, item.error_code) == ("skipped", "consent_missing")
    assert "the tenant holds its licence" in (item.error or {})["message"]
    assert _sku_reads(graphsim, tenant_id) == 1


async def test_capture_type_403_with_unreadable_licences_is_consent_missing_saying_so(
        graphsim, wired):  # noqa: F811
    tenant_id, run_id = graphsim.tenant_ids[0], new_ulid()
    _take_licence(graphsim, tenant_id)  # even so: unknown is not "unlicensed"
    graphsim.add_fault("status", status=403, tenant=tenant_id, path_prefix="/subscribedSkus")

    await _capture_type(tenant_id, run_id, REFUSED)

    item = await _type_item(wired, run_id, REFUSED)
    assert (item.action, item.error_code) == ("skipped", "consent_missing")
    assert "licence could not be checked" in (item.error or {})["message"]
    assert "graph_forbidden" in (item.error or {})["message"]


async def test_capture_type_a_400_never_reads_the_licences(graphsim, wired):  # noqa: F811
    tenant_id = graphsim.tenant_ids[0]
    _refuse(graphsim, tenant_id, 400)

    await _capture_type(tenant_id, new_ulid(), REFUSED)

    assert _sku_reads(graphsim, tenant_id) == 0


async def test_capture_type_refused_after_a_page_was_served_fails_the_type(
        graphsim, wired):  # noqa: F811
    graphsim.reset(page_size=1, counts={READABLE: 2})
    tenant_id, run_id = graphsim.tenant_ids[0], new_ulid()
    prefix = f"/deviceManagement/{READABLE}"
    # The first list page is answered as usual (a no-delay "slow" rule, once); the next 400s.
    graphsim.add_fault("slow", delay_ms=0, count=1, method="GET", tenant=tenant_id,
                       path_prefix=prefix)
    graphsim.add_fault("status", status=400, method="GET", tenant=tenant_id,
                       path_prefix=prefix)

    captured = await _capture_type(tenant_id, run_id, READABLE)

    assert (captured.listed, captured.tally) == (2, ItemTally(succeeded=1, failed=1))
    item = await _type_item(wired, run_id, READABLE)
    assert (item.action, item.error_code) == ("failed", "graph_bad_request")


async def test_capture_types_reads_each_type_whole_and_one_refusal_stays_that_types_item(
        graphsim, wired):  # noqa: F811
    """Several types in one activity: each outcome is what its own ``capture_type`` would
    report, and a type Graph refuses does not cost its activity-mates anything."""
    tenant_id, run_id, backup_set_id = graphsim.tenant_ids[0], new_ulid(), new_ulid()
    _refuse(graphsim, tenant_id, 404)
    await RunStore(wired).create(Run(
        run_id=run_id, tenant_id=tenant_id, run_type="backup", status="running",
        requested_by="engineer", idempotency_key=run_id, created_at="2025-01-01T01:00:00Z",
        instance_id="pv-test", backup_set_id=backup_set_id))
    job = CaptureTypes(run_id=run_id, tenant_id=tenant_id, backup_set_id=backup_set_id,
                       at="2025-01-01T01:00:00Z", policy_types=[READABLE, REFUSED],
                       mode=TransientMode.RETURN_FOR_RETRY)

    readable, refused = CapturedTypes.from_result(await snapshots.capture_types(asdict(job)))

    objects = graphsim.objects(tenant_id, READABLE)
    assert readable.policy_type == READABLE and len(objects) > 1
    assert (readable.listed, readable.tally) == (len(objects), ItemTally(succeeded=len(objects)))
    assert (refused.policy_type, refused.tally) == (REFUSED, ItemTally(skipped=1))
    items = await RunStore(wired).all_items(run_id)
    assert sorted(i.policy_id for i in items if i.policy_type == READABLE) == sorted(
        o["id"] for o in objects)
    assert (await _type_item(wired, run_id, REFUSED)).error_code == "not_available"


async def _running_backup(storage: Storage, tenant_id: str) -> tuple[str, str]:
    """A backup run of ``tenant_id`` as its orchestration started it: its id and its set's."""
    run_id, backup_set_id = new_ulid(), new_ulid()
    await RunStore(storage).create(Run(
        run_id=run_id, tenant_id=tenant_id, run_type="backup", status="running",
        requested_by="engineer", idempotency_key=run_id, created_at="2025-01-01T01:00:00Z",
        instance_id="pv-test", backup_set_id=backup_set_id))
    return run_id, backup_set_id


async def test_a_capture_running_into_its_tenants_offboarding_stops_at_its_next_seal(
        graphsim, wired, monkeypatch):  # noqa: F811
    """An activity still running when its tenant's offboarding begins (its orchestration is
    terminated, the activity runs on) stops at its next seal, though this process holds the
    tenant's key: no blob and no row is left for after the offboarding's last sweep."""
    monkeypatch.setattr(gate, "PROCESS_OPEN_TENANTS", OpenTenants(open_s=0))  # sees the mark
    tenant_id = graphsim.tenant_ids[0]
    run_id, backup_set_id = await _running_backup(wired, tenant_id)
    await TenantKeys(wired).current(tenant_id)  # sealed before: the key is cached
    await TenantStore(wired).mark_offboarding(tenant_id, new_ulid())
    job = CaptureTypes(run_id=run_id, tenant_id=tenant_id, backup_set_id=backup_set_id,
                       at="2025-01-01T01:00:00Z", policy_types=[READABLE],
                       mode=TransientMode.RETURN_FOR_RETRY)

    with pytest.raises(TenantOffboarding, match="offboarded"):
        await snapshots.capture_types(asdict(job))

    container = await wired.container(SNAPSHOTS)
    assert [b.name async for b in container.list_blobs(name_starts_with=f"{tenant_id}/")] == []
    assert await RunStore(wired).all_items(run_id) == []
    assert await BackupSetStore(wired).items(backup_set_id) == []


@pytest.mark.parametrize("marked", [False, True], ids=["open", "offboarding"])
async def test_items_graph_kept_refusing_are_recorded_only_while_the_tenant_is_open(
        graphsim, wired, monkeypatch, marked):  # noqa: F811
    """Rows with no snapshot behind them (no seal asks the gate for them) ask it themselves:
    a backup outliving its terminated orchestration records nothing after the mark."""
    monkeypatch.setattr(gate, "PROCESS_OPEN_TENANTS", OpenTenants(open_s=0))  # sees the mark
    tenant_id = graphsim.tenant_ids[0]
    run_id, backup_set_id = await _running_backup(wired, tenant_id)
    if marked:
        await TenantStore(wired).mark_offboarding(tenant_id, new_ulid())
    job = RecordUnfetched(run_id=run_id, tenant_id=tenant_id, backup_set_id=backup_set_id,
                          groups=[PolicyGroup(READABLE, ["never-fetched"])])

    if marked:
        with pytest.raises(TenantOffboarding, match="offboarded"):
            await snapshots.record_unfetched(asdict(job))
    else:
        assert await snapshots.record_unfetched(asdict(job)) == asdict(ItemTally(failed=1))

    recorded = [(i.policy_id, i.action) for i in await RunStore(wired).all_items(run_id)]
    assert recorded == ([] if marked else [("never-fetched", "failed")])
