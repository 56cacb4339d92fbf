"""Secret properties through the catalog engine and the simulator (DESIGN §12): a masked
OMA-URI value is read in plain text with one request per secret and written back; what
Graph never returns is reported, never written as null; every output form redacts."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from local.graphsim.entra import APP_ROLES
from shared.graph import (
    comparable,
    create_item,
    fetch_snapshot,
    fetch_snapshots,
    read_collection,
    supported_type,
    update_item,
)
from shared.graph.secrets import (
    SECRET,
    redact,
    secret_values,
    secret_warnings,
    strip_secrets,
    writable,
)
from shared.graph.tokens import MsalTokenProvider
from shared.platform.codes import ErrorCode
from shared.platform.errors import GraphBadRequest
from tests.graph.conftest import graph_requests

pytestmark = pytest.mark.anyio

CONFIGS = supported_type("deviceConfigurations")
POLICIES = supported_type("configurationPolicies")
PLANTED = "planted-secret-4711"
G = "#microsoft.graph."


def _custom(name: str = "Custom with a secret", value: str = PLANTED) -> dict[str, Any]:
    return {"@odata.type": G + "windows10CustomConfiguration", "displayName": name,
            "omaSettings": [
                {"@odata.type": G + "omaSettingString", "displayName": "Pin",
                 "omaUri": "./Device/Vendor/MSFT/Policy/Config/PV/Pin", "value": value},
                {"@odata.type": G + "omaSettingInteger", "displayName": "Count",
                 "omaUri": "./Device/Vendor/MSFT/Policy/Config/PV/Count", "value": 3}],
            "assignments": []}


def _wifi() -> dict[str, Any]:
    return {"@odata.type": G + "iosWiFiConfiguration", "displayName": "Office Wi-Fi",
            "ssid": "office", "networkName": "office", "wiFiSecurityType": "wpa2Personal",
            "preSharedKey": "wifi-key-2024", "assignments": []}


def _stored(graphsim, tenant: str, object_id: str) -> dict[str, Any]:
    return next(o for o in graphsim.objects(tenant, "deviceConfigurations")
                if o["id"] == object_id)


async def test_masked_oma_value_is_read_in_plain_text_one_request_per_secret(
        client, tenants, graphsim):
    tenant = tenants[0]
    created = await create_item(tenant, CONFIGS.key, _custom(), client=client)
    cursor = graphsim.request_cursor()
    document = await fetch_snapshot(tenant, CONFIGS.key, created.id, client=client)
    pin, count = document["omaSettings"]
    assert (pin["value"], pin["isEncrypted"]) == (PLANTED, True)
    assert count["value"] == 3
    reveals = [e for e in graph_requests(graphsim, cursor, kind="graph")
               if "getOmaSettingPlainTextValue" in e["path"]]
    assert len(reveals) == 1  # one per secret, counted like any request (a $batch entry)
    assert secret_values(CONFIGS, document) == (PLANTED,)
    assert secret_warnings(CONFIGS, document) == []


async def test_a_backup_read_of_the_collection_reveals_every_secret(client, tenants):
    tenant = tenants[0]
    created = [await create_item(tenant, CONFIGS.key, _custom(f"Custom {n}", f"secret-{n}-xyz"),
                                 client=client) for n in range(3)]
    found = {r.item_id: r.document async for page in read_collection(
        tenant, CONFIGS.key, client=client) for r in page}
    assert [found[c.id]["omaSettings"][0]["value"] for c in created] == [
        "secret-0-xyz", "secret-1-xyz", "secret-2-xyz"]


async def test_restore_writes_the_plain_text_back_without_graph_managed_fields(
        client, tenants, graphsim):
    tenant = tenants[0]
    created = await create_item(tenant, CONFIGS.key, _custom(), client=client)
    snapshot = await fetch_snapshot(tenant, CONFIGS.key, created.id, client=client)
    graphsim.drift(tenant, "deviceConfigurations", created.id, patch={"omaSettings": [
        {**snapshot["omaSettings"][0], "value": "changed-in-portal"}]})
    live = await fetch_snapshot(tenant, CONFIGS.key, created.id, client=client)
    assert comparable(CONFIGS, live) != comparable(CONFIGS, snapshot)

    await update_item(tenant, CONFIGS.key, created.id, snapshot, client=client)
    assert _stored(graphsim, tenant, created.id)["omaSettings"][0]["value"] == PLANTED
    again = await create_item(tenant, CONFIGS.key, snapshot, client=client)  # a deleted one
    assert _stored(graphsim, tenant, again.id)["omaSettings"][0]["value"] == PLANTED
    restored = await fetch_snapshot(tenant, CONFIGS.key, again.id, client=client)
    assert restored["omaSettings"][0]["secretReferenceValueId"] != \
        snapshot["omaSettings"][0]["secretReferenceValueId"]
    assert comparable(CONFIGS, restored) == comparable(CONFIGS, snapshot)


async def test_without_readwrite_the_secret_stays_masked_and_is_never_written(
        make_client, settings, tenants, graphsim):
    tenant = tenants[0]
    writer = make_client()
    created = await create_item(tenant, CONFIGS.key, _custom(), client=writer)
    read_only = (*(r for r in APP_ROLES if "DeviceManagementConfiguration" not in r),
                 "DeviceManagementConfiguration.Read.All")
    graphsim.set_consent(tenant, True, roles=read_only)
    reader = make_client(tokens=MsalTokenProvider(settings.graph, settings.authority_host))
    [result] = await fetch_snapshots(tenant, CONFIGS.key, [created.id], client=reader)
    assert result.error is None
    document = result.document
    assert document["omaSettings"][0]["value"] == "****"
    [warning] = secret_warnings(CONFIGS, document)
    assert warning["code"] == ErrorCode.SECRET_NOT_CAPTURED
    assert "omaSettings[0].value" in warning["message"]
    assert "ReadWrite" in warning["message"]
    # a restore from it leaves the live value alone: the mask is never sent
    body = writable(CONFIGS, document)
    assert "value" not in body["omaSettings"][0] and body["omaSettings"][1]["value"] == 3


async def test_wifi_key_graph_never_returns_is_not_captured_and_not_erased(
        client, tenants, graphsim):
    tenant = tenants[0]
    created = await create_item(tenant, CONFIGS.key, _wifi(), client=client)
    document = await fetch_snapshot(tenant, CONFIGS.key, created.id, client=client)
    assert document["preSharedKey"] is None
    [warning] = secret_warnings(CONFIGS, document)
    assert warning["code"] == ErrorCode.SECRET_NOT_CAPTURED and "preSharedKey" in \
        warning["message"]
    await update_item(tenant, CONFIGS.key, created.id, {**document, "ssid": "office-2"},
                      client=client)
    stored = _stored(graphsim, tenant, created.id)
    assert (stored["ssid"], stored["preSharedKey"]) == ("office-2", "wifi-key-2024")
    open_network = {**_wifi(), "wiFiSecurityType": "open", "preSharedKey": None}
    assert secret_warnings(CONFIGS, open_network) == []


def test_settings_catalog_tokens_are_not_captured_and_plain_secret_values_redacted():
    def setting(value: str, state: str) -> dict[str, Any]:
        return {"id": "0", "settingInstance": {
            "@odata.type": G + "deviceManagementConfigurationSimpleSettingInstance",
            "settingDefinitionId": "x_password", "simpleSettingValue": {
                "@odata.type": G + "deviceManagementConfigurationSecretSettingValue",
                "value": value, "valueState": state}}}

    document = {"id": "p", "name": "P", "settings": [
        setting("a1b2-token", "encryptedValueToken"), setting("plain-pw-99", "notEncrypted")]}
    [warning] = secret_warnings(POLICIES, document)
    assert "settings[0].settingInstance.simpleSettingValue.value" in warning["message"]
    assert "settings[1]" not in warning["message"]
    shown = redact(POLICIES, document)
    assert [s["settingInstance"]["simpleSettingValue"]["value"] for s in shown["settings"]] \
        == [SECRET, SECRET]
    assert document["settings"][1]["settingInstance"]["simpleSettingValue"]["value"] == \
        "plain-pw-99"  # the input is left alone


def test_redact_and_strip_cover_every_secret_and_only_secrets():
    document = copy.deepcopy(_custom())
    document["omaSettings"][0].update(isEncrypted=True, secretReferenceValueId="r1")
    shown = redact(CONFIGS, document)
    assert shown["omaSettings"][0]["value"] == SECRET
    assert shown["omaSettings"][1]["value"] == 3  # an integer, not encrypted
    assert PLANTED not in str(shown) and PLANTED in str(document)
    stripped, paths = strip_secrets(CONFIGS, document)
    assert paths == ["omaSettings[0].value"]
    assert "value" not in stripped["omaSettings"][0] and PLANTED not in str(stripped)


async def test_graph_error_text_echoing_a_secret_is_scrubbed(client, tenants, graphsim):
    tenant = tenants[0]
    graphsim.add_fault("echo_body", tenant=tenant, method="POST",
                       path_prefix="/beta/deviceManagement/deviceConfigurations", count=1)
    short = {"@odata.type": G + "windows10CustomConfiguration", "displayName": "C",
             "omaSettings": [{"@odata.type": G + "omaSettingString", "value": PLANTED,
                              "isEncrypted": True}]}  # the value early in the echoed body
    with pytest.raises(GraphBadRequest) as caught:
        await create_item(tenant, CONFIGS.key, short, client=client)
    assert "omaSettingString" in str(caught.value) and "[redacted]" in str(caught.value)
    assert PLANTED not in str(caught.value) and PLANTED not in str(caught.value.to_dict())
