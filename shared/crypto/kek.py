"""The key-encryption key (KEK) that wraps every tenant's data key (DESIGN §12).

One interface, two implementations: :class:`LocalKek` (``PV_SNAPSHOT_KEK``, AES key wrap,
RFC 3394) on one machine, and :class:`~shared.crypto.key_vault.KeyVaultKek` (a Key Vault key,
RSA-OAEP-256) in Azure. A wrapped key records which KEK wrapped it (``kek_id``), so a KEK only
unwraps what it wrapped and rotation knows what is left to re-wrap.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass, field
from typing import Protocol

from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

from shared.platform.config import KEK_BYTES, SnapshotKeyConfig, get_settings
from shared.platform.errors import KeyUnavailable
from shared.platform.loop_local import LoopLocal


@dataclass(frozen=True)
class WrappedKey:
    """A data key as stored: wrapped, with the KEK (and its version) that wrapped it."""

    kek_id: str
    algorithm: str
    wrapped: bytes = field(repr=False)


class Kek(Protocol):
    def owns(self, kek_id: str) -> bool:
        """True when this KEK can unwrap what ``kek_id`` wrapped."""

    async def wrap(self, key: bytes) -> WrappedKey: ...

    async def unwrap(self, wrapped: WrappedKey) -> bytes:
        """The data key; :class:`KeyUnavailable` when this KEK did not wrap it."""

    async def close(self) -> None:
        """Release clients (a Key Vault KEK holds HTTP sessions)."""


class LocalKek:
    """32 bytes from configuration; AES key wrap (RFC 3394). Its id is a keyed fingerprint,
    so it names the KEK without revealing anything of it."""

    algorithm = "A256KW"

    def __init__(self, key: bytes) -> None:
        if len(key) != KEK_BYTES:
            raise ValueError("a local key-encryption key is 32 bytes")
        self._key = key
        fingerprint = hmac.new(key, b"policyvault kek id", hashlib.sha256).hexdigest()[:16]
        self.kek_id = f"local:{fingerprint}"

    def __repr__(self) -> str:
        return f"LocalKek({self.kek_id})"

    def owns(self, kek_id: str) -> bool:
        return kek_id == self.kek_id

    async def wrap(self, key: bytes) -> WrappedKey:
        return WrappedKey(self.kek_id, self.algorithm, aes_key_wrap(self._key, key))

    async def unwrap(self, wrapped: WrappedKey) -> bytes:
        if not self.owns(wrapped.kek_id) or wrapped.algorithm != self.algorithm:
            raise KeyUnavailable(f"the data key was wrapped by another key-encryption key "
                                 f"({wrapped.kek_id}, not {self.kek_id})")
        try:
            return aes_key_unwrap(self._key, wrapped.wrapped)
        except InvalidUnwrap:
            raise KeyUnavailable("the wrapped data key failed its integrity check") from None

    async def close(self) -> None:
        return None


def new_local_kek() -> str:
    """A fresh ``PV_SNAPSHOT_KEK`` value: 32 random bytes, base64."""
    return base64.b64encode(os.urandom(KEK_BYTES)).decode()


def kek_from_config(config: SnapshotKeyConfig) -> Kek:
    if config.local_kek is not None:
        return LocalKek(config.local_kek)
    if config.key_vault_key_id:
        from shared.crypto.key_vault import KeyVaultKek

        return KeyVaultKek.with_managed_identity(config.key_vault_key_id)
    raise ValueError("no key-encryption key configured")


_keks: LoopLocal[dict[SnapshotKeyConfig, Kek]] = LoopLocal(dict)


def get_kek() -> Kek:
    """The configured KEK, one per event loop (a Key Vault client belongs to its loop)."""
    config = get_settings().snapshot_key
    made = _keks.get()
    if config not in made:
        made[config] = kek_from_config(config)
    return made[config]
