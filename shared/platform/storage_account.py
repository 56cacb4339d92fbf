"""Identity-based storage configuration: the ``AzureWebJobsStorage__*`` settings the Functions
host reads for a connection without keys (DESIGN §2, §13), read the same way for the app's own
table, blob and queue clients.

A connection string in ``AzureWebJobsStorage`` wins, as it does for the host. Without one,
``AzureWebJobsStorage__accountName`` names the account and the three endpoints are derived
from it (Azure public cloud); ``__blobServiceUri``, ``__queueServiceUri`` and
``__tableServiceUri`` override an endpoint each (another cloud, a custom domain) and, when all
three are given, no account name is needed. ``__credential`` may only be ``managedidentity``
(the host's one value); ``__clientId`` picks a user-assigned identity.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from shared.platform.errors import ConfigError

SECTION = "AzureWebJobsStorage"
_ACCOUNT_RE = re.compile(r"^[a-z0-9]{3,24}$")
_SERVICES = ("blob", "queue", "table")


@dataclass(frozen=True)
class StorageIdentity:
    """One storage account reached with a Microsoft Entra token instead of a key."""

    blob_url: str
    queue_url: str
    table_url: str
    client_id: str | None = None  # a user-assigned managed identity; None: the default one


def _setting(env: dict[str, str], key: str) -> str:
    return env.get(f"{SECTION}__{key}", "").strip()


def storage_identity(env: dict[str, str]) -> StorageIdentity | None:
    """The identity-based connection configured in ``env``, or None when a connection string
    is set or no ``AzureWebJobsStorage__*`` setting is (then the default applies)."""
    if env.get(SECTION, "").strip():
        return None
    account = _setting(env, "accountName")
    explicit = {service: _setting(env, f"{service}ServiceUri") for service in _SERVICES}
    if not account and not any(explicit.values()):
        return None
    if account and not _ACCOUNT_RE.fullmatch(account):
        raise ConfigError(f"{SECTION}__accountName must be 3 to 24 lowercase letters or digits")
    urls: dict[str, str] = {}
    for service, url in explicit.items():
        name = f"{SECTION}__{service}ServiceUri"
        if url:
            if not url.startswith("https://"):
                raise ConfigError(f"{name} must be an https:// URL")
            urls[service] = url.rstrip("/")
        elif account:
            urls[service] = f"https://{account}.{service}.core.windows.net"
        else:
            raise ConfigError(f"missing required configuration: {name} or {SECTION}__accountName")
    credential = _setting(env, "credential")
    if credential and credential.lower() != "managedidentity":
        raise ConfigError(f"{SECTION}__credential must be managedidentity")
    return StorageIdentity(blob_url=urls["blob"], queue_url=urls["queue"],
                           table_url=urls["table"], client_id=_setting(env, "clientId") or None)
