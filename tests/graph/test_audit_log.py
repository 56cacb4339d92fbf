"""read_change_log: one paged, time-filtered read per audit log, and who changed each item."""

from __future__ import annotations

import copy
import datetime as dt
from urllib.parse import parse_qs

import pytest

from shared.graph import fetch_snapshot, list_items, update_item
from shared.graph.audit_log import ChangeLog, read_change_log
from tests.graph.conftest import graph_requests

pytestmark = pytest.mark.anyio

INTUNE = "/beta/deviceManagement/auditEvents"
DIRECTORY = "/v1.0/auditLogs/directoryAudits"
EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


async def _ids(client, tenant, key):
    return [ref.id for ref in await list_items(tenant, key, client=client)]


def _log_reads(graphsim, cursor):
    return {path: len(graph_requests(graphsim, cursor, path=path, method="GET"))
            for path in (INTUNE, DIRECTORY)}


async def test_read_change_log_reads_each_log_once_per_page(client, tenants, graphsim):
    graphsim.reset(page_size=2)
    tenant = tenants[0]
    policies = await _ids(client, tenant, "deviceConfigurations")
    ca = await _ids(client, tenant, "conditionalAccessPolicies")
    for i in range(5):
        graphsim.drift(tenant, "deviceConfigurations", policies[i % len(policies)])
    for i in range(3):
        graphsim.drift(tenant, "conditionalAccessPolicies", ca[i % len(ca)])
    cursor = graphsim.request_cursor()
    log = await read_change_log(tenant, EPOCH, client=client)
    assert _log_reads(graphsim, cursor) == {INTUNE: 3, DIRECTORY: 2}
    for path in (INTUNE, DIRECTORY):
        first = [parse_qs(e["query"]) for e in graph_requests(graphsim, cursor, path=path)
                 if "skiptoken" not in e["query"]]
        assert first == [{"$filter": ["activityDateTime ge 2000-01-01T00:00:00.000000Z"]}]
    assert log.read == ["directory", "intune"] and log.unavailable == []
    assert all(log.changed_by(p) is not None for p in policies[:5])


async def test_read_change_log_without_entra_reads_only_intune(client, tenants, graphsim):
    cursor = graphsim.request_cursor()
    log = await read_change_log(tenants[0], EPOCH, entra=False, client=client)
    assert _log_reads(graphsim, cursor) == {INTUNE: 1, DIRECTORY: 0}
    assert log.read == ["intune"]


async def test_changed_by_names_the_portal_user_with_time_and_activity(client, tenants,
                                                                       graphsim):
    tenant = tenants[0]
    [policy, *_] = await _ids(client, tenant, "configurationPolicies")
    [ca, *_] = await _ids(client, tenant, "conditionalAccessPolicies")
    before = dt.datetime.now(dt.UTC)
    graphsim.drift(tenant, "configurationPolicies", policy,
                   actor={"upn": "alice@contoso1.onmicrosoft.com", "type": "user"})
    graphsim.drift(tenant, "conditionalAccessPolicies", ca, op="delete")
    log = await read_change_log(tenant, before, client=client)
    changed = log.changed_by(policy)
    assert changed is not None
    assert (changed["actor"], changed["actor_type"], changed["activity"]) == (
        "alice@contoso1.onmicrosoft.com", "user", "Patch DeviceManagementConfigurationPolicy")
    assert dt.datetime.fromisoformat(changed["at"]) >= before
    deleted = log.changed_by(ca)
    assert deleted is not None
    assert (deleted["actor"], deleted["actor_type"], deleted["activity"]) == (
        "admin@contoso1.onmicrosoft.com", "user", "Delete conditional access policy")
    assert log.changed_by(policy.upper()) == changed  # Graph ids compare case-insensitively


async def test_changed_by_marks_a_gdap_partner_in_both_logs(client, tenants, graphsim):
    tenant = tenants[0]
    [policy, *_] = await _ids(client, tenant, "deviceCompliancePolicies")
    [ca, *_] = await _ids(client, tenant, "conditionalAccessPolicies")
    partner = {"upn": "tech@fabrikam-msp.com", "type": "partner"}
    graphsim.drift(tenant, "deviceCompliancePolicies", policy, actor=partner)
    graphsim.drift(tenant, "conditionalAccessPolicies", ca, actor=partner)
    log = await read_change_log(tenant, EPOCH, client=client)
    assert log.changed_by(policy)["actor_type"] == "partner"
    assert log.changed_by(policy)["actor"] == "tech@fabrikam-msp.com"
    entra = log.changed_by(ca)
    assert entra["actor_type"] == "partner"
    assert entra["actor"].startswith("user_")  # how Entra names a GDAP technician


async def test_changed_by_names_policyvault_for_its_own_restore_writes(client, tenants,
                                                                       graphsim):
    tenant = tenants[0]
    [policy, *_] = await _ids(client, tenant, "configurationPolicies")
    [ca, *_] = await _ids(client, tenant, "conditionalAccessPolicies")
    graphsim.drift(tenant, "configurationPolicies", policy)  # the change a restore undoes
    for key, item_id in (("configurationPolicies", policy), ("conditionalAccessPolicies", ca)):
        snapshot = copy.deepcopy(await fetch_snapshot(tenant, key, item_id, client=client))
        snapshot["description"] = "restored"
        await update_item(tenant, key, item_id, snapshot, ca_state="as_snapshot",
                          client=client)
    log = await read_change_log(tenant, EPOCH, client=client)
    for item_id in (policy, ca):
        changed = log.changed_by(item_id)
        assert changed is not None
        assert (changed["actor"], changed["actor_type"]) == ("PolicyVault", "app")
    assert log.changed_by(policy)["activity"] == "Put DeviceManagementConfigurationPolicy"


async def test_changed_by_ignores_events_before_since(client, tenants, graphsim):
    tenant = tenants[0]
    first, second, *_ = await _ids(client, tenant, "deviceConfigurations")
    graphsim.drift(tenant, "deviceConfigurations", first,
                   actor={"upn": "early@contoso1.onmicrosoft.com"})
    graphsim.drift(tenant, "deviceConfigurations", second,
                   actor={"upn": "early@contoso1.onmicrosoft.com"})
    since = dt.datetime.now(dt.UTC)
    graphsim.drift(tenant, "deviceConfigurations", second,
                   actor={"upn": "late@contoso1.onmicrosoft.com"})
    log = await read_change_log(tenant, since, client=client)
    assert log.changed_by(first) is None
    assert log.changed_by(second)["actor"] == "late@contoso1.onmicrosoft.com"
    assert log.changed_by("no-such-id") is None


async def test_read_change_log_survives_a_403_on_one_log(client, tenants, graphsim):
    tenant = tenants[0]
    [policy, *_] = await _ids(client, tenant, "configurationPolicies")
    [ca, *_] = await _ids(client, tenant, "conditionalAccessPolicies")
    graphsim.drift(tenant, "configurationPolicies", policy)
    graphsim.drift(tenant, "conditionalAccessPolicies", ca)
    graphsim.add_fault("status", status=403, path_prefix=DIRECTORY)
    log = await read_change_log(tenant, EPOCH, client=client)
    assert (log.read, log.unavailable) == (["intune"], ["directory"])
    assert log.changed_by(policy)["actor_type"] == "user"
    assert log.changed_by(ca) is None
    graphsim.clear_faults()
    graphsim.add_fault("status", status=403, path_prefix=INTUNE)
    log = await read_change_log(tenant, EPOCH, client=client)
    assert (log.read, log.unavailable) == (["directory"], ["intune"])
    assert log.changed_by(policy) is None and log.changed_by(ca) is not None


async def test_changed_by_matches_singletons_by_their_catalog_key(client, tenants, graphsim):
    tenant = tenants[0]
    since = dt.datetime.now(dt.UTC)
    snapshot = await fetch_snapshot(tenant, "authorizationPolicy", "authorizationPolicy",
                                    client=client)
    await update_item(tenant, "authorizationPolicy", "authorizationPolicy",
                      {**snapshot, "blockMsolPowerShell": not snapshot["blockMsolPowerShell"]},
                      client=client)
    user = {"upn": "dana@contoso1.onmicrosoft.com"}
    drifts = {"identitySecurityDefaultsEnforcementPolicy": {"isEnabled": True},
              "deviceManagementSettings": {"subscriptionState": "warning"},
              "crossTenantAccessPolicy": {"displayName": "changed"}}
    for key, patch in drifts.items():
        graphsim.drift(tenant, key, key, patch=patch, actor=user)
    log = await read_change_log(tenant, since, client=client)
    assert log.changed_by("authorizationPolicy")["actor_type"] == "app"
    for key in drifts:
        assert log.changed_by(key)["actor"] == user["upn"], key
    assert log.changed_by("applePushNotificationCertificate") is None


async def test_change_log_round_trips_through_json(client, tenants, graphsim):
    tenant = tenants[0]
    [policy, *_] = await _ids(client, tenant, "configurationPolicies")
    graphsim.drift(tenant, "configurationPolicies", policy)
    log = await read_change_log(tenant, EPOCH, client=client)
    again = ChangeLog.from_dict(log.to_dict())
    assert again.changed_by(policy) == log.changed_by(policy) is not None
    assert (again.since, again.read) == (log.since, log.read)
