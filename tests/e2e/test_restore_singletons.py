"""Singletons through the HTTP API: backed up as one item keyed by the type, put back by a live
restore with updates only (never POST/DELETE of the singleton), the read-only one skipped."""

from __future__ import annotations

from shared.graph import comparable, supported_type
from shared.graph.secrets import redact
from tests.e2e.restore_support import backup, by_policy, restore

TYPES = ["authorizationPolicy", "crossTenantAccessPolicy", "deviceRegistrationPolicy",
         "applePushNotificationCertificate"]
READ_ONLY = "applePushNotificationCertificate"


def _back_to_snapshot(admin, sim, tenant_id: str, backup_set_id: str) -> list[str]:
    """The singletons whose live object differs from the set's snapshot."""
    wrong = []
    for item in admin.backup_set(tenant_id, backup_set_id)["items"]:
        rtype = supported_type(item["policy_type"])
        snapshot = admin.snapshot(tenant_id, backup_set_id, item["item_id"])
        [live] = sim.objects(tenant_id, rtype.key)
        if comparable(rtype, redact(rtype, live)) != comparable(rtype, snapshot):
            wrong.append(rtype.key)
    return wrong


def test_live_restore_puts_singletons_back_by_update_and_skips_the_read_only_one(
        admin, sim, tenant_id):
    source = backup(admin, tenant_id, TYPES)
    stored = admin.backup_set(tenant_id, source["backup_set_id"])["items"]
    assert sorted((i["policy_type"], i["policy_id"]) for i in stored) == sorted(
        (key, key) for key in TYPES)
    sim.drift(tenant_id, "authorizationPolicy", "authorizationPolicy",
              patch={"allowInvitesFrom": "none"})
    sim.drift(tenant_id, "crossTenantAccessPolicy", "crossTenantAccessPolicy",
              patch={"partners": []})
    sim.drift(tenant_id, "deviceRegistrationPolicy", "deviceRegistrationPolicy",
              patch={"userDeviceQuota": 3})
    cursor = sim.request_cursor()

    run = restore(admin, tenant_id, source["backup_set_id"], dry_run=False)

    assert run["status"] == "succeeded", run
    items = by_policy(admin.items(tenant_id, run["run_id"]))
    assert {k: i["action"] for k, i in items.items()} == {
        "authorizationPolicy": "updated", "crossTenantAccessPolicy": "updated",
        "deviceRegistrationPolicy": "updated", READ_ONLY: "skipped"}
    assert items[READ_ONLY]["error"]["code"] == "not_restorable"
    assert items["authorizationPolicy"]["diff"] == [
        {"path": "allowInvitesFrom", "change": "changed"}]
    writes = sorted((w["method"], w["path"]) for w in sim.writes(cursor) if w["kind"] == "graph")
    assert writes == [
        ("PATCH", "/v1.0/policies/authorizationPolicy"),
        ("PATCH", "/v1.0/policies/crossTenantAccessPolicy"),
        ("POST", "/v1.0/policies/crossTenantAccessPolicy/partners"),  # the removed partner
        ("PUT", "/beta/policies/deviceRegistrationPolicy")]
    assert _back_to_snapshot(admin, sim, tenant_id, source["backup_set_id"]) == []
    pre = admin.backup_set(tenant_id, run["pre_restore_backup_set_id"])["items"]
    assert {i["policy_id"] for i in pre} == set(TYPES) - {READ_ONLY}

    cursor = sim.request_cursor()
    again = restore(admin, tenant_id, source["backup_set_id"], dry_run=False)

    assert again["status"] == "succeeded", again
    assert sim.writes(cursor) == []
    assert {i["action"] for i in admin.items(tenant_id, again["run_id"])} == {
        "no_change", "skipped"}
