"""Who may restore what: operators preview, admins restore live, one live restore at a time,
backup sets only from the path's tenant, and refused requests write nothing."""

from __future__ import annotations

import time
import uuid

from shared.restore.lock import REUSE_GRACE
from tests.e2e.restore_support import backup, live


def test_an_operator_may_preview_but_not_restore_live(admin, stack, sim, tenant_id):
    source = backup(admin, tenant_id, ["deviceConfigurations"])
    oid = str(uuid.uuid4())
    admin.grant(tenant_id, oid, "operator")
    with stack.api(oid, []) as operator:
        preview = operator.restore(tenant_id, source["backup_set_id"])
        refused = operator.restore(tenant_id, source["backup_set_id"], dry_run=False)

    assert preview.status_code == 202
    assert admin.wait(preview)["status"] == "succeeded"
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    runs = admin.ok("GET", f"/api/tenants/{tenant_id}/runs",
                    params={"run_type": "restore"})["value"]
    assert all(r["requested_by"] != oid or r["dry_run"] for r in runs)


def test_a_reader_may_not_preview(admin, stack, sim, tenant_id):
    source = backup(admin, tenant_id, ["deviceConfigurations"])
    oid = str(uuid.uuid4())
    admin.grant(tenant_id, oid, "reader")
    with stack.api(oid, []) as reader:
        assert reader.restore(tenant_id, source["backup_set_id"]).status_code == 403


def test_another_tenants_backup_set_cannot_be_restored_here(admin, sim, tenant_id):
    other = sim.tenant_ids[1]
    foreign = backup(admin, other, ["deviceConfigurations"])

    response = admin.restore(tenant_id, foreign["backup_set_id"], dry_run=False)

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_bad_restore_requests_are_refused_with_a_reason(admin, sim, tenant_id):
    source = backup(admin, tenant_id, ["deviceConfigurations"])
    set_id = source["backup_set_id"]
    cases = {
        "unknown item": {"item_ids": ["deviceConfigurations.nope"]},
        "bad flag": {"dry_run": "no"},
        "bad ca state": {"ca_state": "enabled"},
        "unknown field": {"force": True},
        "empty ids": {"item_ids": []},
    }
    for name, options in cases.items():
        response = admin.restore(tenant_id, set_id, **options)
        assert response.status_code == 400, name
        assert response.json()["code"] == "validation_failed", name
    unknown = admin.restore(tenant_id, set_id, item_ids=["deviceConfigurations.nope"])
    assert "deviceConfigurations.nope" in unknown.json()["detail"]
    assert admin.request("POST", f"/api/tenants/{tenant_id}/restores",
                         json={"backup_set_id": "nope"}).status_code == 400
    missing = "01" + "J" * 24
    assert admin.restore(tenant_id, missing).status_code == 404


def test_a_second_live_restore_while_one_runs_is_409(admin, sim, tenant_id):
    source = backup(admin, tenant_id, ["deviceConfigurations", "configurationPolicies"])
    for policy in live(sim, tenant_id, "deviceConfigurations"):
        sim.drift(tenant_id, "deviceConfigurations", policy["id"], op="delete")
    sim.set_latency(300)  # the first restore takes a while: writes one at a time
    try:
        first = admin.restore(tenant_id, source["backup_set_id"], dry_run=False)
        assert first.status_code == 202
        same = admin.restore(tenant_id, source["backup_set_id"], dry_run=False)
        other = admin.restore(tenant_id, source["backup_set_id"], dry_run=False,
                              include_assignments=False)
        preview = admin.restore(tenant_id, source["backup_set_id"])
    finally:
        sim.set_latency(0)

    assert (same.status_code, same.json()["reused"]) == (202, True)
    assert same.json()["run_id"] == first.json()["run_id"]
    assert other.status_code == 409
    assert other.json()["code"] == "restore_in_progress"
    assert preview.status_code == 202
    assert admin.wait(first)["status"] == "succeeded"
    # The same-key re-POST renewed the lock while reusing the live run; it holds for
    # REUSE_GRACE after that claim (a start of that key might still be recording a new run).
    deadline = time.monotonic() + REUSE_GRACE.total_seconds() + 5
    while (after := admin.restore(tenant_id, source["backup_set_id"], dry_run=False,
                                  include_assignments=False)).status_code == 409 \
            and time.monotonic() < deadline:
        time.sleep(0.5)
    assert after.status_code == 202
    assert admin.wait(after)["status"] == "succeeded"


def test_a_refused_live_restore_does_not_lock_the_tenant(admin, sim, tenant_id):
    source = backup(admin, tenant_id, ["deviceConfigurations"])
    other = backup(admin, tenant_id, ["assignmentFilters"])
    key = f"logic-app-{uuid.uuid4()}"
    first = admin.request("POST", f"/api/tenants/{tenant_id}/restores", headers={
        "Idempotency-Key": key}, json={"backup_set_id": source["backup_set_id"]})
    admin.wait(first)  # a preview under that key

    misuse = admin.request("POST", f"/api/tenants/{tenant_id}/restores", headers={
        "Idempotency-Key": key}, json={"backup_set_id": source["backup_set_id"],
                                       "dry_run": False})
    next_restore = admin.restore(tenant_id, other["backup_set_id"], dry_run=False)

    assert misuse.status_code == 422
    assert next_restore.status_code == 202  # not 409: the refused request took no lock
    assert admin.wait(next_restore)["status"] == "succeeded"
