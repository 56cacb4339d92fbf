"""Reports in-process against Azurite and the Graph simulator (DESIGN §14): the sealed,
chunked report blob refuses a chunk moved or cut off; a 1,000-object tenant renders in one
pass with bounded memory; secret values are masked by the catalog and by Graph's secret
shapes; a change between two documents is listed setting by setting."""

from __future__ import annotations

import datetime as dt
import os
import time
import tracemalloc
from collections.abc import AsyncIterator

import pytest

from local.graphsim.pytest_plugin import graphsim, graphsim_session  # noqa: F401
from local.graphsim.simulator import GraphSimulator
from shared.backups.sets import BackupItem, BackupSet, BackupSetStore
from shared.backups.snapshots import SnapshotStore
from shared.backups.tenant_keys import KeyCache, TenantKeys
from shared.crypto.kek import LocalKek
from shared.graph import GraphClient, build_graph_client
from shared.graph.catalog import BY_KEY
from shared.graph.secrets import SECRET, redact
from shared.graph.tokens import MsalTokenProvider
from shared.platform.config import load_settings
from shared.platform.errors import SnapshotUnreadable
from shared.platform.keys import new_ulid
from shared.platform.storage import Storage
from shared.reports import build, store
from shared.reports.build import ReportJob, build_report
from shared.reports.changes import compare
from shared.reports.definitions import DefinitionCache
from shared.reports.describe import describe
from shared.reports.names import Names
from shared.reports.store import REPORTS, ReportStore, report_path
from shared.retention.aged import purge_aged
from shared.runs.model import item_key
from tests.graph.conftest import FAST, sim_env
from tests.tenants import register

pytestmark = pytest.mark.anyio
TENANT = "5a7e0c11-0000-4000-8000-00000000000a"


@pytest.fixture
async def keys(storage: Storage) -> TenantKeys:
    await register(storage, TENANT)
    return TenantKeys(storage, LocalKek(os.urandom(32)), KeyCache())


@pytest.fixture
async def client(graphsim: GraphSimulator) -> AsyncIterator[GraphClient]:  # noqa: F811
    settings = load_settings(sim_env(graphsim))
    made = build_graph_client(settings, policy=FAST,
                              tokens=MsalTokenProvider(settings.graph, settings.authority_host))
    yield made
    await made.aclose()


async def _written(storage: Storage, keys: TenantKeys, run_id: str, parts: list[str]) -> None:
    writer = await ReportStore(storage, keys).writer(TENANT, run_id, "md")
    for part in parts[1:]:
        await writer.write(part)
    await writer.finish(parts[0])


async def test_report_blob_read_back_is_the_head_then_the_body_in_order(
        storage, keys, monkeypatch):
    monkeypatch.setattr(store, "CHUNK_BYTES", 64)
    parts = ["# head\n", *(f"line {n:04d} " * 8 + "\n" for n in range(40))]
    run_id = new_ulid()

    await _written(storage, keys, run_id, parts)

    assert await ReportStore(storage, keys).read(TENANT, run_id, "md") == "".join(
        parts).encode()
    container = await storage.container(REPORTS)
    blob = container.get_blob_client(report_path(TENANT, run_id, "md"))
    blocks = (await blob.get_block_list())[0]
    assert len(blocks) > 10  # streamed chunk by chunk, not one giant string
    raw = await (await blob.download_blob()).readall()
    assert b"line 0001" not in raw and b"# head" not in raw


@pytest.mark.parametrize("tamper", ["swap", "cut", "drop_end"])
async def test_report_blob_changed_chunks_fail_to_open(storage, keys, monkeypatch, tamper):
    monkeypatch.setattr(store, "CHUNK_BYTES", 64)
    run_id = new_ulid()
    await _written(storage, keys, run_id, ["head\n", *(f"{n:03d}" * 30 for n in range(6))])
    container = await storage.container(REPORTS)
    path = report_path(TENANT, run_id, "md")
    records = store._records(await (await container.download_blob(path)).readall())
    if tamper == "swap":
        records[1], records[2] = records[2], records[1]
    elif tamper == "cut":
        records = records[:3] + records[-1:]
    else:
        records = records[:-1]
    await container.upload_blob(path, b"".join(map(store._record, records)), overwrite=True)

    with pytest.raises(SnapshotUnreadable):
        await ReportStore(storage, keys).read(TENANT, run_id, "md")


async def test_retention_expires_only_the_tenants_older_reports(storage, keys):
    kept, expired = new_ulid(), new_ulid()
    await _written(storage, keys, expired, ["old\n"])
    cutoff = dt.datetime.now(dt.UTC)
    time.sleep(2)  # blob times have a resolution of one second
    await _written(storage, keys, kept, ["new\n"])
    reports = ReportStore(storage, keys)
    now = cutoff + dt.timedelta(days=7)  # a retention of 7 days reaches back to cutoff

    assert (await purge_aged(storage, TENANT, 7, now))["reports_deleted"] == 1
    other = "5a7e0c11-0000-4000-8000-00000000000b"
    assert (await purge_aged(storage, other, 7, now))["reports_deleted"] == 0
    assert await reports.read(TENANT, expired, "md") is None
    assert await reports.read(TENANT, kept, "md") == b"new\n"


def test_reports_mask_what_the_catalog_names_secret():
    """Reports redact with the catalog's one ``redact`` (shared/graph/secrets.py)."""
    profile = {"tokenValue": "tok-123456789", "wifiPassword": None, "deviceNameTemplate": "PV"}
    custom = {"@odata.type": "#microsoft.graph.windows10CustomConfiguration", "omaSettings": [
        {"@odata.type": "#microsoft.graph.omaSettingString", "omaUri": "./x",
         "isEncrypted": True, "value": "hunter22"},
        {"@odata.type": "#microsoft.graph.omaSettingString", "omaUri": "./y",
         "isEncrypted": False, "value": "visible"}]}
    catalog = {"settings": [{"settingInstance": {
        "@odata.type": "#microsoft.graph.deviceManagementConfigurationSimpleSettingInstance",
        "simpleSettingValue": {
            "@odata.type": "#microsoft.graph.deviceManagementConfigurationSecretSettingValue",
            "value": "s3cret-value", "valueState": "notEncrypted"}}}]}

    masked = redact(BY_KEY["androidDeviceOwnerEnrollmentProfiles"], profile)
    oma = redact(BY_KEY["deviceConfigurations"], custom)["omaSettings"]
    value = redact(BY_KEY["configurationPolicies"], catalog)[
        "settings"][0]["settingInstance"]["simpleSettingValue"]

    assert masked["tokenValue"] == SECRET and masked["wifiPassword"] is None
    assert [s["value"] for s in oma] == [SECRET, "visible"]
    assert value["value"] == SECRET and value["valueState"] == "notEncrypted"
    assert profile["tokenValue"] == "tok-123456789"  # the input is left alone


def test_compare_lists_each_changed_setting_and_assignment_only():
    rtype = BY_KEY["deviceConfigurations"]
    names = Names()
    names.add("groups", "g1", "Sales devices")
    names.add("groups", "g2", "Pilot users")
    cache = DefinitionCache(None, TENANT)  # type: ignore[arg-type] - no catalog settings here
    target = {"@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": "g1"}
    old = {"id": "c1", "displayName": "Baseline", "passwordRequired": True,
           "passwordMinimumLength": 8, "assignments": [{"target": target}]}
    new = {**old, "passwordMinimumLength": 12, "cameraBlocked": True, "assignments": [
        {"target": target},
        {"target": {"@odata.type": "#microsoft.graph.exclusionGroupAssignmentTarget",
                    "groupId": "g2"}}]}

    change = compare(describe(rtype, old, names, cache), describe(rtype, new, names, cache))

    assert change is not None
    assert [(s.label, s.old, s.new) for s in change.settings] == [
        ("Camera blocked", "(not set)", "Yes"), ("Password minimum length", "8", "12")]
    assert change.assignments_added == ["exclude Pilot users"]
    assert change.assignments_removed == []
    assert compare(describe(rtype, old, names, cache), describe(rtype, old, names, cache)) \
        is None


async def _seeded_set(storage: Storage, keys: TenantKeys, sim: GraphSimulator,
                      tenant_id: str, policy_types: tuple[str, ...]) -> str:
    """A backup set of the simulator's objects of ``policy_types``, stored as a backup
    stores it (sealed snapshots, item rows, the set row), the tenant registered."""
    await register(storage, tenant_id)
    snapshots, sets = SnapshotStore(storage, keys), BackupSetStore(storage)
    set_id = new_ulid()
    items = []
    for policy_type in policy_types:
        rtype = BY_KEY[policy_type]
        for document in sim.objects(tenant_id, rtype.path):
            sha, path, _ = await snapshots.put(tenant_id, policy_type, document["id"], document)
            items.append(BackupItem(item_key(policy_type, document["id"]), policy_type,
                                    document["id"], str(document.get(rtype.name_field)), sha,
                                    path))
    await sets.put_items(set_id, items)
    await sets.put(BackupSet(set_id, tenant_id, None, set_id, "2026-01-01T00:00:00Z",
                             len(items)))
    return set_id


async def _measured(storage: Storage, keys: TenantKeys, sim: GraphSimulator,
                    client: GraphClient, policies: int) -> tuple[build.Built, int, float]:
    sim.reset(counts={"configurationPolicies": policies}, tenants=1)
    tenant_id = sim.tenant_ids[0]
    set_id = await _seeded_set(storage, keys, sim, tenant_id,
                               ("groups", "assignmentFilters", "roleScopeTags",
                                "configurationPolicies"))
    job = ReportJob(tenant_id, new_ulid(), set_id, "html", "2026-01-02T00:00:00Z")
    tracemalloc.start()
    began = time.monotonic()
    try:
        built = await build_report(storage, client, job, keys=keys)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    elapsed = time.monotonic() - began
    document = await ReportStore(storage, keys).read(tenant_id, job.run_id, "html")
    assert document is not None and document.count(b"<article id=") == built.objects
    return built, peak, elapsed


async def test_report_of_a_thousand_objects_streams_with_bounded_memory(
        storage, keys, graphsim, client):  # noqa: F811
    small, small_peak, _ = await _measured(storage, keys, graphsim, client, 100)
    big, big_peak, elapsed = await _measured(storage, keys, graphsim, client, 1000)

    print(f"\n1,000-object report: {big.bytes / 1e6:.1f} MB HTML in {elapsed:.1f} s, peak "
          f"traced memory {big_peak / 1e6:.1f} MB (100 objects: {small.bytes / 1e6:.2f} MB, "
          f"peak {small_peak / 1e6:.1f} MB); {big.definitions_read} definitions read")
    assert big.objects >= 1000 and big.bytes > 5 * small.bytes
    assert big.definitions_read <= 200  # once per definition, not once per setting
    # Memory follows the window and the chunk, not the tenant: ten times the objects, not
    # ten times the memory (what is left is the clients' and the simulator's own).
    assert big_peak < 2 * small_peak
