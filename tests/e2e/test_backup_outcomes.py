"""What a tenant backup reports when Graph misbehaves: transient faults and throttling are
absorbed, a policy deleted mid-run fails only itself, a type Graph does not serve in the
tenant is skipped and warned of (the run succeeds) — so is one whose workload answers 403 in a
tenant without its licence, the tenant's ``subscribedSkus`` showing none —, a type the app may
not read is skipped and makes the run partial; counters grow while the run runs; the start API
validates its input."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator

import pytest

from local.api_client import PolicyVaultClient
from local.graphsim import Limits
from local.stack import Stack
from orchestrators.backup_tenant import SLICE_SIZE
from shared.graph import SUPPORTED_KEYS
from tests.e2e.backup_support import (
    HUB,
    RuntimeProcess,
    estate,
    private_runtime,
    register_tenants,
    run_events,
    wait_until,
)

ZERO = {"total": 0, "processed": 0, "succeeded": 0, "failed": 0, "skipped": 0}


@pytest.fixture(scope="module")
def runtime(stack: Stack, tmp_path_factory) -> Iterator[RuntimeProcess]:
    """The module's own runtime and storage prefix, every simulator tenant registered."""
    with private_runtime(stack.sim, stack.storage_connection,
                         tmp_path_factory.mktemp("outcomes")) as running:
        with running.client("registrar") as client:
            register_tenants(client, stack.sim)
        yield running


@pytest.fixture
def admin(runtime: RuntimeProcess, sim) -> Iterator[PolicyVaultClient]:
    """A Platform.Admin of the module's runtime (a fresh engineer per test)."""
    with runtime.client(f"admin-{uuid.uuid4().hex[:8]}") as client:
        yield client


def test_backup_absorbs_transient_faults_and_throttling_with_no_failed_items(
        admin, sim, tenant_id):
    # The Intune per-tenant limits, shrunk from 1000 per 20 s to 8 per 2 s so a small
    # tenant still hits them; about 10 % of Graph calls (and $batch entries) answer 5xx.
    sim.set_limits(Limits(window_s=2, tenant_requests=16, app_requests=8,
                          tenant_writes=6, app_writes=3))
    for kind in ("502", "503", "504"):
        sim.add_fault(kind, rate=0.035)

    run = admin.wait(admin.backup(tenant_id), timeout=280)

    stats = sim.stats()[tenant_id]
    assert stats["throttled"] > 0 and stats["errors"] > 0  # the faults really happened
    items = admin.items(tenant_id, run["run_id"])
    assert run["status"] == "succeeded", run
    assert [i for i in items if i["status"] != "succeeded"] == []
    assert {(i["policy_type"], i["policy_id"]) for i in items} == set(estate(sim, tenant_id))
    assert run["counts"] == {**ZERO, "total": len(items), "processed": len(items),
                             "succeeded": len(items)}


def test_a_policy_deleted_between_list_and_fetch_fails_only_that_item(admin, sim, tenant_id):
    # Scripts need an item GET for their body (the list leaves it out). Hold the victim's GET
    # inside its $batch until the test has deleted it: the list already returned it, the
    # fetch then finds it gone — as when an admin deletes it in the portal while the backup
    # runs.
    victim = sim.objects(tenant_id, "deviceManagementScripts")[0]["id"]
    sim.add_fault("slow", path_prefix=f"/deviceManagement/deviceManagementScripts/{victim}",
                  method="GET", count=1, delay_ms=4000)
    expected = estate(sim, tenant_id)

    started = admin.backup(tenant_id)
    wait_until(lambda: sim.faults()[0]["fired"] == 1, 60, "the victim's fetch")
    sim.drift(tenant_id, "deviceManagementScripts", victim, op="delete")
    run = admin.wait(started)

    assert run["status"] == "partial"
    assert run["error"]["code"] == "graph_not_found"
    items = admin.items(tenant_id, run["run_id"])
    failed = [i for i in items if i["status"] != "succeeded"]
    assert [(i["policy_id"], i["status"], i["error"]["code"]) for i in failed] == [
        (victim, "failed", "graph_not_found")]
    assert {(i["policy_type"], i["policy_id"]) for i in items} == set(expected)
    assert run["counts"] == {**ZERO, "total": len(expected), "processed": len(expected),
                             "succeeded": len(expected) - 1, "failed": 1}
    backup_set = admin.backup_set(tenant_id, run["backup_set_id"])
    assert backup_set["item_count"] == len(backup_set["items"]) == len(expected) - 1
    assert victim not in {i["policy_id"] for i in backup_set["items"]}


REFUSED = "windowsDriverUpdateProfiles"


def _refuse_type(sim, tenant_id: str, status: int) -> dict:
    """Graph refuses the type's collection itself with ``status`` (for 400 as Intune answers
    a tenant without the licence); returns the estate minus that type."""
    sim.add_fault("status", status=status, method="GET", tenant=tenant_id,
                  path_prefix=f"/deviceManagement/{REFUSED}")
    return {k: v for k, v in estate(sim, tenant_id).items() if k[0] != REFUSED}


def _skipped_types(items: list[dict]) -> list[tuple[str, str, str, str, str]]:
    return [(i["policy_type"], i["policy_id"], i["action"], i["status"], i["error"]["code"])
            for i in items if i["status"] != "succeeded"]


def _final_notice(admin, runtime, run: dict) -> tuple[dict, dict]:
    """The requester's notification of the run's final status and its ``run-events``
    message (written just after the run turns terminal)."""
    note = wait_until(lambda: next((n for n in admin.notifications()
                                    if n["run_id"] == run["run_id"]
                                    and n["status"] == run["status"]), None),
                      30, "the final notification")
    events = run_events(runtime.connection, f"{runtime.prefix}run-events")
    [event] = [e for e in events if e["run_id"] == run["run_id"]
               and e["status"] == run["status"]]
    return note, event


@pytest.mark.parametrize("status", [400, 404])
def test_a_type_graph_does_not_serve_is_skipped_and_the_run_succeeds_warning_of_it(
        admin, sim, runtime, tenant_id, status):
    readable = _refuse_type(sim, tenant_id, status)

    run = admin.wait(admin.backup(tenant_id))

    assert (run["status"], run["error"]) == ("succeeded", None), run
    [warning] = run["warnings"]
    assert (warning["code"], warning["policy_type"]) == ("not_available", REFUSED)
    assert f"HTTP {status}" in warning["message"]
    items = admin.items(tenant_id, run["run_id"])
    assert _skipped_types(items) == [(REFUSED, "*", "skipped", "skipped", "not_available")]
    assert {(i["policy_type"], i["policy_id"]) for i in items if i["policy_id"] != "*"} \
        == set(readable)
    assert run["counts"] == {**ZERO, "total": len(readable) + 1,
                             "processed": len(readable) + 1, "succeeded": len(readable),
                             "skipped": 1}
    assert admin.backup_set(tenant_id, run["backup_set_id"])["item_count"] == len(readable)
    note, event = _final_notice(admin, runtime, run)
    for published in (note, event):
        assert (published["status"], published["error_code"]) == ("succeeded", None)
        assert published["warnings"] == run["warnings"]


def _licence_reads(sim, tenant_id: str) -> int:
    return len([r for r in sim.requests() if r["tenant"] == tenant_id
                and r["path"] == "/v1.0/subscribedSkus"])


def test_a_type_the_app_may_not_read_is_skipped_and_the_run_is_partial(
        admin, sim, runtime, tenant_id):
    readable = _refuse_type(sim, tenant_id, 403)  # consent or permission missing

    run = admin.wait(admin.backup(tenant_id))

    assert run["status"] == "partial"
    assert run["error"]["code"] == "consent_missing"
    assert REFUSED in run["error"]["message"]
    assert [(w["code"], w["policy_type"]) for w in run["warnings"]] == [
        ("consent_missing", REFUSED)]
    # Its workload answers an unlicensed tenant 403 too: the licence was read, and is held.
    assert "the tenant holds its licence" in run["warnings"][0]["message"]
    assert _licence_reads(sim, tenant_id) == 1
    items = admin.items(tenant_id, run["run_id"])
    assert _skipped_types(items) == [(REFUSED, "*", "skipped", "skipped", "consent_missing")]
    assert {(i["policy_type"], i["policy_id"]) for i in items if i["policy_id"] != "*"} \
        == set(readable)
    assert run["counts"] == {**ZERO, "total": len(readable) + 1,
                             "processed": len(readable) + 1, "succeeded": len(readable),
                             "skipped": 1}
    assert admin.backup_set(tenant_id, run["backup_set_id"])["item_count"] == len(readable)
    note, event = _final_notice(admin, runtime, run)
    for published in (note, event):
        assert (published["status"], published["error_code"]) == ("partial",
                                                                   "consent_missing")
        assert published["warnings"] == run["warnings"]


def test_a_type_answering_403_in_a_tenant_without_its_licence_is_not_available(
        admin, sim, tenant_id):
    # Intune without Windows Update for Business deployment service: the driver updates'
    # collection answers 403, as for a missing permission; subscribedSkus tells them apart.
    sim.set_licence(tenant_id, "SPE_E3", held=False)
    sim.set_licence(tenant_id, "EMS", held=True)
    readable = {k: v for k, v in estate(sim, tenant_id).items() if k[0] != REFUSED}

    run = admin.wait(admin.backup(tenant_id))

    assert (run["status"], run["error"]) == ("succeeded", None), run
    [warning] = run["warnings"]
    assert (warning["code"], warning["policy_type"]) == ("not_available", REFUSED)
    assert warning["message"].startswith("not licensed in this tenant")
    assert "HTTP 403" in warning["message"]
    items = admin.items(tenant_id, run["run_id"])
    assert _skipped_types(items) == [(REFUSED, "*", "skipped", "skipped", "not_available")]
    assert {(i["policy_type"], i["policy_id"]) for i in items if i["policy_id"] != "*"} \
        == set(readable)
    assert _licence_reads(sim, tenant_id) == 1


def test_a_403_whose_licence_cannot_be_checked_stays_consent_missing_saying_so(
        admin, sim, tenant_id):
    _refuse_type(sim, tenant_id, 403)
    # The app lacks Organization.Read.All: subscribedSkus answers 403 as well.
    sim.add_fault("status", status=403, method="GET", tenant=tenant_id,
                  path_prefix="/v1.0/subscribedSkus")

    run = admin.wait(admin.backup(tenant_id))

    assert (run["status"], run["error"]["code"]) == ("partial", "consent_missing")
    [warning] = run["warnings"]
    assert (warning["code"], warning["policy_type"]) == ("consent_missing", REFUSED)
    assert "its licence could not be checked" in warning["message"]
    items = admin.items(tenant_id, run["run_id"])
    assert _skipped_types(items) == [(REFUSED, "*", "skipped", "skipped", "consent_missing")]


def test_a_backup_of_only_a_type_graph_does_not_serve_succeeds_with_an_empty_set(
        admin, sim, tenant_id):
    _refuse_type(sim, tenant_id, 404)

    run = admin.wait(admin.backup(tenant_id, policy_types=[REFUSED]))

    assert (run["status"], run["error"]) == ("succeeded", None), run
    assert [(w["code"], w["policy_type"]) for w in run["warnings"]] == [
        ("not_available", REFUSED)]
    assert run["counts"] == {**ZERO, "total": 1, "processed": 1, "skipped": 1}
    items = admin.items(tenant_id, run["run_id"])
    assert _skipped_types(items) == [(REFUSED, "*", "skipped", "skipped", "not_available")]
    backup_set = admin.backup_set(tenant_id, run["backup_set_id"])
    assert (backup_set["item_count"], backup_set["items"]) == (0, [])


def test_backup_counters_grow_while_the_run_is_running(admin, sim, tenant_id):
    sim.set_latency(150)
    started = admin.backup(tenant_id)
    location = started.json()["links"]["self"]
    seen = []

    def observe():
        response = admin.request("GET", location)
        run = response.json()
        seen.append((run["status"], run["counts"]))
        return response.status_code == 200

    wait_until(observe, 280, "the backup to finish", poll_s=0.05)

    status, final = seen[-1]
    assert status == "succeeded" and final["processed"] == final["total"] > 0
    running = [c for s, c in seen if s == "running"]
    # ``total`` counts the objects found so far: it grows as each type is read.
    assert any(0 < c["processed"] < final["total"] for c in running), running
    for name in ("processed", "total"):
        values = [c[name] for _, c in seen]
        assert values == sorted(values), name  # never goes back


def test_backup_of_selected_types_holds_only_those_types(admin, sim, tenant_id):
    wanted = ["roleScopeTags", "assignmentFilters"]

    run = admin.wait(admin.backup(tenant_id, policy_types=wanted))

    assert run["status"] == "succeeded"
    items = admin.items(tenant_id, run["run_id"])
    expected = {k for k in estate(sim, tenant_id) if k[0] in wanted}
    assert {(i["policy_type"], i["policy_id"]) for i in items} == expected
    assert Counter(i["policy_type"] for i in items).keys() == set(wanted)


def test_the_same_backup_requested_twice_while_running_is_one_run(admin, sim, tenant_id):
    sim.set_latency(100)

    first = admin.backup(tenant_id)
    second = admin.backup(tenant_id)

    assert (first.status_code, second.status_code) == (202, 202)
    assert second.json()["run_id"] == first.json()["run_id"]
    assert (first.json()["reused"], second.json()["reused"]) == (False, True)
    assert admin.wait(first)["status"] == "succeeded"


def test_backup_of_an_unknown_type_is_refused_listing_the_supported_ones(admin, sim,
                                                                          tenant_id):
    before = list(admin.pages(f"/api/tenants/{tenant_id}/runs"))

    response = admin.backup(tenant_id, policy_types=["configurationPolicies", "bogusPolicies"])

    assert response.status_code == 400
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert response.json()["code"] == "validation_failed"
    assert "bogusPolicies" in response.json()["detail"]
    assert response.json()["supported_policy_types"] == list(SUPPORTED_KEYS)
    assert list(admin.pages(f"/api/tenants/{tenant_id}/runs")) == before  # nothing written


@pytest.mark.parametrize("body", [{"policy_types": []}, {"policy_types": "roleScopeTags"},
                                  {"label": 7}, {"label": "x" * 201}, {"labels": "x"}])
def test_backup_with_malformed_input_is_refused(admin, sim, tenant_id, body):
    response = admin.request("POST", f"/api/tenants/{tenant_id}/backups", json=body)

    assert response.status_code == 400
    assert response.json()["code"] == "validation_failed"


def test_backup_sets_are_listed_newest_first_and_unknown_ones_are_not_found(admin, sim,
                                                                             tenant_id):
    first = admin.wait(admin.backup(tenant_id, policy_types=["roleScopeTags"], label="one"))
    second = admin.wait(admin.backup(tenant_id, policy_types=["roleScopeTags"], label="two"))

    sets = list(admin.pages(f"/api/tenants/{tenant_id}/backups"))
    ids = [s["backup_set_id"] for s in sets]
    assert ids.index(second["backup_set_id"]) < ids.index(first["backup_set_id"])
    view = admin.backup_set(tenant_id, second["backup_set_id"])
    assert view["label"] == "two" and view["item_count"] == len(view["items"]) > 0
    other_tenant = sim.tenant_ids[1]
    assert admin.request("GET", f"/api/tenants/{other_tenant}/backups/"
                         f"{second['backup_set_id']}").status_code == 404
    assert admin.request("GET", f"/api/tenants/{tenant_id}/backups/not-a-ulid"
                         ).status_code == 400
    item = view["items"][0]["item_id"]
    assert admin.request("GET", f"/api/tenants/{other_tenant}/backups/"
                         f"{second['backup_set_id']}/items/{item}").status_code == 404



@pytest.fixture
def large_tenant(sim) -> Iterator[str]:
    """The first tenant with 1,050 assignment filters (more than one sub-orchestration slice);
    the simulator's seed counts are restored afterwards."""
    sim.reset(counts={"assignmentFilters": 1050})
    try:
        yield sim.tenant_ids[0]
    finally:
        sim.reset(counts={})


@pytest.mark.slow
def test_a_large_tenant_is_backed_up_with_every_item_once_and_a_small_history(
        admin, sim, runtime, large_tenant):
    expected = {k for k in estate(sim, large_tenant) if k[0] == "assignmentFilters"}
    assert len(expected) > SLICE_SIZE

    run = admin.wait(admin.backup(large_tenant, policy_types=["assignmentFilters"]),
                     timeout=280)

    assert run["status"] == "succeeded", run
    items = admin.items(large_tenant, run["run_id"])
    assert len(items) == len({i["item_id"] for i in items}) == len(expected)
    assert {(i["policy_type"], i["policy_id"]) for i in items} == expected
    assert run["counts"]["succeeded"] == run["counts"]["total"] == len(expected)
    assert admin.backup_set(large_tenant, run["backup_set_id"])["item_count"] == len(expected)
    # The type is read page by page inside its activity: the history holds counts, not ids.
    histories = [int(r["HistoryCount"]) for r in runtime.rows(f"{HUB}Instances")
                 if run["run_id"] in (r.get("Input") or "")]
    assert len(histories) == 1 and histories[0] < 40


def test_backup_of_a_tenant_with_nothing_of_the_requested_types_succeeds_empty(admin, sim,
                                                                               tenant_id):
    for obj in sim.objects(tenant_id, "windowsDriverUpdateProfiles"):
        sim.drift(tenant_id, "windowsDriverUpdateProfiles", obj["id"], op="delete")

    run = admin.wait(admin.backup(tenant_id, policy_types=["windowsDriverUpdateProfiles"]))

    assert run["status"] == "succeeded", run
    assert run["counts"] == ZERO
    assert admin.items(tenant_id, run["run_id"]) == []
    backup_set = admin.backup_set(tenant_id, run["backup_set_id"])
    assert (backup_set["item_count"], backup_set["items"]) == (0, [])


def test_a_policy_graph_keeps_refusing_fails_alone_and_its_batch_mates_are_kept(
        admin, sim, tenant_id):
    victim = sim.objects(tenant_id, "deviceHealthScripts")[0]["id"]
    # Every GET of this one script answers 503 (Retry-After: 0, so retries are quick); it
    # shares its $batch with the other scripts, then is tried again on its own.
    sim.add_fault("503", retry_after=0, method="GET",
                  path_prefix=f"/deviceManagement/deviceHealthScripts/{victim}")
    expected = estate(sim, tenant_id)

    run = admin.wait(admin.backup(tenant_id))

    assert run["status"] == "partial"
    items = admin.items(tenant_id, run["run_id"])
    failed = [i for i in items if i["status"] != "succeeded"]
    assert [(i["policy_id"], i["error"]["code"]) for i in failed] == [
        (victim, "graph_unavailable")]
    assert {(i["policy_type"], i["policy_id"]) for i in items} == set(expected)
    assert run["counts"] == {**ZERO, "total": len(expected), "processed": len(expected),
                             "succeeded": len(expected) - 1, "failed": 1}
    tries = [r for r in sim.requests() if r["path"].endswith(f"/{victim}")]
    assert len(tries) > 1 and {r["status"] for r in tries} == {503}


def test_a_type_graph_keeps_refusing_to_list_fails_alone(admin, sim, tenant_id):
    sim.add_fault("503", retry_after=0, method="GET",
                  path_prefix="/deviceManagement/windowsFeatureUpdateProfiles")
    listable = {k for k in estate(sim, tenant_id) if k[0] != "windowsFeatureUpdateProfiles"}

    run = admin.wait(admin.backup(tenant_id))

    assert run["status"] == "partial"
    items = admin.items(tenant_id, run["run_id"])
    failed = [i for i in items if i["status"] != "succeeded"]
    assert [(i["policy_type"], i["policy_id"], i["status"], i["error"]["code"])
            for i in failed] == [("windowsFeatureUpdateProfiles", "*", "failed",
                                  "graph_unavailable")]
    assert {(i["policy_type"], i["policy_id"]) for i in items if i["policy_id"] != "*"} \
        == listable
