"""The Durable management API needs the system key, as on Azure (issue 19, finding 1).

The public ``/runtime/webhooks/durabletask/…`` answers 401 without ``code`` or
``x-functions-key`` and changes nothing; the SDK's own calls go to a keyless listener bound to
loopback only; the management URLs a start hands out carry the key."""

from __future__ import annotations

import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.durable.harness import RPC, Hub


def _public(hub: Hub, method: str, path: str, **kwargs) -> requests.Response:
    return requests.request(method, f"{hub.base}{RPC}{path}", timeout=30, **kwargs)


@pytest.mark.parametrize("method, path", [
    ("POST", "/orchestrators/wait_forever/{id}"),
    ("GET", "/instances/{id}"),
    ("GET", "/instances"),
    ("POST", "/instances/{id}/terminate"),
    ("POST", "/instances/{id}/raiseEvent/approve"),
    ("DELETE", "/instances/{id}"),
    ("DELETE", "/instances?createdTimeFrom=2000-01-01T00:00:00Z"),
])
@pytest.mark.parametrize("key", [None, "wrong-key"])
def test_the_public_management_api_refuses_a_missing_or_wrong_key_and_changes_nothing(
        hub: Hub, method: str, path: str, key: str | None) -> None:
    victim = hub.start_id("wait_forever", instance_id=f"victim-{uuid.uuid4().hex[:8]}")
    hub.wait_for(lambda: (s := hub.status(victim)) and s["runtimeStatus"] == "Running",
                 what="running")
    params = {"code": key} if key else {}

    response = _public(hub, method, path.format(id=victim), params=params,
                       json={"x": 1})

    assert response.status_code == 401
    assert hub.status(victim)["runtimeStatus"] == "Running"
    fresh = f"new-{uuid.uuid4().hex[:8]}"
    assert _public(hub, "POST", f"/orchestrators/fan_out/{fresh}", params=params,
                   json={"n": 1}).status_code == 401
    assert hub.status(fresh) is None


def test_the_key_as_code_or_header_is_accepted(hub: Hub) -> None:
    key = hub.ext.system_key
    started = _public(hub, "POST", "/orchestrators/fan_out/keyed-1", params={"code": key},
                      json={"n": 2})
    assert started.status_code == 202
    assert hub.wait("keyed-1")["output"]["sum"] == 2
    by_header = _public(hub, "GET", "/instances/keyed-1", headers={"x-functions-key": key})
    assert by_header.status_code == 200


def test_management_urls_carry_the_key_and_work_as_given(hub: Hub) -> None:
    body = hub.start("approval", instance_id="links-1").json()  # the app's check-status reply

    for name in ("statusQueryGetUri", "sendEventPostUri", "terminatePostUri",
                 "purgeHistoryDeleteUri"):
        assert parse_qs(urlsplit(body[name]).query)["code"] == [hub.ext.system_key], name
    assert requests.get(body["statusQueryGetUri"], timeout=30).status_code == 202


def test_the_sdk_talks_to_a_keyless_listener_on_loopback_only(hub: Hub) -> None:
    rpc = urlsplit(hub.ext.rpc_base_url)
    assert rpc.hostname == "127.0.0.1" and rpc.port != urlsplit(hub.base).port
    assert "code" not in hub.ext.rpc_base_url
    client = hub.client()

    instance = hub.call(client.start_new("fan_out", "sdk-1", {"n": 3}))
    hub.wait(instance)
    status = hub.call(client.get_status(instance))

    assert status.output["sum"] == 6
    assert requests.get(f"{hub.ext.rpc_base_url}instances/{instance}",
                        timeout=30).status_code == 200  # keyless, from this machine


@pytest.mark.parametrize("method, path, kwargs", [
    ("GET", "/instances", {"params": {"top": "²"}}),
    ("POST", "/orchestrators/fan_out/deep-1", {"data": "[" * 100_000,
                                               "headers": {"Content-Type": "application/json"}}),
])
def test_hostile_input_to_the_management_api_is_a_400(hub: Hub, method, path, kwargs) -> None:
    response = hub.rpc(method, path, **kwargs)
    assert response.status_code == 400
    assert hub.status("deep-1") is None
