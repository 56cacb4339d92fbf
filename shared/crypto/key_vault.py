"""The key-encryption key in Azure: a Key Vault key, wrap/unwrap with RSA-OAEP-256 through
the app's managed identity (DESIGN §12).

The adapter is small on purpose: the Key Vault SDK is reached only through a client factory
(``CryptographyClient`` per key version), so the rest of the product sees the same
:class:`~shared.crypto.kek.Kek` as on one machine, and a test can hand in a fake client.
Azure errors are translated here, once. The identity needs the *Key Vault Crypto User* role
(keys get, wrapKey, unwrapKey): with ``get``, the SDK resolves a versionless key id to the
version that wrapped, which is what every wrapped key records — so after a key rotation in the
vault, old data keys still unwrap with their own version until they are re-wrapped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol
from urllib.parse import urlsplit

from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ServiceRequestError,
    ServiceResponseError,
)

from shared.crypto.kek import WrappedKey
from shared.platform.errors import DependencyUnavailable, KeyUnavailable

ALGORITHM = "RSA-OAEP-256"


class CryptoClient(Protocol):
    """What this adapter uses of ``azure.keyvault.keys.crypto.aio.CryptographyClient``."""

    async def wrap_key(self, algorithm: Any, key: bytes) -> Any: ...

    async def unwrap_key(self, algorithm: Any, encrypted_key: bytes) -> Any: ...


def _key_base(key_id: str) -> tuple[str, str]:
    """(vault host, key name) of ``https://{host}/keys/{name}[/{version}]``."""
    parts = urlsplit(key_id)
    segments = [s for s in parts.path.split("/") if s]
    if parts.scheme != "https" or len(segments) not in (2, 3) or segments[0] != "keys":
        raise ValueError("not a Key Vault key identifier")
    return parts.netloc.lower(), segments[1].lower()


def _versioned(key_id: str) -> bool:
    return len([s for s in urlsplit(key_id).path.split("/") if s]) == 3


class KeyVaultKek:
    algorithm = ALGORITHM

    def __init__(self, key_id: str, clients: Callable[[str], CryptoClient],
                 algorithm: Any = ALGORITHM, credential: Any = None) -> None:
        self.kek_id = key_id
        self._base = _key_base(key_id)
        self._factory = clients
        self._algorithm = algorithm
        self._credential = credential
        self._clients: dict[str, CryptoClient] = {}

    @classmethod
    def with_managed_identity(cls, key_id: str) -> KeyVaultKek:
        """The real adapter: ``DefaultAzureCredential`` (the managed identity in Azure)."""
        from azure.identity.aio import DefaultAzureCredential
        from azure.keyvault.keys.crypto.aio import CryptographyClient

        credential = DefaultAzureCredential()
        return cls.over_sdk(key_id, lambda kid: CryptographyClient(kid, credential), credential)

    @classmethod
    def over_sdk(cls, key_id: str, clients: Callable[[str], CryptoClient],
                 credential: Any = None) -> KeyVaultKek:
        """Over SDK clients, which want the SDK's own enum (a plain string fails in its local
        RSA path: ``'str' object has no attribute 'value'``)."""
        from azure.keyvault.keys.crypto import KeyWrapAlgorithm

        return cls(key_id, clients, algorithm=KeyWrapAlgorithm.rsa_oaep_256,
                   credential=credential)

    def __repr__(self) -> str:
        return f"KeyVaultKek({self.kek_id})"

    def owns(self, kek_id: str) -> bool:
        """Any version of the configured key, in the configured vault — never a key id a
        table row names elsewhere (that would let a row choose our data key)."""
        try:
            return _key_base(kek_id) == self._base
        except ValueError:
            return False

    async def wrap(self, key: bytes) -> WrappedKey:
        with _key_vault_errors("wrap a data key"):
            result = await self._client(self.kek_id).wrap_key(self._algorithm, key)
        kid = str(result.key_id or self.kek_id)
        if not _versioned(kid) or not self.owns(kid):
            raise KeyUnavailable(
                "Key Vault did not say which key version wrapped the data key: give the app's "
                "identity the Key Vault Crypto User role, or set a versioned PV_KEY_VAULT_KEY_ID")
        return WrappedKey(kid, ALGORITHM, bytes(result.encrypted_key))

    async def unwrap(self, wrapped: WrappedKey) -> bytes:
        if not self.owns(wrapped.kek_id) or wrapped.algorithm != ALGORITHM:
            raise KeyUnavailable(f"the data key was wrapped by another key-encryption key "
                                 f"({wrapped.kek_id}, not {self.kek_id})")
        with _key_vault_errors("unwrap a data key"):
            result = await self._client(wrapped.kek_id).unwrap_key(self._algorithm,
                                                                  wrapped.wrapped)
        return bytes(result.key)

    async def close(self) -> None:
        for client in self._clients.values():
            close = getattr(client, "close", None)
            if close is not None:
                await close()
        self._clients.clear()
        if self._credential is not None:
            await self._credential.close()

    def _client(self, kid: str) -> CryptoClient:
        if kid not in self._clients:
            self._clients[kid] = self._factory(kid)
        return self._clients[kid]


@contextmanager
def _key_vault_errors(action: str) -> Iterator[None]:
    """Translate azure-core errors into ours: refused → :class:`KeyUnavailable`; throttled,
    5xx or unreachable → :class:`DependencyUnavailable` (retryable). Never the SDK's text."""
    what = f"Key Vault could not {action}"
    try:
        yield
    except ClientAuthenticationError as exc:
        raise KeyUnavailable(f"{what}: no token for the app's identity") from exc
    except (ServiceRequestError, ServiceResponseError) as exc:
        raise DependencyUnavailable(f"{what}: Key Vault is unreachable") from exc
    except HttpResponseError as exc:
        status = exc.status_code
        if status == 429 or (isinstance(status, int) and status >= 500):
            raise DependencyUnavailable(f"{what}: HTTP {status}") from exc
        raise KeyUnavailable(f"{what}: HTTP {status}") from exc
    except AzureError as exc:
        raise KeyUnavailable(f"{what}: {type(exc).__name__}") from exc
