"""App-only tokens through real MSAL: secret and certificate credentials, one token request
per tenant however many calls start at once, one MSAL application object per tenant."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from shared.graph import list_items
from shared.graph.tokens import MsalTokenProvider, client_credential, get_token_provider
from shared.platform.config import load_settings
from shared.platform.errors import ConfigError, ValidationFailed

from .conftest import sim_env

pytestmark = pytest.mark.anyio


def _token_calls(sim) -> list[dict]:
    return [e for e in sim.requests() if e["path"].endswith("/oauth2/v2.0/token")]


async def test_tokens_certificate_pem_credential_works_like_secret(make_client, graphsim,
                                                                   tenants):
    settings = load_settings(sim_env(graphsim, GRAPH_CLIENT_SECRET="",
                                     GRAPH_CLIENT_CERTIFICATE_PATH=graphsim.app_pem_file))
    assert settings.graph.client_secret is None
    client = make_client(settings_=settings)
    refs = await list_items(tenants[0], "namedLocations", client=client)
    assert len(refs) == 3
    assert [c["status"] for c in _token_calls(graphsim)] == [200]


async def test_tokens_certificate_pfx_with_password_works(make_client, graphsim, tenants,
                                                          tmp_path: Path):
    key = serialization.load_pem_private_key(Path(graphsim.app_key_file).read_bytes(), None)
    cert = x509.load_pem_x509_certificate(Path(graphsim.app_cert_file).read_bytes())
    pfx = tmp_path / "app.pfx"
    pfx.write_bytes(pkcs12.serialize_key_and_certificates(
        b"pv", key, cert, None, serialization.BestAvailableEncryption(b"pfx-pass-word")))
    settings = load_settings(sim_env(graphsim, GRAPH_CLIENT_SECRET="",
                                     GRAPH_CLIENT_CERTIFICATE_PATH=str(pfx),
                                     GRAPH_CLIENT_CERTIFICATE_PASSWORD="pfx-pass-word"))
    client = make_client(settings_=settings)
    assert await list_items(tenants[1], "roleScopeTags", client=client)


async def test_tokens_concurrent_calls_make_one_token_request_per_tenant(make_client,
                                                                         graphsim, tenants):
    client = make_client()
    calls = [list_items(t, "namedLocations", client=client) for t in tenants for _ in range(15)]
    results = await asyncio.gather(*calls)
    assert all(len(r) == 3 for r in results)
    per_tenant = [c["tenant"] for c in _token_calls(graphsim)]
    assert sorted(per_tenant) == sorted(tenants)  # exactly one each
    discovery = [e for e in graphsim.requests() if "openid-configuration" in e["path"]]
    assert len(discovery) == len(tenants)  # one MSAL application object per tenant


async def test_tokens_revoked_token_is_refreshed_once(make_client, graphsim, tenants):
    provider = MsalTokenProvider(load_settings(sim_env(graphsim)).graph, graphsim.base_url)
    client = make_client(tokens=provider)
    await list_items(tenants[0], "namedLocations", client=client)
    provider._cache[tenants[0]].token = "not-a-valid-token"  # as if revoked early
    for app in provider._apps.values():  # and MSAL's own cache too
        for entry in list(app.token_cache.search(app.token_cache.CredentialType.ACCESS_TOKEN)):
            app.token_cache.remove_at(entry)
    await list_items(tenants[0], "namedLocations", client=client)
    statuses = [e["status"] for e in graphsim.requests() if e["kind"] == "graph"]
    assert statuses == [200, 401, 200]
    assert len(_token_calls(graphsim)) == 2


def test_tokens_provider_is_shared_per_process_for_equal_settings(graphsim):
    settings = load_settings(sim_env(graphsim))
    assert get_token_provider(settings) is get_token_provider(load_settings(sim_env(graphsim)))


def test_tokens_bad_certificate_file_is_a_config_error(tmp_path: Path, graphsim):
    bad = tmp_path / "nothing.pem"
    bad.write_text("not a pem")
    settings = load_settings(sim_env(graphsim, GRAPH_CLIENT_SECRET="",
                                     GRAPH_CLIENT_CERTIFICATE_PATH=str(bad)))
    with pytest.raises(ConfigError):
        client_credential(settings.graph)


async def test_tokens_malformed_tenant_id_is_refused_before_any_request(client, graphsim):
    with pytest.raises(ValidationFailed):
        await list_items("../evil?x=1", "namedLocations", client=client)
    assert graphsim.requests() == []


async def test_client_is_one_per_event_loop_and_closes(graphsim, tenants, monkeypatch):
    from shared.graph import close_graph_client, get_graph_client
    from shared.platform.config import get_settings

    for name, value in sim_env(graphsim).items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        first = get_graph_client()
        assert get_graph_client() is first
        assert await list_items(tenants[0], "namedLocations")  # the loop's client by default
        await close_graph_client()
        second = get_graph_client()
        assert second is not first
        await close_graph_client()
        await close_graph_client()  # nothing left to close: a no-op
        assert first.closed and second.closed
    finally:
        get_settings.cache_clear()
