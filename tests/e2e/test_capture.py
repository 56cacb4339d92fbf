"""Capturing one policy: 202 at once, a run that ends with the complete snapshot stored."""

from __future__ import annotations

import pytest

from shared.graph import comparable, supported_type
from shared.platform.keys import parse_iso


def _largest(sim, tenant_id: str, policy_type: str) -> dict:
    objects = sim.objects(tenant_id, supported_type(policy_type).path.split("/")[-1])
    return max(objects, key=lambda o: len(o.get("settings") or o.get("assignments") or []))


@pytest.mark.parametrize("policy_type", ["configurationPolicies", "deviceCompliancePolicies",
                                         "groupPolicyConfigurations"])
def test_capture_stores_the_complete_policy_and_reports_the_run(admin, sim, tenant_id,
                                                                policy_type):
    policy = _largest(sim, tenant_id, policy_type)
    rtype = supported_type(policy_type)

    started = admin.capture(tenant_id, policy_type, policy["id"])

    assert started.status_code == 202
    assert started.json()["status"] in ("queued", "running")
    run_id = started.json()["run_id"]
    assert started.headers["Location"] == f"/api/tenants/{tenant_id}/runs/{run_id}"
    run = admin.wait(started)
    assert run["status"] == "succeeded", run
    assert run["counts"] == {"total": 1, "processed": 1, "succeeded": 1, "failed": 0,
                             "skipped": 0}
    [item] = admin.items(tenant_id, run["run_id"])
    # "unchanged" when an earlier test of this session already stored this content
    assert (item["action"], item["status"]) in {("captured", "succeeded"),
                                                ("unchanged", "succeeded")}
    assert item["display_name"] == policy[rtype.name_field]
    stored = admin.snapshot(tenant_id, run["backup_set_id"], item["item_id"])
    assert comparable(rtype, stored) == comparable(rtype, policy)


def test_a_settings_catalog_policy_keeps_every_setting_beyond_the_first_page(admin, sim,
                                                                            tenant_id):
    policy = _largest(sim, tenant_id, "configurationPolicies")
    assert len(policy["settings"]) > 25  # Graph pages settings at 25

    run = admin.wait(admin.capture(tenant_id, "configurationPolicies", policy["id"]))

    [item] = admin.items(tenant_id, run["run_id"])
    stored = admin.snapshot(tenant_id, run["backup_set_id"], item["item_id"])
    assert [s["settingInstance"] for s in stored["settings"]] == [
        s["settingInstance"] for s in policy["settings"]]
    assert len(stored["assignments"]) == len(policy["assignments"])


def test_a_capture_graph_refuses_at_first_succeeds_on_its_retry_and_notifies_once_each(
        admin, sim, tenant_id):
    policy = _largest(sim, tenant_id, "deviceCompliancePolicies")
    # More 503s than the Graph client's own attempts: the capture's one activity fails and
    # its retry policy runs start, capture and settle again.
    attempts = 8  # shared.graph.retry: max_attempts
    sim.add_fault("503", retry_after=0, method="GET", count=attempts,
                  path_prefix=f"/deviceManagement/deviceCompliancePolicies/{policy['id']}")
    since = sim.request_cursor()

    run = admin.wait(admin.capture(tenant_id, "deviceCompliancePolicies", policy["id"]))

    assert run["status"] == "succeeded", run
    assert run["counts"]["succeeded"] == 1
    [item] = admin.items(tenant_id, run["run_id"])
    assert item["status"] == "succeeded"
    notes = [n["status"] for n in admin.notifications() if n["run_id"] == run["run_id"]]
    assert sorted(notes) == ["running", "succeeded"]  # a retried step notifies once
    assert parse_iso(run["started_at"]) < parse_iso(run["finished_at"])
    tries = [r for r in sim.requests(since) if policy["id"] in r["path"]]
    statuses = [r["status"] for r in tries]
    assert statuses[:attempts] == [503] * attempts  # the first activity gave up
    assert statuses[attempts:] and set(statuses[attempts:]) == {200}  # its retry read it
