"""App-only Graph tokens per customer tenant, through MSAL (DESIGN §7).

One :class:`msal.ConfidentialClientApplication` per tenant per process (authority
``{authority_host}/{tenant}``, ``instance_discovery=False``); MSAL's in-memory cache keeps each
token until shortly before expiry. MSAL is synchronous and does network I/O (tenant discovery
in its constructor, the token request), so it runs on a worker thread; a per-tenant
``threading.Lock`` makes sure one token request per tenant is in flight across all event
loops, and a small expiry-aware cache answers the common case without a thread hop.

Trust comes from ``REQUESTS_CA_BUNDLE`` / ``SSL_CERT_FILE`` in the environment: nothing here
passes ``verify=``. Every MSAL failure is translated once, here, into :class:`AuthFailed`,
:class:`ConsentMissing` or :class:`GraphTransient`, with the secret redacted.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import msal
import msal.exceptions
import requests
import requests.adapters

from shared.graph.retry import parse_retry_after
from shared.platform.config import GraphCredentials, Settings, get_settings
from shared.platform.errors import (
    AuthFailed,
    ConfigError,
    ConsentMissing,
    GraphTransient,
    ValidationFailed,
)
from shared.platform.redact import redact

log = logging.getLogger(__name__)

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
REFRESH_MARGIN_S = 300.0  # a cached token is reused until 5 minutes before it expires
MSAL_TIMEOUT_S = 30.0
ENTRA_CONNECTIONS = 10  # kept open to the Entra host, shared by every tenant's token requests
MSAL_DEFAULT_THROTTLE_S = 5.0  # how long MSAL refuses locally after a 5xx without Retry-After
_TENANT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$")
_AADSTS_RE = re.compile(r"AADSTS(\d{4,8})")
_HTTP_STATUS_RE = re.compile(r"HTTP Error: (\d{3})")

# Entra codes meaning "the app is not (or no longer) consented/installed in this tenant".
CONSENT_CODES = frozenset({65001, 700016, 7000229})


class TokenSource(Protocol):
    """What the Graph client needs from a token provider (tests may pass their own)."""

    async def get_token(self, tenant_id: str) -> str: ...

    def invalidate(self, tenant_id: str, token: str) -> None: ...

    @property
    def secrets(self) -> tuple[str, ...]: ...


class _EntraSession(requests.Session):
    """MSAL's HTTP session for one tenant. MSAL throttles itself after a 429/5xx (for the
    Retry-After, else 5 s) and then fails locally without a request; remembering until when
    lets the Graph client wait exactly that long instead of burning its attempts.
    ``adapter``: the connection pool the provider's sessions share (every tenant's token
    comes from the same Entra host: one TLS handshake, not two per tenant)."""

    def __init__(self, adapter: requests.adapters.HTTPAdapter) -> None:
        super().__init__()
        self.mount("https://", adapter)
        self.blocked_until = 0.0

    def request(self, method: str | bytes, url: str | bytes, *args: Any,
                **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", MSAL_TIMEOUT_S)
        response = super().request(method, url, *args, **kwargs)
        if response.status_code == 429 or response.status_code >= 500:
            wait = parse_retry_after(response.headers.get("Retry-After"))
            self.blocked_until = time.time() + (MSAL_DEFAULT_THROTTLE_S if wait is None
                                                else min(wait, 3600.0))
        return response

    def retry_after(self) -> float | None:
        remaining = self.blocked_until - time.time()
        return remaining if remaining > 0 else None


@dataclass
class _Cached:
    token: str
    expires_at: float


class MsalTokenProvider:
    """App-only tokens for many tenants with one MSAL application object per tenant."""

    def __init__(self, credentials: GraphCredentials, authority_host: str) -> None:
        self._credentials = credentials
        self._authority_host = authority_host.rstrip("/")
        self._client_credential: Any = None
        self._apps: dict[str, msal.ConfidentialClientApplication] = {}
        self._sessions: dict[str, _EntraSession] = {}
        self._adapter = requests.adapters.HTTPAdapter(pool_maxsize=ENTRA_CONNECTIONS)
        self._cache: dict[str, _Cached] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self._secrets = tuple(s for s in (credentials.client_secret,
                                          credentials.certificate_password) if s)

    @property
    def secrets(self) -> tuple[str, ...]:
        """Literal credentials to scrub from any foreign text."""
        return self._secrets

    async def get_token(self, tenant_id: str) -> str:
        check_tenant_id(tenant_id)
        cached = self._cache.get(tenant_id)
        if cached is not None and cached.expires_at - REFRESH_MARGIN_S > time.time():
            return cached.token
        return await asyncio.to_thread(self._acquire, tenant_id)

    def invalidate(self, tenant_id: str, token: str) -> None:
        """Forget ``token`` (Graph answered 401 to it) so the next call fetches a new one."""
        with self._guard:
            cached = self._cache.get(tenant_id)
            if cached is not None and cached.token == token:
                del self._cache[tenant_id]
            app = self._apps.get(tenant_id)
        if app is None:
            return
        cache = app.token_cache
        for entry in list(cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN)):
            if entry.get("secret") == token:
                cache.remove_at(entry)

    # ---- worker thread -------------------------------------------------------------------
    def _acquire(self, tenant_id: str) -> str:
        with self._guard:
            lock = self._locks.setdefault(tenant_id, threading.Lock())
        with lock:  # one token request per tenant at a time, across loops
            cached = self._cache.get(tenant_id)
            if cached is not None and cached.expires_at - REFRESH_MARGIN_S > time.time():
                return cached.token
            app = self._app(tenant_id)
            try:
                result = app.acquire_token_for_client(scopes=[GRAPH_SCOPE])
            except (requests.RequestException, msal.exceptions.MsalError, ValueError) as exc:
                # 5xx answers, dropped connections and non-JSON bodies: all retryable
                raise self._transport_error(tenant_id, exc) from exc
            if not isinstance(result, dict) or "access_token" not in result:
                raise self._entra_error(tenant_id, result if isinstance(result, dict) else {})
            token = result["access_token"]
            expires_in = float(result.get("expires_in") or 0)
            self._cache[tenant_id] = _Cached(token, time.time() + expires_in)
            log.debug("graph token for tenant %s from %s", tenant_id,
                      result.get("token_source", "identity_provider"))
            return token

    def _app(self, tenant_id: str) -> msal.ConfidentialClientApplication:
        app = self._apps.get(tenant_id)
        if app is not None:
            return app
        session = self._sessions.setdefault(tenant_id, _EntraSession(self._adapter))
        try:
            app = msal.ConfidentialClientApplication(
                self._credentials.client_id,
                authority=f"{self._authority_host}/{tenant_id}",
                client_credential=self._credential(),
                instance_discovery=False,
                http_client=session,
            )
        except (requests.RequestException, msal.exceptions.MsalError) as exc:
            raise self._transport_error(tenant_id, exc) from exc
        except ValueError as exc:  # tenant discovery refused: unknown tenant or authority
            codes = [int(c) for c in _AADSTS_RE.findall(str(exc))]
            reason = f" (AADSTS{codes[0]})" if codes else ""
            raise AuthFailed(
                f"Entra does not know tenant {tenant_id} at the configured authority{reason}"
            ) from exc
        with self._guard:  # keep the first if another thread raced us
            return self._apps.setdefault(tenant_id, app)

    def _credential(self) -> Any:
        if self._client_credential is None:
            self._client_credential = client_credential(self._credentials)
        return self._client_credential

    def _transport_error(self, tenant_id: str, exc: Exception) -> GraphTransient:
        status = getattr(getattr(exc, "response", None), "status_code", None)
        if status is None and (match := _HTTP_STATUS_RE.search(str(exc))):
            status = int(match.group(1))  # MSAL's own "HTTP Error: 503"
        detail = f"HTTP {status}" if status else type(exc).__name__
        session = self._sessions.get(tenant_id)
        return GraphTransient(f"Entra token endpoint unavailable for tenant {tenant_id} "
                              f"({detail})", status=status,
                              retry_after=session.retry_after() if session else None)

    def _entra_error(self, tenant_id: str, result: dict[str, Any]) -> AuthFailed:
        codes = [c for c in result.get("error_codes") or [] if isinstance(c, int)]
        if not codes:
            codes = [int(c) for c in _AADSTS_RE.findall(str(result.get("error_description")))]
        error = redact(str(result.get("error") or "unknown_error"), self._secrets, limit=60)
        description = str(result.get("error_description") or "")
        first_sentence = description.split(". ", 1)[0].split(" Trace ID:", 1)[0]
        detail = redact(first_sentence, self._secrets, limit=200)
        code = codes[0] if codes else None
        cls = ConsentMissing if code in CONSENT_CODES else AuthFailed
        correlation = result.get("correlation_id")
        message = f"Entra refused an app-only token for tenant {tenant_id}: {error}"
        if detail:
            message += f" — {detail}"
        return cls(message, request_id=correlation if isinstance(correlation, str) else None)


def client_credential(credentials: GraphCredentials) -> Any:
    """MSAL's ``client_credential`` from configuration: a secret, a PFX path, or a PEM file
    holding the private key and its certificate (PS256 with an SHA-256 thumbprint)."""
    if credentials.client_secret:
        return credentials.client_secret
    path = credentials.certificate_path
    if not path:
        raise ConfigError("missing required configuration: GRAPH_CLIENT_SECRET or "
                          "GRAPH_CLIENT_CERTIFICATE_PATH")
    if path.lower().endswith((".pfx", ".p12")):
        cred: dict[str, Any] = {"private_key_pfx_path": path}
        if credentials.certificate_password:
            cred["passphrase"] = credentials.certificate_password
        return cred
    try:
        pem = Path(path).read_text()
    except OSError as exc:
        raise ConfigError("GRAPH_CLIENT_CERTIFICATE_PATH cannot be read") from exc
    key = re.search(r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----.*?-----END (?:[A-Z]+ )?PRIVATE "
                    r"KEY-----", pem, re.S)
    cert = re.search(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", pem, re.S)
    if key is None or cert is None:
        raise ConfigError("GRAPH_CLIENT_CERTIFICATE_PATH must hold a private key and its "
                          "certificate (PEM), or be a .pfx")
    cred = {"private_key": key.group(0), "public_certificate": cert.group(0)}
    if credentials.certificate_password:
        cred["passphrase"] = credentials.certificate_password
    return cred


def check_tenant_id(tenant_id: str) -> None:
    """Tenant ids become URL path segments: GUIDs or domain names only."""
    if not isinstance(tenant_id, str) or not _TENANT_RE.fullmatch(tenant_id):
        raise ValidationFailed("tenant id must be a GUID or a domain name")


_providers: dict[tuple[str, ...], MsalTokenProvider] = {}
_providers_guard = threading.Lock()


def get_token_provider(settings: Settings | None = None) -> MsalTokenProvider:
    """The process-wide provider for these settings (one MSAL app per tenant per process)."""
    settings = settings or get_settings()
    creds = settings.graph
    key = (settings.authority_host, creds.client_id, creds.client_secret or "",
           creds.certificate_path or "")
    with _providers_guard:
        provider = _providers.get(key)
        if provider is None:
            provider = _providers[key] = MsalTokenProvider(creds, settings.authority_host)
        return provider
