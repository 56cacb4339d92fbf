"""Fault injection: each kind, matched by tenant / path / method, by count or rate."""

from __future__ import annotations

import json

import httpx
import msal
import pytest

from .conftest import GRAPH_SCOPE


@pytest.mark.parametrize("kind,status", [("500", 500), ("502", 502), ("503", 503),
                                         ("504", 504)])
def test_status_faults_answer_graph_errors(graph, graphsim, kind, status):
    client = graph(0)
    graphsim.add_fault(kind, path_prefix="/groups", count=1)
    response = client.get("/v1.0/groups")
    assert response.status_code == status
    assert response.json()["error"]["innerError"]["request-id"]
    if status == 503:
        assert response.headers["Retry-After"] == "1"
    assert client.get("/v1.0/groups").status_code == 200


def test_custom_status_fault_with_retry_after(graph, graphsim):
    graphsim.add_fault("status", status=429, retry_after=7, count=1)
    response = graph(0).get("/v1.0/groups")
    assert response.status_code == 429 and response.headers["Retry-After"] == "7"


def test_drop_closes_connection_without_response(graph, graphsim):
    client = graph(0)
    graphsim.add_fault("drop", path_prefix="/v1.0/groups", count=1)
    with pytest.raises(httpx.RemoteProtocolError):
        client.get("/v1.0/groups")
    assert client.get("/v1.0/groups").status_code == 200


def test_malformed_answers_200_with_invalid_json(graph, graphsim):
    graphsim.add_fault("malformed", count=1)
    response = graph(0).get("/v1.0/groups")
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        response.json()


def test_slow_delays_then_answers_normally(graph, graphsim):
    rule_id = graphsim.add_fault("slow", delay_ms=50, count=1)
    assert graph(0).get("/v1.0/groups").status_code == 200
    assert next(f for f in graphsim.faults() if f["id"] == rule_id)["fired"] == 1


def test_echo_auth_leaks_authorization_and_secret_in_body(graph, graphsim):
    client = graph(0)
    graphsim.add_fault("echo_auth", count=1)
    response = client.get("/v1.0/groups")
    assert response.status_code == 500
    assert client.headers["Authorization"] in response.text
    assert graphsim.client_secret in response.text


def test_faults_scoped_by_tenant_and_method(graph, graphsim):
    graphsim.add_fault("503", tenant=graphsim.tenant_ids[1], method="POST")
    assert graph(1).get("/v1.0/groups").status_code == 200
    assert graph(0).post("/beta/deviceManagement/roleScopeTags",
                         json={"displayName": "t"}).status_code == 201
    assert graph(1).post("/beta/deviceManagement/roleScopeTags",
                         json={"displayName": "t"}).status_code == 503
    assert graphsim.clear_faults() == 1
    assert graph(1).post("/beta/deviceManagement/roleScopeTags",
                         json={"displayName": "t"}).status_code == 201


def test_rate_is_seeded_and_partial(graph, graphsim):
    graphsim.add_fault("500", rate=0.5)
    client = graph(0)
    statuses = [client.get("/v1.0/groups").status_code for _ in range(40)]
    assert 0 < statuses.count(500) < 40


def test_token_endpoint_faults_reach_msal(graphsim, msal_app, tenant_ids):
    graphsim.add_fault("503", path_prefix=f"/{tenant_ids[0]}/oauth2", count=1, target="entra")
    app = msal_app(tenant_ids[0])
    with pytest.raises(msal.exceptions.MsalServiceError):
        app.acquire_token_for_client(GRAPH_SCOPE)
    # MSAL remembers a 5xx for this app object and does not ask again for a while ...
    with pytest.raises(msal.exceptions.MsalServiceError):
        app.acquire_token_for_client(GRAPH_SCOPE)
    token_calls = [e for e in graphsim.requests() if e["path"].endswith("/token")]
    assert [e["status"] for e in token_calls] == [503]
    # ... while a fresh application object gets a token.
    assert "access_token" in msal_app(tenant_ids[0]).acquire_token_for_client(GRAPH_SCOPE)


def test_entra_echo_auth_fault_leaks_secret(graphsim, http, tenant_ids):
    graphsim.add_fault("echo_auth", target="entra", method="POST", count=1)
    response = http.post(f"/{tenant_ids[0]}/oauth2/v2.0/token", data={
        "grant_type": "client_credentials", "client_id": graphsim.client_id,
        "client_secret": graphsim.client_secret, "scope": GRAPH_SCOPE[0]})
    assert response.status_code == 500
    assert graphsim.client_secret in response.text


def test_graph_rules_leave_entra_alone(graphsim, msal_app, tenant_ids):
    graphsim.add_fault("500")
    assert "access_token" in msal_app(tenant_ids[0]).acquire_token_for_client(GRAPH_SCOPE)


def test_fault_control_endpoints(http):
    added = http.post("/_sim/faults", json={"kind": "504", "path_prefix": "/groups"})
    assert added.status_code == 201
    rule_id = added.json()["id"]
    assert [f["id"] for f in http.get("/_sim/faults").json()] == [rule_id]
    assert http.post("/_sim/faults", json={"kind": "explode"}).status_code == 400
    assert http.delete(f"/_sim/faults/{rule_id}").json() == {"removed": 1}
    assert http.get("/_sim/faults").json() == []


def test_batch_sub_request_faults(graph, graphsim):
    graphsim.add_fault("503", path_prefix="/groups", count=1)
    requests = [{"id": "1", "method": "GET", "url": "/groups"},
                {"id": "2", "method": "GET", "url": "/groups"}]
    results = graph(0).post("/v1.0/$batch", json={"requests": requests}).json()["responses"]
    assert [r["status"] for r in results] == [503, 200]
    assert results[0]["headers"]["Retry-After"] == "1"
