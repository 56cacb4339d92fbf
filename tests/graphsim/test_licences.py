"""The simulated tenants' licences: ``subscribedSkus`` per tenant as Graph lists it, and a type
that needs a service plan answering a tenant without it 403 as its workload does — until the
control API gives the licence back, and after a reset."""

from __future__ import annotations

import json

import pytest

from local.graphsim import licences

DRIVERS = "/beta/deviceManagement/windowsDriverUpdateProfiles"
WUFB_DS = "WINDOWSUPDATEFORBUSINESS_DEPLOYMENTSERVICE"


def _plans(body: dict) -> set[str]:
    return {p["servicePlanName"] for sku in body["value"] for p in sku["servicePlans"]}


def test_subscribed_skus_list_each_tenants_own_skus_with_their_service_plans(graph, tenant_ids):
    body = graph(0).get("/v1.0/subscribedSkus").json()

    assert body["@odata.context"].endswith("$metadata#subscribedSkus")
    by_part = {sku["skuPartNumber"]: sku for sku in body["value"]}
    assert set(by_part) == {"SPE_E3", "CPC_E_2C_8GB_128GB"}
    e3 = by_part["SPE_E3"]
    assert e3["id"] == f"{tenant_ids[0]}_{e3['skuId']}"
    assert e3["capabilityStatus"] == "Enabled" and e3["prepaidUnits"]["enabled"] > 0
    assert {"INTUNE_A", "AAD_PREMIUM", WUFB_DS} <= _plans({"value": [e3]})
    assert {p["provisioningStatus"] for p in e3["servicePlans"]} == {"Success"}
    other = graph(1).get("/v1.0/subscribedSkus").json()["value"]
    assert {sku["id"].split("_")[0] for sku in other} == {tenant_ids[1]}


def test_subscribed_skus_select_keeps_only_the_named_properties(graph):
    [sku, *_] = graph(0).get("/v1.0/subscribedSkus?$select=skuPartNumber,servicePlans").json(
        )["value"]

    assert set(sku) <= {"id", "@odata.type", "skuPartNumber", "servicePlans"}
    assert sku["servicePlans"]


def test_only_every_fourth_seeded_tenant_has_no_windows_365(graphsim):
    graphsim.reset(tenants=5)
    try:
        held = [{s["skuPartNumber"] for s in graphsim.objects(tid, "subscribedSkus")}
                for tid in graphsim.tenant_ids]
    finally:
        graphsim.reset(tenants=3)

    assert [licences.WINDOWS_365 in parts for parts in held] == [True, True, True, False, True]
    assert all("SPE_E3" in parts for parts in held)


def test_a_type_whose_plan_the_tenant_lacks_answers_403_as_intune_does(graph, graphsim,
                                                                       tenant_ids):
    client = graph(0)
    assert client.get(DRIVERS).status_code == 200
    graphsim.set_licence(tenant_ids[0], "SPE_E3", held=False)
    graphsim.set_licence(tenant_ids[0], "EMS", held=True)  # Intune, but no WUfB DS

    listed = client.get(DRIVERS)
    created = client.post(DRIVERS, json={"displayName": "x"})

    assert (listed.status_code, created.status_code) == (403, 403)
    error = listed.json()["error"]
    assert error["code"] == "Forbidden"
    assert json.loads(error["message"])["Message"].startswith("An error has occurred")
    assert graph(1).get(DRIVERS).status_code == 200  # only that tenant
    assert "EMS" in {s["skuPartNumber"] for s in client.get("/v1.0/subscribedSkus").json(
        )["value"]}


def test_the_licence_given_back_or_a_reset_serves_the_type_again(graph, graphsim, http,
                                                                tenant_ids):
    client = graph(0)
    graphsim.set_licence(tenant_ids[0], "SPE_E3", held=False)
    assert client.get(DRIVERS).status_code == 403

    answer = http.put(f"/_sim/tenants/{tenant_ids[0]}/licences/SPE_E3", json={"held": True})

    assert answer.status_code == 200
    assert client.get(DRIVERS).status_code == 200
    graphsim.set_licence(tenant_ids[0], "SPE_E3", held=False)
    graphsim.reset()
    assert client.get(DRIVERS).status_code == 200


def test_unknown_skus_and_tenants_are_refused_by_the_control_api(http, tenant_ids):
    unknown_sku = http.put(f"/_sim/tenants/{tenant_ids[0]}/licences/NOPE", json={"held": True})
    unknown_tenant = http.put("/_sim/tenants/nobody/licences/SPE_E3", json={"held": True})

    assert (unknown_sku.status_code, unknown_tenant.status_code) == (400, 404)


@pytest.mark.parametrize("path", ["provisioningPolicies", "userSettings"])
def test_windows_365_without_its_licence_answers_access_denied(graph, graphsim, tenant_ids,
                                                                path):
    url = f"/beta/deviceManagement/virtualEndpoint/{path}"
    client = graph(0)
    assert client.get(url).status_code == 200
    graphsim.set_licence(tenant_ids[0], licences.WINDOWS_365, held=False)

    refused = client.get(url)

    assert refused.status_code == 403
    assert (refused.json()["error"]["code"], refused.json()["error"]["message"]) == (
        "Forbidden", "Access is denied to the requested resource.")
    assert client.get(DRIVERS).status_code == 200  # Microsoft 365 E3 still serves Intune
