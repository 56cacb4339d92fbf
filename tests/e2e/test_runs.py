"""Runs as an MSP engineer sees them: idempotent starts, outcomes, notifications, versions."""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor

INSTANCES = "PolicyVaultInstances"  # the task hub's instance table (host.json hubName)


def _policy(sim, tenant_id: str) -> dict:
    return sim.objects(tenant_id, "configurationPolicies")[1]


def _versions(admin, tenant_id: str, policy: dict) -> list[dict]:
    """The policy's versions, newest first (the session's storage keeps earlier tests' too)."""
    return list(admin.pages(
        f"/api/tenants/{tenant_id}/policies/configurationPolicies/{policy['id']}/versions"))


def test_capturing_an_unchanged_policy_again_stores_no_new_blob_or_version(admin, sim, stack,
                                                                          tenant_id):
    policy = _policy(sim, tenant_id)
    first = admin.wait(admin.capture(tenant_id, "configurationPolicies", policy["id"]))
    blobs_after_first = stack.blobs("snapshots")
    versions_after_first = _versions(admin, tenant_id, policy)

    second = admin.wait(admin.capture(tenant_id, "configurationPolicies", policy["id"]))

    assert second["run_id"] != first["run_id"]
    assert second["status"] == "succeeded"
    [item] = admin.items(tenant_id, second["run_id"])
    assert item["action"] == "unchanged"
    assert stack.blobs("snapshots") == blobs_after_first
    assert _versions(admin, tenant_id, policy) == versions_after_first
    stored = admin.backup_set(tenant_id, second["backup_set_id"])["items"][0]
    assert stored["sha256"] in {v["sha256"] for v in versions_after_first}


def test_a_changed_policy_gets_a_new_version_newest_first(admin, sim, tenant_id):
    policy = _policy(sim, tenant_id)
    admin.wait(admin.capture(tenant_id, "configurationPolicies", policy["id"]))
    before = _versions(admin, tenant_id, policy)
    sim.drift(tenant_id, "configurationPolicies", policy["id"],
              patch={"description": f"changed by a customer admin {uuid.uuid4()}"})

    second = admin.wait(admin.capture(tenant_id, "configurationPolicies", policy["id"]))

    [item] = admin.items(tenant_id, second["run_id"])
    assert item["action"] == "captured"
    after = _versions(admin, tenant_id, policy)
    assert after[1:] == before
    assert after[0]["backup_set_id"] == second["backup_set_id"]
    assert after[0]["sha256"] != before[0]["sha256"]


def test_fifty_identical_requests_make_one_run_and_one_orchestration(admin, sim, stack,
                                                                    tenant_id):
    policy = _policy(sim, tenant_id)
    sim.set_latency(300)  # the run stays in flight while the requests arrive
    instances_before = {r["PartitionKey"] for r in stack.entities(INSTANCES)}

    with ThreadPoolExecutor(50) as pool:
        responses = list(pool.map(
            lambda _: admin.capture(tenant_id, "configurationPolicies", policy["id"]),
            range(50)))

    assert {r.status_code for r in responses} == {202}
    bodies = [r.json() for r in responses]
    assert len({b["run_id"] for b in bodies}) == 1
    assert sorted(b["reused"] for b in bodies) == [False] + [True] * 49
    new_instances = {r["PartitionKey"] for r in stack.entities(INSTANCES)} - instances_before
    assert len(new_instances) == 1
    runs = list(admin.pages(f"/api/tenants/{tenant_id}/runs", run_type="capture_snapshot"))
    assert [r["run_id"] for r in runs].count(bodies[0]["run_id"]) == 1

    finished = admin.wait(bodies[0])
    again = admin.capture(tenant_id, "configurationPolicies", policy["id"])

    assert finished["status"] == "succeeded"
    assert again.status_code == 202
    assert again.json()["reused"] is False
    assert again.json()["run_id"] != finished["run_id"]
    admin.wait(again)


def test_an_idempotency_key_returns_the_same_run_even_after_it_finished(admin, sim, tenant_id):
    policy = _policy(sim, tenant_id)
    key = f"logic-app-{uuid.uuid4()}"
    first = admin.wait(admin.capture(tenant_id, "configurationPolicies", policy["id"],
                                     idempotency_key=key))

    retry = admin.capture(tenant_id, "configurationPolicies", policy["id"],
                          idempotency_key=key)
    other_policy = sim.objects(tenant_id, "configurationPolicies")[2]
    misuse = admin.capture(tenant_id, "configurationPolicies", other_policy["id"],
                           idempotency_key=key)

    assert retry.status_code == 202
    assert (retry.json()["run_id"], retry.json()["reused"]) == (first["run_id"], True)
    assert misuse.status_code == 422
    assert misuse.json()["code"] == "idempotency_key_reused"


def test_a_policy_that_no_longer_exists_fails_the_run_with_graph_not_found(admin, tenant_id):
    missing = str(uuid.uuid4())

    run = admin.wait(admin.capture(tenant_id, "configurationPolicies", missing))

    assert run["status"] == "failed"
    assert run["error"]["code"] == "graph_not_found"
    [item] = admin.items(tenant_id, run["run_id"])
    assert (item["status"], item["error"]["code"]) == ("failed", "graph_not_found")
    sets = admin.pages(f"/api/tenants/{tenant_id}/backups")
    assert run["run_id"] not in [s["run_id"] for s in sets]  # nothing captured, no set


def test_a_tenant_without_a_token_fails_the_run_with_auth_failed(admin, sim):
    unknown_to_entra = str(uuid.uuid4())
    admin.register_tenant(unknown_to_entra, "Customer that left")

    run = admin.wait(admin.capture(unknown_to_entra, "configurationPolicies",
                                   str(uuid.uuid4())))

    assert run["status"] == "failed"
    assert run["error"]["code"] == "auth_failed"
    [item] = admin.items(unknown_to_entra, run["run_id"])
    assert item["error"]["code"] == "auth_failed"


def test_every_status_change_notifies_the_requester_once(admin, stack, sim, tenant_id):
    policy = _policy(sim, tenant_id)
    stack.drain_queue("run-events")

    run = admin.wait(admin.capture(tenant_id, "configurationPolicies", policy["id"]))

    notes = [n for n in admin.notifications() if n["run_id"] == run["run_id"]]
    assert sorted(n["status"] for n in notes) == ["running", "succeeded"]
    assert len({n["notification_id"] for n in notes}) == 2
    done = next(n for n in notes if n["status"] == "succeeded")
    assert done["link"].endswith(f"/api/tenants/{tenant_id}/runs/{run['run_id']}")
    events = [json.loads(m) for m in stack.drain_queue("run-events")]
    mine = [e for e in events if e["run_id"] == run["run_id"]]
    assert sorted(e["event_id"] for e in mine) == sorted(n["notification_id"] for n in notes)

    admin.ok("POST", f"/api/notifications/{done['notification_id']}/read")
    unread = [n["notification_id"] for n in admin.notifications(unread=True)]
    assert done["notification_id"] not in unread


def test_another_engineer_does_not_see_my_notifications(admin, stack, sim, tenant_id):
    policy = _policy(sim, tenant_id)
    run = admin.wait(admin.capture(tenant_id, "configurationPolicies", policy["id"]))
    mine = next(n for n in admin.notifications() if n["run_id"] == run["run_id"])

    with stack.api(f"other-{uuid.uuid4().hex[:8]}", ["Platform.Admin"]) as other:
        assert all(n["run_id"] != run["run_id"] for n in other.notifications())
        refused = other.request("POST", f"/api/notifications/{mine['notification_id']}/read")
    assert refused.status_code == 404


def test_starting_a_run_answers_before_graph_does(admin, sim, tenant_id):
    policy = _policy(sim, tenant_id)
    sim.set_latency(4000)  # every Graph and Entra answer takes seconds
    cursor = sim.request_cursor()

    started = admin.capture(tenant_id, "configurationPolicies", policy["id"])

    assert started.status_code == 202
    assert sim.requests(since=cursor) == []  # Graph has answered nothing yet
    assert admin.run(tenant_id, started.json()["run_id"]).status_code == 202
    sim.set_latency(0)
    assert admin.wait(started)["status"] == "succeeded"


def test_runs_list_filters_and_pages(admin, sim, tenant_id):
    policies = sim.objects(tenant_id, "configurationPolicies")[:3]
    for policy in policies:
        admin.wait(admin.capture(tenant_id, "configurationPolicies", policy["id"]))

    first = admin.ok("GET", f"/api/tenants/{tenant_id}/runs",
                     params={"run_type": "capture_snapshot", "status": "succeeded", "top": 2})
    everything = list(admin.pages(f"/api/tenants/{tenant_id}/runs",
                                  run_type="capture_snapshot", top=2))

    assert len(first["value"]) == 2 and first["continuation"]
    assert len(everything) >= 3
    created = [r["created_at"] for r in everything]
    assert created == sorted(created, reverse=True)
    assert {r["run_type"] for r in everything} == {"capture_snapshot"}
