"""The simulator keeps secrets as Graph does: encrypted OMA-URI values read as a mask, their
plain text only through getOmaSettingPlainTextValue with the ReadWrite permission, Wi-Fi
pre-shared keys write-only."""

from __future__ import annotations

from typing import Any

import httpx

from local.graphsim.entra import APP_ROLES

CONFIGS = "/beta/deviceManagement/deviceConfigurations"
PLANTED = "<enabled/><data id='Pin' value='planted-4711'/>"
READ_ONLY = tuple(r.replace("DeviceManagementConfiguration.ReadWrite.All",
                            "DeviceManagementConfiguration.Read.All") for r in APP_ROLES)


def _custom(graph) -> dict[str, Any]:
    response = graph(0).post(CONFIGS, json={
        "@odata.type": "#microsoft.graph.windows10CustomConfiguration",
        "displayName": "Custom with a secret",
        "omaSettings": [
            {"@odata.type": "#microsoft.graph.omaSettingString", "displayName": "Pin",
             "omaUri": "./Device/Vendor/MSFT/Policy/Config/PV/Pin", "value": PLANTED,
             "isEncrypted": False},
            {"@odata.type": "#microsoft.graph.omaSettingInteger", "displayName": "Count",
             "omaUri": "./Device/Vendor/MSFT/Policy/Config/PV/Count", "value": 3},
        ]})
    assert response.status_code == 201, response.text
    return response.json()


def _plain_text(client: httpx.Client, profile_id: str, reference: str) -> httpx.Response:
    return client.get(f"{CONFIGS}/{profile_id}/getOmaSettingPlainTextValue("
                      f"secretReferenceValueId='{reference}')")


def test_string_oma_values_are_stored_encrypted_and_read_masked(graph):
    created = _custom(graph)
    for body in (created, graph(0).get(f"{CONFIGS}/{created['id']}").json(),
                 next(p for p in graph(0).get(CONFIGS).json()["value"]
                      if p["id"] == created["id"])):
        secret, number = body["omaSettings"]
        assert (secret["isEncrypted"], secret["value"]) == (True, "****")
        assert secret["secretReferenceValueId"]
        assert (number["isEncrypted"], number["value"], number["secretReferenceValueId"]) == (
            False, 3, None)
        assert PLANTED not in str(body)


def test_plain_text_comes_from_the_function_with_the_readwrite_permission(graph, graphsim,
                                                                         http, tenant_ids):
    created = _custom(graph)
    reference = created["omaSettings"][0]["secretReferenceValueId"]

    answer = _plain_text(graph(0), created["id"], reference)
    assert answer.status_code == 200, answer.text
    assert answer.json()["value"] == PLANTED

    token = graphsim.graph_token(tenant_ids[0], roles=READ_ONLY)
    refused = _plain_text(httpx.Client(base_url=graphsim.base_url,
                                       headers={"Authorization": f"Bearer {token}"}),
                          created["id"], reference)
    assert refused.status_code == 403
    assert PLANTED not in refused.text
    assert _plain_text(graph(0), created["id"], "nope").status_code == 404


def test_plain_text_is_served_inside_a_batch_one_request_each(graph, graphsim):
    created = _custom(graph)
    reference = created["omaSettings"][0]["secretReferenceValueId"]
    before = graphsim.request_cursor()
    url = (f"/deviceManagement/deviceConfigurations/{created['id']}/"
           f"getOmaSettingPlainTextValue(secretReferenceValueId='{reference}')")
    answer = graph(0).post("/beta/$batch", json={"requests": [
        {"id": "1", "method": "GET", "url": url}]})
    assert answer.json()["responses"][0]["body"]["value"] == PLANTED
    logged = [r for r in graphsim.requests(since=before) if r.get("batch")]
    assert len(logged) == 1 and "getOmaSettingPlainTextValue" in logged[0]["path"]


def test_consent_without_readwrite_makes_the_function_refuse(graph, graphsim, msal_app,
                                                            tenant_ids):
    created = _custom(graph)
    reference = created["omaSettings"][0]["secretReferenceValueId"]
    graphsim.set_consent(tenant_ids[0], True, roles=READ_ONLY)
    token = msal_app(tenant_ids[0]).acquire_token_for_client(
        ["https://graph.microsoft.com/.default"])["access_token"]
    with httpx.Client(base_url=graphsim.base_url,
                      headers={"Authorization": f"Bearer {token}"}) as client:
        assert client.get(f"{CONFIGS}/{created['id']}").status_code == 200
        assert _plain_text(client, created["id"], reference).status_code == 403


def test_a_patch_stores_a_new_secret_under_a_new_reference(graph):
    created = _custom(graph)
    old = created["omaSettings"][0]["secretReferenceValueId"]
    settings = [{k: v for k, v in s.items() if k not in ("isEncrypted",
                                                          "secretReferenceValueId")}
                for s in created["omaSettings"]]
    settings[0]["value"] = "changed-0815"
    assert graph(0).patch(f"{CONFIGS}/{created['id']}", json={
        "@odata.type": created["@odata.type"], "omaSettings": settings}).status_code == 204
    new = graph(0).get(f"{CONFIGS}/{created['id']}").json()["omaSettings"][0]
    assert new["secretReferenceValueId"] != old and new["value"] == "****"
    assert _plain_text(graph(0), created["id"],
                       new["secretReferenceValueId"]).json()["value"] == "changed-0815"


def test_wifi_pre_shared_keys_are_write_only(graph, graphsim, tenant_ids):
    response = graph(0).post(CONFIGS, json={
        "@odata.type": "#microsoft.graph.iosWiFiConfiguration", "displayName": "Office Wi-Fi",
        "ssid": "office", "networkName": "office", "wiFiSecurityType": "wpa2Personal",
        "preSharedKey": "wifi-key-2024"})
    assert response.status_code == 201
    assert response.json()["preSharedKey"] is None
    read = graph(0).get(f"{CONFIGS}/{response.json()['id']}").json()
    assert read["preSharedKey"] is None and "wifi-key-2024" not in str(read)
    [stored] = [o for o in graphsim.objects(tenant_ids[0], "deviceConfigurations")
                if o["id"] == read["id"]]
    assert stored["preSharedKey"] == "wifi-key-2024"
