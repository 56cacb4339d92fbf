"""Offboarding a tenant end to end (DESIGN §12), through HTTP into a runtime child process on
its own storage prefix: a tenant with backups, a live restore, two principals'
notifications, grants, a schedule and a pinned baseline is offboarded while a backup of it
runs. The backup is stopped, nothing new starts (409) and it cannot be re-registered while
it goes; afterwards every table and blob container of the prefix holds nothing of it but
the MSP's own record of the offboarding, its id answers 403, and the MSP's audit keeps one
``tenant_offboarded`` event. Another tenant's data is untouched. A second test kills the
runtime (SIGKILL) in the middle of the offboarding and restarts it: it completes."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from azure.data.tables import TableServiceClient
from azure.storage.blob import BlobServiceClient

from local.api_client import PolicyVaultClient
from shared.platform.storage import expand_connection_string
from tests.e2e.backup_support import RuntimeProcess, wait_until

pytestmark = pytest.mark.slow
ADMIN, OPERATOR, READER = "offboard-admin", str(uuid.uuid4()), str(uuid.uuid4())
MSP = "msp"  # the MSP's own partition: where the offboarding run and its audit live
TYPES = ["configurationPolicies", "deviceConfigurations", "roleScopeTags"]


def _customer(api: PolicyVaultClient, operator: PolicyVaultClient, sim, tenant_id: str
              ) -> dict[str, Any]:
    """Register ``tenant_id`` with everything a customer accumulates; what was made."""
    api.ok("PUT", f"/api/tenants/{tenant_id}", json={
        "display_name": "Leaving customer", "schedules": {"backup": "0 0 3 * * *"}})
    api.grant(tenant_id, OPERATOR, "operator")
    api.grant(tenant_id, READER, "reader")
    backup = api.wait(api.backup(tenant_id, TYPES))
    assert backup["status"] == "succeeded", backup
    items = api.backup_set(tenant_id, backup["backup_set_id"])["items"]
    tag = next(i for i in items if i["policy_type"] == "roleScopeTags")
    restore = api.wait(api.restore(tenant_id, backup["backup_set_id"], item_ids=[tag["item_id"]],
                                   dry_run=False))
    assert restore["status"] == "succeeded", restore
    assert restore["pre_restore_backup_set_id"]
    policy = sim.objects(tenant_id, "configurationPolicies")[0]["id"]
    capture = operator.wait(operator.capture(tenant_id, "configurationPolicies", policy))
    assert capture["status"] == "succeeded", capture
    assert api.pin_baseline(tenant_id, backup["backup_set_id"]).status_code == 200
    assert operator.notifications() and api.notifications()
    return {"backup": backup, "policy": policy}


def _other_customer(api: PolicyVaultClient, tenant_id: str) -> dict[str, Any]:
    api.register_tenant(tenant_id, "Staying customer")
    run = api.wait(api.backup(tenant_id, ["roleScopeTags"]))
    assert run["status"] == "succeeded", run
    return run


def _running_backup(api: PolicyVaultClient, sim, tenant_id: str) -> dict[str, Any]:
    """A backup of every type, slowed down, seen running with some types read."""
    sim.set_latency(150)
    started = api.backup(tenant_id)
    assert started.status_code == 202, started.text
    run_id = started.json()["run_id"]
    return wait_until(lambda: (lambda r: r if r["status"] == "running"
                               and r["counts"]["processed"] > 0 else None)(
        api.run(tenant_id, run_id).json()), 120, "the backup to be part-way through")


def _leftovers(runtime: RuntimeProcess, tenant_id: str) -> list[str]:
    """Every row (any table of the prefix, the task hub's included) and blob (name or
    content) that mentions the tenant, except the MSP's own records of its offboarding."""
    connection = expand_connection_string(runtime.connection)
    prefix = runtime.prefix.lower()
    found = []
    with TableServiceClient.from_connection_string(connection) as service:
        for table in service.list_tables():
            if not table.name.lower().startswith(prefix):
                continue
            base = table.name[len(prefix):]
            for row in service.get_table_client(table.name).list_entities():
                text = json.dumps(dict(row), default=str).lower()
                kept = base in ("runs", "idempotency", "audit") and row["PartitionKey"] == MSP
                if tenant_id in text and not kept:
                    found.append(f"{table.name}: {row['PartitionKey']} / {row['RowKey']}")
    with BlobServiceClient.from_connection_string(connection) as blobs:
        for container in blobs.list_containers(name_starts_with=prefix):
            box = blobs.get_container_client(container.name)
            for blob in box.list_blobs():
                content = box.download_blob(blob.name).readall()
                if tenant_id in blob.name.lower() or tenant_id.encode() in content.lower():
                    found.append(f"{container.name}/{blob.name}")
    return found


def _assert_offboarded(api: PolicyVaultClient, runtime: RuntimeProcess, tenant_id: str,
                       offboarding: dict[str, Any]) -> dict[str, Any]:
    assert offboarding["status"] == "succeeded", offboarding
    assert offboarding["tenant_id"] == tenant_id
    assert offboarding["counts"]["processed"] == offboarding["counts"]["total"] > 0
    answer = api.request("GET", f"/api/offboardings/{offboarding['run_id']}")
    assert answer.status_code == 200 and answer.json() == offboarding
    assert _leftovers(runtime, tenant_id) == []
    for path in ("", "/runs", "/backups", "/audit", "/access", "/baseline"):
        refused = api.request("GET", f"/api/tenants/{tenant_id}{path}")
        assert (refused.status_code, refused.json()["code"]) == (403, "forbidden"), path
    assert api.backup(tenant_id).status_code == 403  # unknown now, no longer offboarding
    assert tenant_id not in [t["tenant_id"] for t in api.ok("GET", "/api/tenants")["value"]]
    events = [e for e in api.pages("/api/audit") if e["target"] == tenant_id]
    assert [(e["action"], e["run_id"], e["actor"]) for e in events] == [
        ("tenant_offboarded", offboarding["run_id"], ADMIN)]
    return events[0]


def test_offboarding_stops_the_running_backup_refuses_starts_and_leaves_nothing(
        sim, runtimes):
    leaving, staying = sim.tenant_ids[1], sim.tenant_ids[2]
    runtime = runtimes()
    with runtime.client(ADMIN) as api, runtime.client(OPERATOR, []) as operator, \
            runtime.client(READER, []) as reader:
        made = _customer(api, operator, sim, leaving)
        other = _other_customer(api, staying)
        running = _running_backup(api, sim, leaving)

        accepted = api.request("DELETE", f"/api/tenants/{leaving}")

        assert accepted.status_code == 202, accepted.text
        body = accepted.json()
        assert accepted.headers["Location"] == f"/api/offboardings/{body['run_id']}"
        assert (body["run_type"], body["tenant_id"], body["reused"]) == (
            "offboard", leaving, False)
        again = api.request("DELETE", f"/api/tenants/{leaving}")
        assert (again.status_code, again.json()["run_id"], again.json()["reused"]) == (
            202, body["run_id"], True)
        t = f"/api/tenants/{leaving}"
        starts = {
            "backup": api.backup(leaving),
            "snapshot": api.capture(leaving, "configurationPolicies", made["policy"]),
            "restore": api.restore(leaving, made["backup"]["backup_set_id"]),
            "drift check": api.drift_check(leaving),
            "operator's backup": operator.backup(leaving),
            "re-registration": api.request("PUT", t, json={"display_name": "Back again"}),
        }
        assert {name: (r.status_code, r.json()["code"]) for name, r in starts.items()} == {
            name: (409, "tenant_offboarding") for name in starts}
        assert api.request("GET", t).status_code == 403  # its own routes: like an unknown one
        assert api.run(leaving, running["run_id"]).status_code == 403
        assert reader.backup(leaving).status_code == 403  # may not start: learns nothing
        for caller in (api, operator):
            assert leaving not in [t["tenant_id"] for t in caller.pages("/api/tenants")]
        assert api.request("GET", f"/api/offboardings/{body['run_id']}").status_code in (200, 202)

        offboarding = api.wait(accepted, timeout=300)
        sim.set_latency(0)

        event = _assert_offboarded(api, runtime, leaving, offboarding)
        assert event["details"]["orchestrations_stopped"] >= 1  # the running backup
        assert event["details"]["deleted"] > 0
        assert api.backup_set(staying, other["backup_set_id"])["item_count"] > 0
        assert api.run(staying, other["run_id"]).json()["status"] == "succeeded"
        assert all(n["tenant_id"] != leaving for n in operator.notifications())
        assert operator.request("GET", "/api/tenants").json()["value"] == []
        # Registered again, it is a new customer: nothing of the old one comes back.
        assert api.ok("PUT", t, json={"display_name": "Returning customer"})
        assert list(api.pages(f"{t}/backups")) == [] and list(api.pages(f"{t}/runs")) == []


def test_offboarding_survives_kill_9_of_the_runtime_and_completes(sim, runtimes):
    leaving = sim.tenant_ids[1]
    first = runtimes()
    with first.client(ADMIN) as api, first.client(OPERATOR, []) as operator:
        _customer(api, operator, sim, leaving)
        accepted = api.request("DELETE", f"/api/tenants/{leaving}")
        assert accepted.status_code == 202, accepted.text
        location = accepted.headers["Location"]
        at_kill = wait_until(lambda: (lambda r: r if r["status"] == "running"
                                      and r["counts"]["processed"] > 0 else None)(
            api.request("GET", location).json()), 120, "the offboarding to be deleting")
    first.kill()
    assert at_kill["status"] == "running"
    assert _leftovers(first, leaving)  # killed in the middle: some of it is still there

    second = runtimes()
    with second.client(ADMIN) as api:
        assert api.request("GET", f"/api/tenants/{leaving}").status_code == 403
        offboarding = api.wait(api.request("GET", location), timeout=300)
        _assert_offboarded(api, second, leaving, offboarding)
