"""Entra ID: OpenID metadata, the v2.0 token endpoint, Graph access tokens, caller tokens.

Errors follow Entra's shape: `error`, `error_description` starting `AADSTSnnnnn:`,
`error_codes`, `timestamp`, `trace_id`, `correlation_id`, `error_uri`.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import jwt

from .certs import AppCertificate, make_app_certificate, new_rsa_key, public_jwk
from .odata import GraphError

GRAPH_AUDIENCE = "https://graph.microsoft.com"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ACCESS_TOKEN_LIFETIME = 3599
APP_ROLES = (
    "DeviceManagementConfiguration.ReadWrite.All",
    "DeviceManagementServiceConfig.ReadWrite.All",
    "DeviceManagementApps.ReadWrite.All",
    "DeviceManagementRBAC.ReadWrite.All",
    "DeviceManagementManagedDevices.Read.All",
    "Policy.ReadWrite.ConditionalAccess",
    "Policy.Read.All",
    "Group.Read.All",
    "AuditLog.Read.All",  # auditLogs/directoryAudits (Intune's audit events: DeviceManagementApps)
)
DEFAULT_CALLER_AUDIENCE = "api://policyvault"


@dataclass
class Keys:
    """Signing keys for one simulator run; rotated only by restarting it."""

    client_id: str
    signing_key: Any = field(default_factory=new_rsa_key)
    signing_kid: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    caller_key: Any = field(default_factory=new_rsa_key)
    caller_kid: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    forge_key: Any = field(default_factory=new_rsa_key)
    app_cert: AppCertificate | None = None

    def __post_init__(self) -> None:
        if self.app_cert is None:
            self.app_cert = make_app_certificate(self.client_id)


class EntraError(Exception):
    """Raised to answer the token endpoint (or metadata) with an Entra error."""

    def __init__(self, status: int, error: str, code: int, description: str):
        super().__init__(description)
        self.status, self.error, self.code, self.description = status, error, code, description

    def body(self) -> dict[str, Any]:
        trace_id, correlation_id = str(uuid.uuid4()), str(uuid.uuid4())
        stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        return {
            "error": self.error,
            "error_description": (f"AADSTS{self.code}: {self.description} Trace ID: {trace_id} "
                                  f"Correlation ID: {correlation_id} Timestamp: {stamp}"),
            "error_codes": [self.code], "timestamp": stamp, "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": f"https://login.microsoftonline.com/error?code={self.code}",
        }


def tenant_not_found(name: str) -> EntraError:
    return EntraError(400, "invalid_request", 90002,
                      f"Tenant '{name}' not found. Check to make sure you have the correct tenant "
                      "ID and are signing into the correct cloud. Check with your subscription "
                      "administrator, this may happen if there are no active subscriptions for "
                      "the tenant.")


def openid_configuration(base: str, tenant_id: str) -> dict[str, Any]:
    root = f"{base}/{tenant_id}"
    return {
        "token_endpoint": f"{root}/oauth2/v2.0/token",
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt",
                                                  "client_secret_basic"],
        "jwks_uri": f"{root}/discovery/v2.0/keys",
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": f"{root}/v2.0",
        "request_uri_parameter_supported": False,
        "userinfo_endpoint": f"{base}/oidc/userinfo",
        "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
        "device_authorization_endpoint": f"{root}/oauth2/v2.0/devicecode",
        "http_logout_supported": True, "frontchannel_logout_supported": True,
        "end_session_endpoint": f"{root}/oauth2/v2.0/logout",
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "tid", "roles"],
        "kerberos_endpoint": f"{root}/kerberos",
        "tenant_region_scope": "EU", "cloud_instance_name": "graphsim.local",
        "cloud_graph_host_name": "graph.windows.net", "msgraph_host": "graph.microsoft.com",
        "rbac_url": "https://pas.windows.net",
    }


@dataclass
class TokenContext:
    base_url: str
    keys: Keys
    client_secret: str


def issue_app_token(ctx: TokenContext, tenant_id: str, consented: bool, path_tenant: str,
                    form: dict[str, str], roles: tuple[str, ...] = APP_ROLES) -> dict[str, Any]:
    """Validate a client_credentials request; return the token response or raise EntraError.
    ``roles``: the application permissions the tenant's admin consented to."""
    grant = form.get("grant_type")
    if not grant:
        raise EntraError(400, "invalid_request", 900144,
                         "The request body must contain the following parameter: 'grant_type'.")
    if grant != "client_credentials":
        raise EntraError(400, "unsupported_grant_type", 70003,
                         f"The app requested an unsupported grant type '{grant}'.")
    client_id = form.get("client_id", "")
    if client_id.lower() != ctx.keys.client_id or not consented:
        raise EntraError(400, "unauthorized_client", 700016,
                         f"Application with identifier '{client_id}' was not found in the "
                         f"directory '{path_tenant}'. This can happen if the application has not "
                         "been installed by the administrator of the tenant or consented to by "
                         "any user in the tenant. You may have sent your authentication request "
                         "to the wrong tenant.")
    scopes = (form.get("scope") or "").split()
    resource_scopes = [s for s in scopes if s not in ("openid", "profile", "offline_access")]
    if len(resource_scopes) != 1 or not resource_scopes[0].endswith("/.default"):
        raise EntraError(400, "invalid_scope", 1002012,
                         f"The provided value for scope {form.get('scope', '')} is not valid. "
                         "Client credential flows must have a scope value with /.default "
                         "suffixed to the resource identifier (application ID URI).")
    resource = resource_scopes[0][: -len("/.default")].rstrip("/")
    if resource not in (GRAPH_AUDIENCE, GRAPH_APP_ID, "https://graph.microsoft.com/"):
        raise EntraError(400, "invalid_resource", 500011,
                         f"The resource principal named {resource} was not found in the tenant "
                         f"named {path_tenant}.")
    if form.get("client_assertion") or form.get("client_assertion_type"):
        _check_assertion(ctx, tenant_id, path_tenant, form)
    elif "client_secret" in form:
        if form["client_secret"] != ctx.client_secret:
            raise EntraError(401, "invalid_client", 7000215,
                             "Invalid client secret provided. Ensure the secret being sent in the "
                             "request is the client secret value, not the client secret ID, for "
                             f"a secret added to app '{client_id}'.")
    else:
        raise EntraError(401, "invalid_client", 7000216,
                         "'client_assertion', 'client_secret' or 'request' is required for the "
                         "'client_credentials' grant type.")
    return {"token_type": "Bearer", "expires_in": ACCESS_TOKEN_LIFETIME,
            "ext_expires_in": ACCESS_TOKEN_LIFETIME,
            "access_token": mint_graph_token(ctx, tenant_id, roles)}


def _check_assertion(ctx: TokenContext, tenant_id: str, path_tenant: str,
                     form: dict[str, str]) -> None:
    if form.get("client_assertion_type") != ASSERTION_TYPE:
        raise EntraError(400, "invalid_request", 70002,
                         "The client_assertion_type must be "
                         f"'{ASSERTION_TYPE}'.")
    assertion = form.get("client_assertion") or ""
    cert = ctx.keys.app_cert
    assert cert is not None
    try:
        header = jwt.get_unverified_header(assertion)
    except jwt.PyJWTError as exc:
        raise EntraError(401, "invalid_client", 50027,
                         "JWT token is invalid or malformed.") from exc
    alg = header.get("alg")
    if alg not in ("RS256", "PS256"):
        raise EntraError(401, "invalid_client", 5002738,
                         f"Invalid JWT token. '{alg}' is not a supported signature algorithm.")
    if "x5t#S256" in header:
        known = str(header["x5t#S256"]).rstrip("=") == cert.x5t_s256
    elif "x5t" in header:
        known = str(header["x5t"]).rstrip("=") == cert.x5t
    else:
        known = False
    if not known:
        raise EntraError(401, "invalid_client", 700027,
                         "The certificate with identifier used to sign the client assertion is "
                         f"not registered on application. [Reason - The key was not found., "
                         f"Please visit the Azure Portal ... App Id: {ctx.keys.client_id}]")
    audiences = [f"{ctx.base_url}/{tenant_id}/oauth2/v2.0/token",
                 f"{ctx.base_url}/{path_tenant}/oauth2/v2.0/token",
                 f"{ctx.base_url}/{tenant_id}/v2.0"]
    try:
        claims = jwt.decode(assertion, cert.cert.public_key(), algorithms=[alg],
                            audience=audiences, options={"require": ["exp", "aud", "iss", "sub"]},
                            leeway=300)
    except jwt.InvalidAudienceError as exc:
        raise EntraError(401, "invalid_client", 700021,
                         "Client assertion audience claim does not match Realm issuer.") from exc
    except (jwt.ExpiredSignatureError, jwt.ImmatureSignatureError) as exc:
        raise EntraError(401, "invalid_client", 700024,
                         "Client assertion is not within its valid time range.") from exc
    except jwt.InvalidSignatureError as exc:
        raise EntraError(401, "invalid_client", 700027,
                         "Client assertion failed signature validation.") from exc
    except jwt.PyJWTError as exc:
        raise EntraError(401, "invalid_client", 50027,
                         f"JWT token is invalid or malformed: {type(exc).__name__}.") from exc
    if claims.get("iss") != claims.get("sub") or str(claims.get("sub")).lower() != \
            ctx.keys.client_id:
        raise EntraError(401, "invalid_client", 700023,
                         "Client assertion issuer and subject must both be the client id.")


def mint_graph_token(ctx: TokenContext, tenant_id: str,
                     roles: tuple[str, ...] = APP_ROLES) -> str:
    now = int(time.time())
    claims = {
        "aud": GRAPH_AUDIENCE, "iss": f"{ctx.base_url}/{tenant_id}/v2.0", "iat": now,
        "nbf": now, "exp": now + ACCESS_TOKEN_LIFETIME, "tid": tenant_id,
        "appid": ctx.keys.client_id, "azp": ctx.keys.client_id, "oid": str(uuid.uuid4()),
        "sub": str(uuid.uuid4()), "idtyp": "app", "ver": "1.0", "roles": list(roles),
        "uti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, ctx.keys.signing_key, algorithm="RS256",
                      headers={"kid": ctx.keys.signing_kid, "x5t": ctx.keys.signing_kid})


class GraphTokenVerifier:
    """Validates bearer tokens on Graph calls; caches successes by token string."""

    def __init__(self, keys: Keys):
        self.keys = keys
        self._cache: dict[str, dict[str, Any]] = {}

    def verify(self, authorization: str | None) -> dict[str, Any]:
        if not authorization:
            raise _invalid_token("Access token is empty.")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _invalid_token("Access token is empty.")
        token = token.strip()
        claims = self._cache.get(token)
        if claims is None:
            try:
                claims = jwt.decode(token, self.keys.signing_key.public_key(),
                                    algorithms=["RS256"], audience=[GRAPH_AUDIENCE, GRAPH_APP_ID],
                                    options={"require": ["exp", "tid"]})
            except jwt.ExpiredSignatureError as exc:
                raise _invalid_token("Lifetime validation failed, the token is expired.") from exc
            except jwt.InvalidSignatureError as exc:
                raise _invalid_token("Access token validation failure: signature is invalid."
                                     ) from exc
            except jwt.PyJWTError as exc:
                raise _invalid_token("Access token validation failure. Invalid audience or "
                                     "malformed token.") from exc
            if len(self._cache) > 10000:
                self._cache.clear()
            self._cache[token] = claims
        if claims["exp"] < time.time():
            self._cache.pop(token, None)
            raise _invalid_token("Lifetime validation failed, the token is expired.")
        return claims


def _invalid_token(message: str) -> GraphError:
    return GraphError(401, "InvalidAuthenticationToken", message,
                      {"WWW-Authenticate": 'Bearer realm="", authorization_uri='
                                          '"https://login.microsoftonline.com/common/oauth2/'
                                          'authorize", client_id="00000003-0000-0000-c000-'
                                          '000000000000"'})


def caller_issuer(base: str) -> str:
    return f"{base}/pv-issuer"


def mint_caller_token(base: str, keys: Keys, params: dict[str, Any]) -> dict[str, Any]:
    """A token for PolicyVault's own API (DESIGN §3); `forge` signs with a foreign key."""
    now = int(time.time())
    lifetime = int(params.get("lifetime_s", 3600))
    claims: dict[str, Any] = {
        "iss": params.get("issuer") or caller_issuer(base),
        "aud": params.get("audience") or DEFAULT_CALLER_AUDIENCE,
        "oid": params.get("oid") or str(uuid.uuid4()),
        "sub": params.get("oid") or str(uuid.uuid4()),
        "roles": list(params.get("roles") or []),
        "iat": now, "nbf": now + int(params.get("nbf_offset_s", 0)), "exp": now + lifetime,
    }
    if params.get("tid"):
        claims["tid"] = params["tid"]
    claims.update(params.get("extra_claims") or {})
    key = keys.forge_key if params.get("forge") else keys.caller_key
    token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": keys.caller_kid})
    return {"access_token": token, "token_type": "Bearer", "expires_in": lifetime,
            "claims": claims}


def caller_jwks(keys: Keys) -> dict[str, Any]:
    return {"keys": [public_jwk(keys.caller_key, keys.caller_kid)]}


def graph_jwks(keys: Keys) -> dict[str, Any]:
    return {"keys": [public_jwk(keys.signing_key, keys.signing_kid)]}
