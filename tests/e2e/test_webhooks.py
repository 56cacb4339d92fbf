"""Webhooks end to end (DESIGN §13): registered over the API, delivered by the queue function
of the local runtime to an HTTPS receiver on this machine (``localhost`` is on the stack's
``PV_WEBHOOK_ALLOWED_HOSTS``), signatures checked by the ``standardwebhooks`` package."""

from __future__ import annotations

import ipaddress
import logging
import socket
import uuid
from collections.abc import Iterator

import httpx
import pytest
from standardwebhooks import Webhook as StandardWebhook

from local.stack import Stack
from local.webhook_receiver import Answer, WebhookReceiver
from shared.platform.keys import parse_iso
from tests.e2e.restore_support import backup

SIG = "sig-" + uuid.uuid4().hex  # a Logic Apps style credential in the query string


@pytest.fixture
def receiver(stack: Stack, admin, tenant_id) -> Iterator[WebhookReceiver]:
    """A receiver for the test; the tenant's webhooks are deleted afterwards, so later tests
    of the session do not deliver to a receiver that is gone."""
    state = stack.sim.state
    assert state is not None
    with WebhookReceiver(state.leaf_cert_file, state.leaf_key_file) as running:
        yield running
    for hook in admin.ok("GET", _path(tenant_id))["value"]:
        admin.request("DELETE", _path(tenant_id, hook["webhook_id"]))


def _path(tenant_id: str, webhook_id: str = "") -> str:
    return f"/api/tenants/{tenant_id}/webhooks" + (f"/{webhook_id}" if webhook_id else "")


def _deliveries(admin, tenant_id: str, webhook_id: str, count: int) -> list[dict]:
    """The delivery rows, once ``count`` are there (the receiver has seen the requests; the
    row is written right after)."""
    for _ in range(200):
        rows = admin.ok("GET", f"{_path(tenant_id, webhook_id)}/deliveries")["value"]
        if len(rows) >= count:
            return rows
    raise AssertionError(f"fewer than {count} delivery rows")


def test_webhooks_the_secret_is_shown_once_and_the_query_string_never(admin, tenant_id):
    url = f"https://localhost:9/hook?{SIG}=1&sp=%2Ftriggers"
    created = admin.request("PUT", _path(tenant_id, "teams"),
                            json={"url": url, "events": ["run.failed", "run.succeeded"]})
    replaced = admin.request("PUT", _path(tenant_id, "teams"),
                             json={"url": url, "events": ["drift_detected"]})

    assert created.status_code == 201
    assert created.json()["secret"].startswith("whsec_")
    assert created.json()["url"] == "https://localhost:9/hook?[redacted]"
    assert created.json()["events"] == ["run.failed", "run.succeeded"]
    assert replaced.status_code == 200 and "secret" not in replaced.json()
    one = admin.ok("GET", _path(tenant_id, "teams"))
    listed = admin.ok("GET", _path(tenant_id))["value"]
    audit = admin.request("GET", f"/api/tenants/{tenant_id}/audit").text
    assert one == listed[0] == {**replaced.json()}
    assert one["events"] == ["drift_detected"]
    for shown in (created.text, replaced.text, str(listed), audit):
        assert SIG not in shown
    assert created.json()["secret"] not in audit + str(listed)
    assert admin.ok("GET", f"{_path(tenant_id, 'teams')}/deliveries")["value"] == []
    assert admin.request("DELETE", _path(tenant_id, "teams")).status_code == 204
    assert admin.request("GET", _path(tenant_id, "teams")).status_code == 404
    assert admin.request("DELETE", _path(tenant_id, "teams")).status_code == 404


def _hostname_that_resolves_internally() -> str:
    """This machine's own name: it resolves to a loopback or private address everywhere we
    run (checked, so the test cannot pass on a machine where it does not)."""
    name = socket.gethostname().lower()
    addresses = {info[4][0] for info in socket.getaddrinfo(name, 443)}
    assert addresses and not any(ipaddress.ip_address(a).is_global for a in addresses)
    assert name != "localhost"
    return name


@pytest.mark.parametrize("url", [
    "http://hooks.example.com/in", "https://127.0.0.1/in", "https://10.1.2.3/in",
    "https://169.254.169.254/metadata", "https://[::ffff:127.0.0.1]/in",
    "https://168.63.129.16/", "https://100.64.0.1/", "https://[::1]:8443/",
    "hostname",
])
def test_webhooks_internal_addresses_are_refused_and_nothing_is_written(admin, tenant_id, url):
    if url == "hostname":
        url = f"https://{_hostname_that_resolves_internally()}:8443/in"
    answer = admin.request("PUT", _path(tenant_id, "refused"),
                           json={"url": url, "events": ["run.succeeded"]})

    assert answer.status_code == 400
    assert answer.json()["code"] == "validation_failed"
    assert admin.request("GET", _path(tenant_id, "refused")).status_code == 404


def test_webhooks_need_the_tenant_admin_role(stack, admin, tenant_id):
    operator = str(uuid.uuid4())
    admin.grant(tenant_id, operator, "operator")
    with stack.api(operator) as client:
        answer = client.request("PUT", _path(tenant_id, "mine"),
                                json={"url": "https://localhost/x", "events": ["run.failed"]})
        listed = client.request("GET", _path(tenant_id))

    assert (answer.status_code, listed.status_code) == (403, 403)


def _register(admin, tenant_id: str, receiver: WebhookReceiver, webhook_id: str,
              events: tuple[str, ...] = ("run.succeeded",)) -> str:
    created = admin.request("PUT", _path(tenant_id, webhook_id), json={
        "url": receiver.url(f"/hook?{SIG}=1"), "events": list(events)})
    assert created.status_code == 201
    return created.json()["secret"]


def test_webhooks_a_finished_run_is_delivered_signed(admin, sim, tenant_id, receiver, caplog):
    caplog.set_level(logging.DEBUG)
    secret = _register(admin, tenant_id, receiver, "round-trip")
    policy = sim.objects(tenant_id, "configurationPolicies")[0]

    run = admin.wait(admin.capture(tenant_id, "configurationPolicies", policy["id"]))
    [request] = receiver.wait_for(1)

    event = StandardWebhook(secret).verify(request.body, request.headers)
    assert (event["type"], event["status"], event["run_id"]) == (
        "run.succeeded", "succeeded", run["run_id"])
    assert event["event_id"] == request.headers["webhook-id"]
    assert request.path == f"/hook?{SIG}=1"
    [row] = _deliveries(admin, tenant_id, "round-trip", 1)
    assert (row["outcome"], row["status_code"], row["attempt"]) == ("delivered", 200, 1)
    assert row["url"] == receiver.url("/hook?[redacted]")
    assert SIG not in caplog.text and secret.removeprefix("whsec_") not in caplog.text


def test_webhooks_an_outage_is_retried_with_the_same_webhook_id(
        admin, sim, tenant_id, receiver):
    secret = _register(admin, tenant_id, receiver, "outage")
    receiver.script(Answer(503))
    policy = sim.objects(tenant_id, "configurationPolicies")[0]

    admin.wait(admin.capture(tenant_id, "configurationPolicies", policy["id"]))
    first, second = receiver.wait_for(2)

    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    for request in (first, second):
        StandardWebhook(secret).verify(request.body, request.headers)
    latest, earliest = _deliveries(admin, tenant_id, "outage", 2)
    assert (earliest["attempt"], earliest["outcome"], earliest["status_code"]) == (
        1, "retrying", 503)
    assert (latest["attempt"], latest["outcome"], latest["status_code"]) == (
        2, "delivered", 200)
    assert earliest["event_id"] == latest["event_id"] == first.headers["webhook-id"]
    waited = parse_iso(earliest["next_attempt_at"]) - parse_iso(earliest["attempted_at"])
    assert waited.total_seconds() <= 30


def test_webhooks_a_drift_check_with_drift_delivers_drift_detected(
        admin, sim, tenant_id, receiver):
    secret = _register(admin, tenant_id, receiver, "drift", events=("drift_detected",))
    baseline = backup(admin, tenant_id, ["roleScopeTags"])
    added = httpx.post(f"{sim.base_url}/beta/deviceManagement/roleScopeTags",
                       json={"displayName": f"Added {uuid.uuid4().hex[:6]}"},
                       headers={"Authorization": f"Bearer {sim.graph_token(tenant_id)}"})
    assert added.status_code == 201, added.text

    run = admin.wait(admin.drift_check(tenant_id, baseline["backup_set_id"], ["roleScopeTags"]))
    [request] = receiver.wait_for(1)

    event = StandardWebhook(secret).verify(request.body, request.headers)
    assert (event["type"], event["run_id"]) == ("drift_detected", run["run_id"])
    assert event["drift"]["added"] == 1
    [row] = _deliveries(admin, tenant_id, "drift", 1)
    assert (row["event_type"], row["outcome"]) == ("drift_detected", "delivered")
