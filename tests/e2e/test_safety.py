"""Secrets never leak: Graph and Entra echo the bearer token and the client secret in their
error bodies, and none of it reaches storage, the API or the logs."""

from __future__ import annotations

import json
import logging
import re

JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}")


def _leaks(text: str, secret: str) -> list[str]:
    found = []
    if secret in text:
        found.append("client secret")
    if JWT.search(text):
        found.append("a JWT")
    if "Bearer " in text:
        found.append("a bearer header")
    return found


def test_echoed_tokens_and_secrets_reach_no_table_blob_queue_response_or_log(
        admin, sim, stack, tenant_id, caplog):
    caplog.set_level(logging.INFO)
    stack.drain_queue("run-events")
    policies = sim.objects(tenant_id, "configurationPolicies")[:2]
    sim.add_fault("echo_auth", tenant=tenant_id, path_prefix="/beta/deviceManagement",
                  count=3)
    sim.add_fault("echo_auth", target="entra", count=2)
    missing = "00000000-0000-0000-0000-000000000000"

    responses = []
    for policy_id in [policies[0]["id"], missing, policies[1]["id"]]:
        started = admin.capture(tenant_id, "configurationPolicies", policy_id)
        run = admin.wait(started)
        responses += [started.text, json.dumps(run),
                      json.dumps(admin.items(tenant_id, run["run_id"]))]
    responses.append(json.dumps(admin.notifications()))
    responses.append(admin.request("GET", f"/api/tenants/{tenant_id}/runs").text)

    assert sum(rule["fired"] for rule in sim.faults()) >= 3, "the echo faults must have fired"
    stored = {
        "tables": json.dumps([stack.entities(t) for t in
                              ("runs", "runitems", "notifications", "backupsets",
                               "backupitems", "versions", "idempotency", "audit",
                               "PolicyVaultInstances", "PolicyVaultHistory")], default=str),
        "blobs": b"".join(stack.blobs("snapshots").values()).decode("latin-1"),  # sealed
        "queue": "".join(stack.drain_queue("run-events")),
        "responses": "".join(responses),
        "logs": "\n".join(logging.Formatter().format(r) for r in caplog.records),
    }
    secret = sim.client_secret
    assert {where: _leaks(text, secret) for where, text in stored.items()} == {
        where: [] for where in stored}
