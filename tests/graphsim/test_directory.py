"""Groups and directoryObjects/getByIds as Graph serves them: definitions only, mail-enabled
groups other than Microsoft 365 groups never created, getByIds a read."""

from __future__ import annotations

import pytest

G = "#microsoft.graph."
GET_BY_IDS = "/v1.0/directoryObjects/getByIds"
GONE = "0b8e5e1c-5f43-4d4e-9a53-000000000001"


def _security_group(name: str = "PV Created") -> dict:
    return {"displayName": name, "mailNickname": "pvcreated", "mailEnabled": False,
            "securityEnabled": True, "groupTypes": []}


def test_groups_seed_security_mail_enabled_and_dynamic_groups(graph):
    groups = graph(0).get("/v1.0/groups").json()["value"]

    kinds = {(g["mailEnabled"], tuple(g["groupTypes"])) for g in groups}
    assert {(False, ()), (True, ()), (False, ("DynamicMembership",))} <= kinds
    dynamic = next(g for g in groups if g["groupTypes"] == ["DynamicMembership"])
    assert dynamic["membershipRule"] and dynamic["membershipRuleProcessingState"] == "On"
    assert all("members" not in g for g in groups)
    named = graph(0).get("/v1.0/groups", params={
        "$filter": f"displayName eq '{dynamic['displayName']}'"}).json()["value"]
    assert [g["id"] for g in named] == [dynamic["id"]]


@pytest.mark.parametrize("kind", [
    {"mailEnabled": True, "securityEnabled": True},  # mail-enabled security group
    {"mailEnabled": True, "securityEnabled": False},  # distribution group
])
def test_groups_mail_enabled_non_unified_group_create_is_refused_like_graph(graph, kind):
    response = graph(0).post("/v1.0/groups", json={**_security_group(), **kind})

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "Request_BadRequest"
    assert "does not currently support writes of mail-enabled groups" in error["message"]


def test_groups_security_and_microsoft_365_groups_are_created_read_only_fields_refused(graph):
    client = graph(0)
    unified = {**_security_group("PV Team"), "mailEnabled": True, "securityEnabled": False,
               "groupTypes": ["Unified"]}

    assert client.post("/v1.0/groups", json=_security_group()).status_code == 201
    assert client.post("/v1.0/groups", json=unified).status_code == 201
    missing = {k: v for k, v in _security_group().items() if k != "mailNickname"}
    assert client.post("/v1.0/groups", json=missing).status_code == 400
    assert client.post("/v1.0/groups", json={**_security_group(), "mail": "x@y"}
                       ).status_code == 400


def test_get_by_ids_returns_the_existing_groups_and_is_not_a_write(graph, graphsim):
    client = graph(0)
    group = client.get("/v1.0/groups").json()["value"][0]
    cursor = graphsim.request_cursor()

    answer = client.post(GET_BY_IDS, json={"ids": [group["id"].upper(), GONE],
                                           "types": ["group"]})

    assert answer.status_code == 200
    [found] = answer.json()["value"]
    assert (found["id"], found["@odata.type"]) == (group["id"], G + "group")
    assert client.post(GET_BY_IDS, json={"ids": [GONE], "types": ["user"]}).json()[
        "value"] == []
    assert graphsim.writes(cursor) == []


@pytest.mark.parametrize("body", [
    {"types": ["group"]}, {"ids": []}, {"ids": ["not-a-guid"]},
    {"ids": [GONE], "types": ["widget"]}, {"ids": [GONE] * 1001}, ["x"],
])
def test_get_by_ids_bad_bodies_are_graph_400(graph, body):
    assert graph(0).post(GET_BY_IDS, json=body).status_code == 400
