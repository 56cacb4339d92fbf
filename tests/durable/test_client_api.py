"""The durable client API: start semantics, status, list, terminate, purge, bad input."""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from azure.durable_functions import OrchestrationRuntimeStatus

from local.host.durable.history import ET
from tests.durable.harness import Hub

RS = OrchestrationRuntimeStatus


def test_start_returns_management_payload_and_status_codes(hub: Hub) -> None:
    response = hub.start("approval", instance_id="mgmt-1")
    assert response.status_code == 202
    body = response.json()
    assert body["id"] == "mgmt-1"
    assert body["statusQueryGetUri"].startswith(f"{hub.base}/runtime/webhooks/durabletask/"
                                                "instances/mgmt-1?")
    assert response.headers["Location"] == body["statusQueryGetUri"]
    running = hub.http.get(body["statusQueryGetUri"])
    assert running.status_code == 202 and running.headers["Retry-After"] == "5"
    hub.call(hub.client().raise_event("mgmt-1", "approve", 1))
    hub.wait("mgmt-1")
    assert hub.http.get(body["statusQueryGetUri"]).status_code == 200


def test_eight_concurrent_starts_with_one_id_produce_one_execution(hub: Hub) -> None:
    instance = f"dup-{uuid.uuid4().hex[:8]}"
    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda _: hub.start("wait_forever", instance_id=instance)
                              .status_code, range(8)))
    assert sorted(codes) == [202] + [409] * 7
    hub.wait_for(lambda: (s := hub.status(instance)) and s["runtimeStatus"] == "Running",
                 what="running")
    started = [e for e in hub.history(instance) if e["EventType"] == ET.EXECUTION_STARTED]
    assert len(started) == 1


def test_start_replaces_a_completed_instance_but_not_a_running_one(hub: Hub) -> None:
    hub.start_id("fan_out", {"n": 2}, instance_id="again")
    assert hub.wait("again")["output"]["sum"] == 2
    hub.start_id("fan_out", {"n": 3}, instance_id="again")
    assert hub.wait("again")["output"]["sum"] == 6
    hub.start_id("wait_forever", instance_id="busy")
    assert hub.start("fan_out", {"n": 1}, instance_id="busy").status_code == 409


def test_terminate_stops_a_running_instance(hub: Hub) -> None:
    instance = hub.start_id("wait_forever")
    hub.wait_for(lambda: (s := hub.status(instance)) and s["customStatus"] == "waiting",
                 what="waiting")
    client = hub.client()
    hub.call(client.terminate(instance, "operator said so"))
    done = hub.wait(instance)
    assert done["runtimeStatus"] == "Terminated"
    assert done["output"] == "operator said so"
    assert hub.rpc("POST", f"/instances/{instance}/terminate").status_code == 410
    status = hub.call(client.get_status(instance))
    assert status.runtime_status == RS.Terminated


def test_purge_single_instance_and_by_filter(hub: Hub) -> None:
    first = hub.start_id("fan_out", {"n": 1})
    second = hub.start_id("fan_out", {"n": 1})
    running = hub.start_id("wait_forever")
    hub.wait(first), hub.wait(second)
    client = hub.client()
    assert hub.rpc("DELETE", f"/instances/{running}").status_code == 412
    assert hub.call(client.purge_instance_history(first)).instances_deleted == 1
    assert hub.status(first) is None
    assert hub.rpc("DELETE", f"/instances/{first}").status_code == 404
    since = datetime.now(UTC) - timedelta(hours=1)
    result = hub.call(client.purge_instance_history_by(
        created_time_from=since, runtime_status=[RS.Completed]))
    assert result.instances_deleted == 1
    assert hub.status(second) is None
    assert hub.status(running)["runtimeStatus"] == "Running"
    instances, history = hub.count_rows()
    assert instances == 1 and history > 0


def test_list_instances_filters_and_pages_with_continuation_token(hub: Hub) -> None:
    ids = [hub.start_id("fan_out", {"n": 1}, instance_id=f"page-{i}") for i in range(5)]
    for instance in ids:
        hub.wait(instance)
    hub.start_id("wait_forever", instance_id="other-1")
    hub.wait_for(lambda: hub.status("other-1")["runtimeStatus"] == "Running", what="running")
    seen, token = [], None
    while True:
        headers = {"x-ms-continuation-token": token} if token else {}
        response = hub.rpc("GET", "/instances/", headers=headers,
                           params={"top": "2", "instanceIdPrefix": "page-",
                                   "runtimeStatus": "Completed"})
        assert response.status_code == 200
        seen += [item["instanceId"] for item in response.json()]
        token = response.headers.get("x-ms-continuation-token")
        if not token:
            break
    assert sorted(seen) == sorted(ids)
    statuses = hub.call(hub.client().get_status_by(runtime_status=[RS.Running]))
    assert [s.instance_id for s in statuses] == ["other-1"]


def test_status_shows_history_input_and_output_on_request(hub: Hub) -> None:
    instance = hub.start_id("fan_out", {"n": 2})
    hub.wait(instance)
    body = hub.status(instance, showHistory="true", showHistoryOutput="true")
    kinds = [e["EventType"] for e in body["historyEvents"]]
    assert kinds[0] == "ExecutionStarted" and kinds[-1] == "ExecutionCompleted"
    assert kinds.count("TaskScheduled") == 2 and kinds.count("TaskCompleted") == 2
    assert json.loads(body["input"]) == {"n": 2}
    assert "input" in hub.status(instance, showInput="false")


def test_bad_requests_are_refused_and_write_nothing(hub: Hub) -> None:
    bad = [
        hub.rpc("POST", "/orchestrators/no_such_orchestrator", json=1),
        hub.rpc("POST", "/orchestrators/fan_out/abc", data=b"{not json",
                headers={"Content-Type": "application/json"}),
        hub.rpc("POST", "/orchestrators/fan_out/abc", data=b"\xff\xfe",
                headers={"Content-Type": "application/json"}),
        hub.rpc("POST", "/orchestrators/fan_out/" + "x" * 300, json=1),
        hub.rpc("POST", "/orchestrators/fan_out/bad%23id", json=1),
        hub.rpc("GET", "/instances/", params={"top": "zero"}),
        hub.rpc("GET", "/instances/", params={"createdTimeFrom": "yesterday"}),
        hub.rpc("GET", "/instances/", params={"runtimeStatus": "Sleeping"}),
        hub.rpc("GET", "/instances/", headers={"x-ms-continuation-token": "%%%"}),
        hub.rpc("DELETE", "/instances/"),
    ]
    assert [r.status_code for r in bad] == [400] * len(bad), [r.text for r in bad]
    assert "doesn't exist" in bad[0].json()["ExceptionMessage"]
    unknown = [
        hub.rpc("GET", "/instances/nobody"),
        hub.rpc("POST", "/instances/nobody/terminate"),
        hub.rpc("POST", "/instances/nobody/raiseEvent/go", json=1),
        hub.rpc("DELETE", "/instances/nobody"),
    ]
    assert [r.status_code for r in unknown] == [404] * 4
    instance = hub.start_id("wait_forever")
    wrong_type = hub.rpc("POST", f"/instances/{instance}/raiseEvent/go", data=b"1",
                         headers={"Content-Type": "text/plain"})
    bad_json = hub.rpc("POST", f"/instances/{instance}/raiseEvent/go", data=b"{",
                       headers={"Content-Type": "application/json"})
    assert (wrong_type.status_code, bad_json.status_code) == (400, 400)
    assert hub.count_rows()[0] == 1
    assert hub.call(hub.client().get_status("nobody")).runtime_status is None
