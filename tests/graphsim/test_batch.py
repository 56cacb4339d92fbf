"""$batch: up to 20 requests, each answered with its own id, status, headers and body."""

from __future__ import annotations

SC = "/deviceManagement/configurationPolicies"


def test_batch_answers_each_request_with_its_own_status(graph, graphsim):
    client = graph(0)
    requests = [{"id": "1", "method": "GET", "url": SC + "?$top=2"},
                {"id": "2", "method": "GET", "url": "deviceManagement/notAThing"},
                {"id": "3", "method": "POST", "url": "/deviceManagement/roleScopeTags",
                 "headers": {"Content-Type": "application/json"},
                 "body": {"displayName": "From batch"}},
                {"id": "4", "method": "GET", "url": SC + "/00000000-0000-0000-0000-000000000000"}]
    response = client.post("/beta/$batch", json={"requests": requests})
    assert response.status_code == 200
    by_id = {r["id"]: r for r in response.json()["responses"]}
    assert by_id["1"]["status"] == 200 and len(by_id["1"]["body"]["value"]) == 2
    assert by_id["1"]["body"]["@odata.nextLink"].startswith(graphsim.base_url + "/beta/")
    assert by_id["2"]["status"] == 400
    assert by_id["3"]["status"] == 201 and by_id["3"]["body"]["displayName"] == "From batch"
    assert by_id["4"]["status"] == 404
    assert all(r["headers"].get("request-id") for r in by_id.values())
    writes = graphsim.writes()
    assert [(w["method"], w["batch"]) for w in writes] == [("POST", True)]


def test_batch_of_more_than_20_is_rejected(graph):
    requests = [{"id": str(i), "method": "GET", "url": "/groups"} for i in range(21)]
    response = graph(0).post("/v1.0/$batch", json={"requests": requests})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "BadRequest"
    ok = graph(0).post("/v1.0/$batch", json={"requests": requests[:20]})
    assert ok.status_code == 200 and len(ok.json()["responses"]) == 20


def test_batch_malformed_payloads_are_400(graph):
    client = graph(0)
    assert client.post("/v1.0/$batch", json={"nope": []}).status_code == 400
    assert client.post("/v1.0/$batch", json={"requests": []}).status_code == 400
    dup = [{"id": "1", "method": "GET", "url": "/groups"}] * 2
    assert client.post("/v1.0/$batch", json={"requests": dup}).status_code == 400
    assert client.post("/v1.0/$batch", content=b"{oops").status_code == 400


def test_batch_absolute_urls_bodies_without_content_type_and_depends_on(graph):
    client = graph(0)
    requests = [{"id": "a", "method": "GET", "url": "https://graph.microsoft.com/v1.0/groups"},
                {"id": "b", "method": "POST", "url": "/groups", "body": {"displayName": "x"}},
                {"id": "c", "method": "GET", "url": "/groups", "dependsOn": ["a"]}]
    by_id = {r["id"]: r for r in
             client.post("/v1.0/$batch", json={"requests": requests}).json()["responses"]}
    assert by_id["a"]["status"] == 400
    assert by_id["b"]["status"] == 400
    assert by_id["c"]["status"] == 424


def test_batch_requires_a_token(http):
    response = http.post("/v1.0/$batch", json={"requests": []})
    assert response.status_code == 401
