"""The served OpenAPI documents, and one tour of every operation whose answers (successes and
refusals) are each validated against the document (tests/e2e/contract.py)."""

from __future__ import annotations

import uuid

import httpx

from api.openapi import openapi_document
from api.swagger import swagger_document
from local.api_client import PolicyVaultClient
from tests.e2e.contract import ContractCheck


def test_documents_are_served_anonymously_as_built_from_the_route_table(stack):
    base = httpx.URL(stack.base_url)

    v3 = httpx.get(f"{stack.base_url}/api/openapi.json", timeout=30)
    v2 = httpx.get(f"{stack.base_url}/api/openapi-v2.json", timeout=30)

    assert v3.status_code == v2.status_code == 200
    assert v3.headers["content-type"].startswith("application/json")
    assert v3.json() == openapi_document()
    assert v2.json() == swagger_document(f"{base.host}:{base.port}", "http")


def test_every_operation_answers_as_the_document_says(stack, admin, sim, tenant_id):
    check = ContractCheck(stack.check.document)
    token = admin.http.headers["Authorization"].removeprefix("Bearer ")
    api = PolicyVaultClient(stack.base_url, token, check=check)
    anonymous = PolicyVaultClient(stack.base_url, None, check=check)
    policy = sim.objects(tenant_id, "configurationPolicies")[0]
    principal = str(uuid.uuid4())
    t = f"/api/tenants/{tenant_id}"

    assert anonymous.request("GET", "/api/health").status_code == 200
    assert anonymous.request("GET", "/api/openapi.json").status_code == 200
    assert anonymous.request("GET", "/api/openapi-v2.json").status_code == 200
    assert anonymous.request("GET", "/api/tenants").status_code == 401
    leaving = f"/api/tenants/{uuid.uuid4()}"
    assert api.request("PUT", leaving, json={"display_name": "New customer"}).status_code == 201
    assert api.request("PUT", t, json={"display_name": "Customer 1"}).status_code == 200
    assert api.request("PUT", "/api/tenants/not-a-guid", json={}).status_code == 400
    assert api.request("GET", "/api/tenants").status_code == 200
    assert api.request("GET", t).status_code == 200
    assert api.request("GET", f"/api/tenants/{uuid.uuid4()}").status_code == 403
    assert api.request("PUT", f"{t}/access/{principal}", json={"role": "reader"}).status_code == 200
    assert api.request("GET", f"{t}/access").status_code == 200
    assert api.request("DELETE", f"{t}/access/{principal}").status_code == 204
    assert api.request("DELETE", f"{t}/access/{principal}").status_code == 404

    backup = api.backup(tenant_id, ["configurationPolicies"], label="tour")
    assert backup.status_code == 202
    run = api.wait(backup)
    assert run["status"] == "succeeded"
    assert api.request("GET", f"{t}/runs", params={"run_type": "backup"}).status_code == 200
    assert api.request("GET", f"{t}/runs", params={"top": "0"}).status_code == 400
    assert api.request("GET", f"{t}/runs/{run['run_id']}/items").status_code == 200
    assert api.request("GET", f"{t}/backups").status_code == 200
    backup_set = api.backup_set(tenant_id, run["backup_set_id"])
    item = backup_set["items"][0]
    api.snapshot(tenant_id, run["backup_set_id"], item["item_id"])
    assert api.request("GET", f"{t}/backups/{run['backup_set_id']}/items/nope").status_code == 404
    assert api.request("GET", f"{t}/backups/{uuid.uuid4().hex[:26].upper()}").status_code in (
        400, 404)

    key = f"tour-{uuid.uuid4()}"
    capture = api.capture(tenant_id, "configurationPolicies", policy["id"], idempotency_key=key)
    assert capture.status_code == 202
    assert api.capture(tenant_id, "roleScopeTags", "0", idempotency_key=key).status_code == 422
    api.wait(capture)
    assert api.request("GET", f"{t}/policies/configurationPolicies/{policy['id']}/versions"
                       ).status_code == 200
    assert api.request("GET", f"{t}/policies/bogusPolicies/x/versions").status_code == 400

    preview = api.restore(tenant_id, run["backup_set_id"])
    assert preview.status_code == 202
    api.wait(preview)

    target = sim.tenant_ids[1]  # a cross-tenant deployment of the set (DESIGN §11)
    api.register_tenant(target, "Customer 2")
    deployment = api.restore(target, run["backup_set_id"], source_tenant_id=tenant_id)
    assert deployment.status_code == 202, deployment.text
    deployed = api.wait(deployment)
    assert api.request("GET", f"/api/tenants/{target}/runs/{deployed['run_id']}/mapping"
                       ).status_code == 200
    assert api.request("GET", f"{t}/runs/{run['run_id']}/mapping").status_code == 404
    assert api.restore(target, run["backup_set_id"], source_tenant_id=tenant_id,
                       mappings={"nothing-uses-it": None}).status_code == 422
    saved = f"/api/tenants/{target}/mappings/{tenant_id}"
    assert api.request("PUT", saved, json={"mappings": {}}).status_code == 200
    assert api.request("GET", saved).status_code == 200
    assert api.request("GET", f"/api/tenants/{target}/mappings/not-a-guid").status_code == 400

    assert api.pin_baseline(tenant_id, run["backup_set_id"]).status_code == 200
    assert api.request("GET", f"{t}/baseline").status_code == 200
    check_run = api.drift_check(tenant_id)
    assert check_run.status_code == 202
    assert api.wait(check_run)["status"] == "succeeded"
    assert api.pin_baseline(tenant_id, None).status_code == 204
    assert api.pin_baseline(tenant_id, None).status_code == 404
    assert api.restore(tenant_id, "0" * 26).status_code == 404

    report = api.report(tenant_id, run["backup_set_id"], "markdown")
    assert report.status_code == 202
    assert api.report_document(report).status_code == 200  # 202 while it runs, then the text
    assert api.report(tenant_id, run["backup_set_id"], "html",
                      compare_to="0" * 26).status_code == 404
    assert api.request("GET", f"{t}/reports/{run['run_id']}").status_code == 404

    notifications = api.ok("GET", "/api/notifications", params={"unread": "true"})["value"]
    read = f"/api/notifications/{notifications[0]['notification_id']}/read"
    assert api.request("POST", read).status_code == 204
    assert api.request("POST", f"/api/notifications/{'0' * 32}/read").status_code == 404
    assert api.request("GET", f"{t}/audit").status_code == 200

    hook = {"url": "https://localhost:9/tour?sig=x", "events": ["run.failed"]}
    assert api.request("PUT", f"{t}/webhooks/tour", json=hook).status_code == 201
    assert api.request("PUT", f"{t}/webhooks/tour", json=hook).status_code == 200
    assert api.request("PUT", f"{t}/webhooks/tour",
                       json={**hook, "url": "http://localhost/"}).status_code == 400
    assert api.request("GET", f"{t}/webhooks").status_code == 200
    assert api.request("GET", f"{t}/webhooks/tour").status_code == 200
    assert api.request("GET", f"{t}/webhooks/tour/deliveries").status_code == 200
    assert api.request("DELETE", f"{t}/webhooks/tour").status_code == 204
    assert api.request("GET", f"{t}/webhooks/tour").status_code == 404
    assert api.request("GET", f"{t}/webhooks/tour/deliveries").status_code == 404
    assert api.request("DELETE", f"{t}/webhooks/tour").status_code == 404
    offboarding = api.request("DELETE", leaving)
    assert offboarding.status_code == 202
    assert api.request("PUT", leaving, json={"display_name": "Again"}).status_code == 409
    assert api.request("POST", f"{leaving}/backups", json={}).status_code == 409
    assert api.wait(offboarding)["status"] == "succeeded"  # GET /api/offboardings/{run_id}
    assert api.request("GET", f"/api/offboardings/{'0' * 26}").status_code == 404
    assert api.request("DELETE", leaving).status_code == 403
    assert api.request("GET", "/api/audit").status_code == 200

    assert check.seen == {op["operationId"] for methods in check.document["paths"].values()
                          for op in methods.values()}
