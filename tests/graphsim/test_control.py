"""The /_sim control API and determinism from the seed."""

from __future__ import annotations

from local.graphsim.store import Store

SC = "/beta/deviceManagement/configurationPolicies"


def test_tenants_endpoint_lists_credentials(http, graphsim):
    tenants = http.get("/_sim/tenants").json()
    assert len(tenants) == 3
    assert {"id", "display_name", "client_id", "client_secret"} <= set(tenants[0])
    assert tenants[0]["client_secret"] == graphsim.client_secret
    info = http.get("/_sim/info").json()
    assert info["bundle_file"] == graphsim.bundle_file
    assert info["caller_jwks_url"] == graphsim.caller_jwks_url


def test_same_seed_same_data_other_seed_other_data():
    a, b, c = Store(seed=5, tenant_count=2), Store(seed=5, tenant_count=2), \
        Store(seed=6, tenant_count=2)
    assert list(a.tenants) == list(b.tenants) != list(c.tenants)
    ta = next(iter(a.tenants))
    assert a.snapshot(ta, "configurationPolicies") == b.snapshot(ta, "configurationPolicies")


def test_request_log_since_cursor_and_clear(graph, http, graphsim):
    client = graph(0)
    client.get("/v1.0/groups")
    cursor = http.get("/_sim/requests").json()["cursor"]
    client.post("/beta/deviceManagement/roleScopeTags", json={"displayName": "x"})
    newer = http.get("/_sim/requests", params={"since": cursor}).json()["value"]
    assert [(e["method"], e["is_write"], e["tenant"]) for e in newer] == \
        [("POST", True, graphsim.tenant_ids[0])]
    assert {"time", "tenant", "method", "path", "status", "is_write"} <= set(newer[0])
    assert http.delete("/_sim/requests").status_code == 204
    assert http.get("/_sim/requests").json()["value"] == []


def test_stats_count_requests_and_writes_per_tenant(graph, http, graphsim):
    client = graph(1)
    client.get("/v1.0/groups")
    client.post("/beta/deviceManagement/roleScopeTags", json={"displayName": "x"})
    stats = http.get("/_sim/stats").json()[graphsim.tenant_ids[1]]
    assert stats["requests"] == 2 and stats["writes"] == 1 and stats["throttled"] == 0
    assert stats["token_requests"] == 1


def test_reset_regenerates_data_and_clears_state(graph, http, graphsim):
    client = graph(0)
    created = client.post("/beta/deviceManagement/roleScopeTags",
                          json={"displayName": "x"}).json()
    graphsim.add_fault("500", path_prefix="/nothing")
    assert http.post("/_sim/reset", json={}).status_code == 200
    assert client.get(f"/beta/deviceManagement/roleScopeTags/{created['id']}").status_code == 404
    assert graphsim.faults() == []


def test_drift_modify_delete_reassign(graph, http, graphsim, tenant_ids):
    client = graph(0)
    policies = client.get(SC).json()["value"]
    first, second, third = (p["id"] for p in policies[:3])
    body = {"tenant_id": tenant_ids[0], "collection": "deviceManagement/configurationPolicies",
            "id": first, "op": "modify", "patch": {"description": "changed in portal"}}
    assert http.post("/_sim/drift", json=body).status_code == 200
    after = client.get(f"{SC}/{first}").json()
    assert after["description"] == "changed in portal"
    assert after["lastModifiedDateTime"] != policies[0]["lastModifiedDateTime"]
    graphsim.drift(tenant_ids[0], "configurationPolicies", second, "delete")
    assert client.get(f"{SC}/{second}").status_code == 404
    before = client.get(f"{SC}/{third}/assignments").json()["value"]
    graphsim.drift(tenant_ids[0], "configurationPolicies", third, "reassign")
    after_assign = client.get(f"{SC}/{third}/assignments").json()["value"]
    assert after_assign != before and len(after_assign) == 1
    assert graphsim.writes() == []  # drift is out of band: no Graph writes logged
    missing = dict(body, id="nope")
    assert http.post("/_sim/drift", json=missing).status_code == 404


def test_objects_endpoint_returns_navigations_inline(http, tenant_ids):
    path = f"/_sim/objects/{tenant_ids[0]}/deviceManagement/configurationPolicies"
    objects = http.get(path).json()["value"]
    assert objects and "settings" in objects[0] and "assignments" in objects[0]
    assert http.get(f"/_sim/objects/{tenant_ids[0]}/nope").status_code == 404


def test_consent_endpoint(http, tenant_ids, graphsim):
    assert http.put(f"/_sim/tenants/{tenant_ids[0]}/consent",
                    json={"consented": False}).status_code == 200
    assert graphsim.tenants()[0]["consented"] is False


def test_latency_and_jitter_stay_within_bounds(graphsim, graph):
    graphsim.set_latency(5, 10)
    delays = [graphsim.state.latency_s() for _ in range(200)]
    assert all(0.005 <= d <= 0.015 for d in delays)
    assert graph(0).get("/v1.0/groups").status_code == 200
    graphsim.set_latency(0, 0)
    assert graphsim.state.latency_s() == 0.0


def test_graph_token_helper_mints_usable_token(graphsim, http, tenant_ids):
    token = graphsim.graph_token(tenant_ids[1])
    response = http.get("/v1.0/groups", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert graphsim.requests()[-1]["tenant"] == tenant_ids[1]
