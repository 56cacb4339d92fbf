"""Nothing secret leaks: Graph and Entra error bodies that echo the request's Authorization
header and the client secret never reach exception text, logs or returned error dicts."""

from __future__ import annotations

import logging
import traceback

import jwt
import pytest

from shared.graph import create_item, fetch_snapshot, fetch_snapshots, list_items
from shared.platform.codes import ErrorCode

pytestmark = pytest.mark.anyio
CONFIGS = "/beta/deviceManagement/deviceConfigurations"


def _assert_clean(texts, sim, token):
    secrets = [sim.client_secret, token, token.split(".")[1], "Bearer ey"]
    for text in texts:
        for secret in secrets:
            assert secret not in text, f"leaked in: {text[:200]}"


def _current_token(sim, tenant):
    """The token the client sends: minted by the simulator, recognisable by its tenant."""
    import msal
    app = msal.ConfidentialClientApplication(sim.client_id, authority=sim.authority(tenant),
                                             client_credential=sim.client_secret,
                                             instance_discovery=False)
    return app.acquire_token_for_client(["https://graph.microsoft.com/.default"])[
        "access_token"]


def _exception_texts(exc: BaseException) -> list[str]:
    texts = [str(exc), repr(exc), "".join(traceback.format_exception(exc))]
    if hasattr(exc, "to_dict"):
        texts.append(str(exc.to_dict()))
    return texts


async def test_safety_echoed_authorization_and_secret_never_leak(client, tenants, graphsim,
                                                                  caplog):
    caplog.set_level(logging.DEBUG)
    tenant = tenants[0]
    refs = await list_items(tenant, "deviceConfigurations", client=client)
    doc = await fetch_snapshot(tenant, "deviceConfigurations", refs[0].id, client=client)
    graphsim.add_fault(kind="echo_auth", tenant=tenant, path_prefix=CONFIGS)
    texts: list[str] = []
    for call in (
        lambda: list_items(tenant, "deviceConfigurations", client=client),
        lambda: fetch_snapshot(tenant, "deviceConfigurations", refs[0].id, client=client),
        lambda: create_item(tenant, "deviceConfigurations", doc, client=client),
    ):
        with pytest.raises(Exception) as caught:
            await call()
        assert caught.value.code == ErrorCode.GRAPH_UNAVAILABLE and caught.value.status == 500
        texts += _exception_texts(caught.value)
    results = await fetch_snapshots(tenant, "deviceConfigurations", [r.id for r in refs],
                                    client=client)
    assert all(r.error is not None for r in results)
    for result in results:
        texts += _exception_texts(result.error)
    texts += [r.getMessage() for r in caplog.records]
    texts += [str(r.args) for r in caplog.records]
    token = _current_token(graphsim, tenant)
    assert jwt.decode(token, options={"verify_signature": False})["tid"] == tenant
    _assert_clean(texts, graphsim, token)
    assert any("[redacted]" in t for t in texts)  # the echo did arrive, scrubbed


async def test_safety_token_endpoint_echo_never_leaks(client, tenants, graphsim, caplog):
    caplog.set_level(logging.DEBUG)
    graphsim.add_fault(kind="echo_auth", tenant=tenants[1], path_prefix=f"/{tenants[1]}/oauth2",
                       target="entra")
    with pytest.raises(Exception) as caught:
        await list_items(tenants[1], "namedLocations", client=client)
    assert caught.value.code in (ErrorCode.GRAPH_UNAVAILABLE, ErrorCode.GRAPH_DEADLINE_EXCEEDED)
    assert next(e["status"] for e in graphsim.requests() if e["path"].endswith("/token")) == 500
    texts = _exception_texts(caught.value) + [r.getMessage() for r in caplog.records]
    for text in texts:
        assert graphsim.client_secret not in text
