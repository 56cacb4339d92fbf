"""Configuration from the environment (DESIGN §2), validated on first use.

Nothing reads the environment at import time: call :func:`get_settings`. The local runtime
loads ``local.settings.json`` ``Values`` into the environment (the process environment wins)
before the app asks for settings, exactly as the Functions host does.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from dataclasses import dataclass, field
from datetime import timedelta
from functools import lru_cache

from shared.platform.errors import ConfigError
from shared.platform.storage_account import StorageIdentity, storage_identity
from shared.retention.settings import DEFAULT_ORPHAN_GRACE

DEFAULT_STORAGE = "UseDevelopmentStorage=true"
_PREFIX_RE = re.compile(r"^([a-z][a-z0-9]{0,19})?$")
# https://{vault}.vault.azure.net/keys/{name}[/{version}] (also sovereign clouds, Managed HSM)
_KEY_ID_RE = re.compile(
    r"^https://[A-Za-z0-9.-]+(:[0-9]+)?/keys/[A-Za-z0-9-]{1,127}(/[0-9A-Za-z]+)?$")
KEK_BYTES = 32


@dataclass(frozen=True)
class GraphCredentials:
    """The MSP's multi-tenant app registration; the secret never leaves this object."""

    client_id: str
    client_secret: str | None
    certificate_path: str | None
    certificate_password: str | None

    def __repr__(self) -> str:  # never print the secret
        return f"GraphCredentials(client_id={self.client_id!r}, secret=***)"


@dataclass(frozen=True)
class GraphBudget:
    """What PolicyVault sends one customer tenant per window at most: Intune's documented
    limits per app per tenant (DESIGN §7), so Graph's throttling is met, not provoked."""

    requests: int = 1000
    writes: int = 100
    window_s: float = 20.0


@dataclass(frozen=True)
class SnapshotKeyConfig:
    """Where the key-encryption key of the tenants' data keys lives (DESIGN §12): a Key Vault
    key (wrap/unwrap through the managed identity) or, on one machine, 32 local bytes."""

    key_vault_key_id: str | None = None
    local_kek: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Settings:
    storage_connection: str
    storage_prefix: str
    storage_identity: StorageIdentity | None  # set: no connection string, a managed identity
    graph_base_url: str
    authority_host: str
    graph: GraphCredentials
    api_issuer: str
    api_audience: str
    api_jwks_url: str
    portal_base_url: str
    snapshot_key: SnapshotKeyConfig
    graph_budget: GraphBudget = GraphBudget()
    # Exact host names whose webhooks skip the address check (still https; DESIGN §13).
    webhook_allowed_hosts: frozenset[str] = frozenset()
    orphan_grace: timedelta = DEFAULT_ORPHAN_GRACE  # PV_ORPHAN_GRACE_HOURS (DESIGN §12)


def _required(env: dict[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(f"missing required configuration: {name}")
    return value


def _https_url(env: dict[str, str], name: str, default: str) -> str:
    value = (env.get(name) or default).strip().rstrip("/")
    if not value.startswith("https://"):
        raise ConfigError(f"{name} must be an https:// URL")
    return value


def _positive_int(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit() and int(raw) > 0):
        raise ConfigError(f"{name} must be a whole number above 0")
    return int(raw)


def _host_names(env: dict[str, str], name: str) -> frozenset[str]:
    """Comma-separated exact host names, lower-cased; blanks ignored."""
    names = {part.strip().lower().rstrip(".") for part in env.get(name, "").split(",")}
    names.discard("")
    bad = sorted(n for n in names if not re.fullmatch(r"[a-z0-9.-]{1,253}|\[[0-9a-f:.]+\]", n))
    if bad:
        raise ConfigError(f"{name} must list host names, separated by commas")
    return frozenset(names)


def load_storage_prefix(env: dict[str, str]) -> str:
    prefix = env.get("PV_STORAGE_PREFIX", "").strip()
    if not _PREFIX_RE.fullmatch(prefix):
        raise ConfigError(
            "PV_STORAGE_PREFIX must be up to 20 lowercase letters or digits, starting with a letter"
        )
    return prefix


def parse_local_kek(value: str, name: str = "PV_SNAPSHOT_KEK") -> bytes:
    """32 bytes from their base64 text; the message never repeats the value."""
    try:
        key = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != KEK_BYTES:
        raise ConfigError(f"{name} must be {KEK_BYTES} random bytes, base64-encoded "
                          "(e.g. the output of: openssl rand -base64 32)")
    return key


def parse_key_vault_key_id(value: str, name: str = "PV_KEY_VAULT_KEY_ID") -> str:
    key_id = value.strip().rstrip("/")
    if not _KEY_ID_RE.fullmatch(key_id):
        raise ConfigError(f"{name} must be a Key Vault key identifier: "
                          "https://<vault>.vault.azure.net/keys/<name>[/<version>]")
    return key_id


def _snapshot_key(env: dict[str, str]) -> SnapshotKeyConfig:
    vault, local = (env.get(n, "").strip() for n in ("PV_KEY_VAULT_KEY_ID", "PV_SNAPSHOT_KEK"))
    if vault and local:
        raise ConfigError("set only one of PV_KEY_VAULT_KEY_ID and PV_SNAPSHOT_KEK")
    if vault:
        return SnapshotKeyConfig(key_vault_key_id=parse_key_vault_key_id(vault))
    if local:
        return SnapshotKeyConfig(local_kek=parse_local_kek(local))
    raise ConfigError("missing required configuration: PV_KEY_VAULT_KEY_ID or PV_SNAPSHOT_KEK")


def load_settings(env: dict[str, str] | None = None) -> Settings:
    """Read and validate settings; raises :class:`ConfigError` naming the first bad variable."""
    env = dict(os.environ if env is None else env)
    prefix = load_storage_prefix(env)
    secret = env.get("GRAPH_CLIENT_SECRET") or None
    cert = env.get("GRAPH_CLIENT_CERTIFICATE_PATH") or None
    if not secret and not cert:
        raise ConfigError(
            "missing required configuration: GRAPH_CLIENT_SECRET or GRAPH_CLIENT_CERTIFICATE_PATH"
        )
    return Settings(
        storage_connection=env.get("AzureWebJobsStorage") or DEFAULT_STORAGE,
        storage_prefix=prefix,
        storage_identity=storage_identity(env),
        graph_base_url=_https_url(env, "GRAPH_BASE_URL", "https://graph.microsoft.com"),
        authority_host=_https_url(
            env, "ENTRA_AUTHORITY_HOST", "https://login.microsoftonline.com"
        ),
        graph=GraphCredentials(
            client_id=_required(env, "GRAPH_CLIENT_ID"),
            client_secret=secret,
            certificate_path=cert,
            certificate_password=env.get("GRAPH_CLIENT_CERTIFICATE_PASSWORD") or None,
        ),
        api_issuer=_required(env, "API_AUTH_ISSUER"),
        api_audience=_required(env, "API_AUTH_AUDIENCE"),
        api_jwks_url=_https_url(env, "API_AUTH_JWKS_URL", _required(env, "API_AUTH_JWKS_URL")),
        portal_base_url=env.get("PORTAL_BASE_URL", "").strip().rstrip("/"),
        snapshot_key=_snapshot_key(env),
        graph_budget=GraphBudget(
            requests=_positive_int(env, "PV_GRAPH_REQUESTS_PER_20S", GraphBudget.requests),
            writes=_positive_int(env, "PV_GRAPH_WRITES_PER_20S", GraphBudget.writes)),
        webhook_allowed_hosts=_host_names(env, "PV_WEBHOOK_ALLOWED_HOSTS"),
        orphan_grace=timedelta(hours=_positive_int(
            env, "PV_ORPHAN_GRACE_HOURS", int(DEFAULT_ORPHAN_GRACE.total_seconds() // 3600))),
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings for this process, loaded once on first use."""
    return load_settings()


def validate() -> None:
    """Hook for hosts: fail fast, with one line naming the variable, before serving."""
    load_settings()
