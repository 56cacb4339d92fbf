"""Entra ID: real MSAL against the simulated authority (secret and certificate)."""

from __future__ import annotations

import jwt
import msal
import pytest

from local.graphsim.certs import cert_pem, key_pem, make_app_certificate

from .conftest import GRAPH_SCOPE


def token_requests(graphsim) -> list[dict]:
    return [e for e in graphsim.requests() if e["path"].endswith("/oauth2/v2.0/token")]


def test_secret_token_claims_identify_tenant_app_and_roles(graphsim, msal_app, tenant_ids):
    result = msal_app(tenant_ids[1]).acquire_token_for_client(GRAPH_SCOPE)
    assert result["token_type"] == "Bearer"
    assert result["expires_in"] == 3599
    claims = jwt.decode(result["access_token"], options={"verify_signature": False})
    assert claims["tid"] == tenant_ids[1]
    assert claims["appid"] == graphsim.client_id
    assert claims["aud"] == "https://graph.microsoft.com"
    assert "DeviceManagementConfiguration.ReadWrite.All" in claims["roles"]
    assert claims["exp"] - claims["iat"] == 3599
    header = jwt.get_unverified_header(result["access_token"])
    assert header["alg"] == "RS256" and header["kid"]


def test_msal_cache_second_acquire_hits_no_token_endpoint(graphsim, msal_app, tenant_ids):
    app = msal_app(tenant_ids[0])
    first = app.acquire_token_for_client(GRAPH_SCOPE)
    assert first["token_source"] == "identity_provider"
    assert len(token_requests(graphsim)) == 1
    second = app.acquire_token_for_client(GRAPH_SCOPE)
    assert second["token_source"] == "cache"
    assert second["access_token"] == first["access_token"]
    assert len(token_requests(graphsim)) == 1


def test_msal_fetches_tenant_openid_configuration(graphsim, msal_app, tenant_ids):
    msal_app(tenant_ids[0])
    paths = [e["path"] for e in graphsim.requests()]
    assert f"/{tenant_ids[0]}/v2.0/.well-known/openid-configuration" in paths


def test_certificate_credential_ps256_token_issued(graphsim, msal_app, tenant_ids):
    app = msal_app(tenant_ids[0], graphsim.msal_certificate_credential())
    result = app.acquire_token_for_client(GRAPH_SCOPE)
    assert "access_token" in result, result.get("error_description")


def test_certificate_credential_sha1_thumbprint_rs256_token_issued(graphsim, msal_app,
                                                                   tenant_ids):
    credential = {"private_key": open(graphsim.app_key_file).read(),
                  "thumbprint": graphsim.app_cert_thumbprint}
    result = msal_app(tenant_ids[0], credential).acquire_token_for_client(GRAPH_SCOPE)
    assert "access_token" in result, result.get("error_description")


def test_certificate_not_registered_rejected_700027(graphsim, msal_app, tenant_ids):
    other = make_app_certificate(graphsim.client_id)
    credential = {"private_key": key_pem(other.key).decode(),
                  "public_certificate": cert_pem(other.cert).decode()}
    result = msal_app(tenant_ids[0], credential).acquire_token_for_client(GRAPH_SCOPE)
    assert result["error"] == "invalid_client"
    assert result["error_description"].startswith("AADSTS700027:")


def test_bad_secret_rejected_7000215(msal_app, tenant_ids, http, graphsim):
    result = msal_app(tenant_ids[0], "not-the-secret").acquire_token_for_client(GRAPH_SCOPE)
    assert result["error"] == "invalid_client"
    assert result["error_codes"] == [7000215]
    assert result["error_description"].startswith("AADSTS7000215:")
    for key in ("timestamp", "trace_id", "correlation_id"):
        assert result[key]
    raw = http.post(f"/{tenant_ids[0]}/oauth2/v2.0/token", data={
        "grant_type": "client_credentials", "client_id": graphsim.client_id,
        "client_secret": "nope", "scope": GRAPH_SCOPE[0]})
    assert raw.status_code == 401


def test_unknown_tenant_msal_constructor_raises_and_endpoints_answer_90002(msal_app, http,
                                                                           graphsim):
    unknown = "11111111-2222-3333-4444-555555555555"
    with pytest.raises(ValueError):
        msal_app(unknown)
    meta = http.get(f"/{unknown}/v2.0/.well-known/openid-configuration")
    assert meta.status_code == 400
    assert meta.json()["error_description"].startswith("AADSTS90002:")
    tok = http.post(f"/{unknown}/oauth2/v2.0/token", data={
        "grant_type": "client_credentials", "client_id": graphsim.client_id,
        "client_secret": graphsim.client_secret, "scope": GRAPH_SCOPE[0]})
    assert tok.status_code == 400
    assert tok.json()["error_codes"] == [90002]


def test_not_consented_tenant_rejected_700016(graphsim, msal_app, tenant_ids):
    graphsim.set_consent(tenant_ids[2], False)
    result = msal_app(tenant_ids[2]).acquire_token_for_client(GRAPH_SCOPE)
    assert result["error"] == "unauthorized_client"
    assert result["error_description"].startswith("AADSTS700016:")
    assert "access_token" in msal_app(tenant_ids[0]).acquire_token_for_client(GRAPH_SCOPE)


def test_unknown_client_id_rejected_700016(msal_app, tenant_ids):
    app = msal_app(tenant_ids[0], client_id="99999999-9999-9999-9999-999999999999")
    result = app.acquire_token_for_client(GRAPH_SCOPE)
    assert result["error_codes"] == [700016]


def test_scope_without_default_rejected_1002012(msal_app, tenant_ids):
    result = msal_app(tenant_ids[0]).acquire_token_for_client(
        ["https://graph.microsoft.com/DeviceManagementConfiguration.Read.All"])
    assert result["error"] == "invalid_scope"


def test_tenant_domain_authority_accepted(graphsim, msal_app):
    domain = graphsim.tenants()[0]["domain"]
    result = msal_app(domain).acquire_token_for_client(GRAPH_SCOPE)
    claims = jwt.decode(result["access_token"], options={"verify_signature": False})
    assert claims["tid"] == graphsim.tenant_ids[0]


def test_graph_without_or_with_bad_token_401_invalid_authentication_token(http):
    for headers in ({}, {"Authorization": "Bearer not-a-jwt"}):
        response = http.get("/v1.0/groups", headers=headers)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "InvalidAuthenticationToken"
        assert response.headers["request-id"]


def test_caller_token_validates_against_jwks_and_forged_one_does_not(graphsim, http):
    jwks = jwt.PyJWKSet.from_dict(http.get("/pv-issuer/discovery/keys").json())
    minted = http.post("/_sim/tokens", json={"oid": "user-1", "roles": ["Platform.Admin"],
                                             "audience": "api://pv", "lifetime_s": 600}).json()
    token = minted["access_token"]
    kid = jwt.get_unverified_header(token)["kid"]
    key = next(k for k in jwks.keys if k.key_id == kid)
    claims = jwt.decode(token, key.key, algorithms=["RS256"], audience="api://pv",
                        issuer=graphsim.caller_issuer)
    assert claims["oid"] == "user-1" and claims["roles"] == ["Platform.Admin"]
    forged = graphsim.mint_token(oid="user-1", audience="api://pv", forge=True)
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(forged, key.key, algorithms=["RS256"], audience="api://pv")
    future = graphsim.mint_token(oid="u", audience="api://pv", nbf_offset_s=600)
    with pytest.raises(jwt.ImmatureSignatureError):
        jwt.decode(future, key.key, algorithms=["RS256"], audience="api://pv")
    expired = graphsim.mint_token(oid="u", audience="api://pv", lifetime_s=-60)
    with pytest.raises(jwt.ExpiredSignatureError):
        jwt.decode(expired, key.key, algorithms=["RS256"], audience="api://pv")


def test_msal_certificate_helper_matches_written_files(graphsim):
    credential = graphsim.msal_certificate_credential()
    assert credential["public_certificate"] == open(graphsim.app_cert_file).read()
    assert isinstance(msal.ConfidentialClientApplication, type)
