"""The Key Vault adapter of the key-encryption key. There is no local Key Vault, so the SDK's
``CryptographyClient`` is replaced by a fake for this adapter only: it wraps by XOR with a
per-version pad and answers as the SDK does (``WrapResult.key_id`` names the version)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ServiceRequestError,
)

from shared.crypto.key_vault import KeyVaultKek
from shared.platform.errors import DependencyUnavailable, KeyUnavailable

pytestmark = pytest.mark.anyio
KEY = "https://pv-kv.vault.azure.net/keys/pv-kek"
DATA_KEY = os.urandom(32)


@dataclass
class FakeVault:
    """One Key Vault key with versions; ``latest`` wraps when the id has no version."""

    latest: str = "1" * 32
    pads: dict[str, bytes] = field(default_factory=dict)
    calls: list[tuple[str, str, str]] = field(default_factory=list)
    fail_with: Exception | None = None

    def client(self, kid: str) -> FakeClient:
        return FakeClient(self, kid)

    def pad(self, version: str) -> bytes:
        return self.pads.setdefault(version, os.urandom(32))


@dataclass
class FakeClient:
    vault: FakeVault
    kid: str

    def _version(self) -> str:
        tail = self.kid.removeprefix(KEY).strip("/")
        return tail or self.vault.latest

    async def wrap_key(self, algorithm: str, key: bytes) -> SimpleNamespace:
        return self._op("wrap", algorithm, key, "encrypted_key")

    async def unwrap_key(self, algorithm: str, encrypted_key: bytes) -> SimpleNamespace:
        return self._op("unwrap", algorithm, encrypted_key, "key")

    def _op(self, name: str, algorithm: str, value: bytes, out: str) -> SimpleNamespace:
        self.vault.calls.append((name, algorithm, self.kid))
        if self.vault.fail_with is not None:
            raise self.vault.fail_with
        version = self._version()
        pad = self.vault.pad(version)
        return SimpleNamespace(key_id=f"{KEY}/{version}", algorithm=algorithm,
                               **{out: bytes(a ^ b for a, b in zip(value, pad, strict=True))})


async def test_key_vault_kek_wraps_with_rsa_oaep_256_and_records_the_version() -> None:
    vault = FakeVault()
    kek = KeyVaultKek(KEY, vault.client)
    wrapped = await kek.wrap(DATA_KEY)
    assert wrapped.kek_id == f"{KEY}/{vault.latest}" and wrapped.algorithm == "RSA-OAEP-256"
    assert wrapped.wrapped != DATA_KEY
    assert await kek.unwrap(wrapped) == DATA_KEY
    assert vault.calls == [("wrap", "RSA-OAEP-256", KEY),
                           ("unwrap", "RSA-OAEP-256", f"{KEY}/{vault.latest}")]


async def test_key_vault_kek_unwraps_an_old_version_after_the_vault_rotated() -> None:
    vault = FakeVault()
    kek = KeyVaultKek(KEY, vault.client)
    old = await kek.wrap(DATA_KEY)
    vault.latest = "2" * 32
    new = await kek.wrap(DATA_KEY)
    assert new.kek_id != old.kek_id
    assert await kek.unwrap(old) == await kek.unwrap(new) == DATA_KEY


@pytest.mark.parametrize("kid", [
    "https://evil.vault.azure.net/keys/pv-kek/" + "1" * 32,
    "https://pv-kv.vault.azure.net/keys/other-key/" + "1" * 32,
    "local:0123456789abcdef",
])
async def test_key_vault_kek_never_sends_a_key_id_outside_its_key(kid: str) -> None:
    vault = FakeVault()
    kek = KeyVaultKek(KEY, vault.client)
    wrapped = await kek.wrap(DATA_KEY)
    vault.calls.clear()
    with pytest.raises(KeyUnavailable, match="another key-encryption key"):
        await kek.unwrap(type(wrapped)(kid, wrapped.algorithm, wrapped.wrapped))
    assert vault.calls == []


async def test_key_vault_kek_without_a_version_in_the_answer_refuses_to_wrap() -> None:
    class Versionless(FakeClient):
        async def wrap_key(self, algorithm: str, key: bytes) -> SimpleNamespace:
            return SimpleNamespace(key_id=KEY, algorithm=algorithm, encrypted_key=key)

    vault = FakeVault()
    with pytest.raises(KeyUnavailable, match="Key Vault Crypto User"):
        await KeyVaultKek(KEY, lambda kid: Versionless(vault, kid)).wrap(DATA_KEY)


@pytest.mark.parametrize(("error", "expected"), [
    (ClientAuthenticationError("no identity here: secret detail"), KeyUnavailable),
    (HttpResponseError(response=SimpleNamespace(status_code=403, reason="Forbidden",
                                                headers={}, text=lambda: "detail")),
     KeyUnavailable),
    (HttpResponseError(response=SimpleNamespace(status_code=429, reason="Too Many",
                                                headers={}, text=lambda: "detail")),
     DependencyUnavailable),
    (ServiceRequestError("connection refused: secret detail"), DependencyUnavailable),
])
async def test_key_vault_errors_become_ours_without_the_sdk_text(
        error: Exception, expected: type[Exception]) -> None:
    vault = FakeVault(fail_with=error)
    with pytest.raises(expected) as caught:
        await KeyVaultKek(KEY, vault.client).wrap(DATA_KEY)
    assert "detail" not in str(caught.value) and "Key Vault could not" in str(caught.value)


def test_key_vault_kek_with_managed_identity_builds_the_sdk_client() -> None:
    pytest.importorskip("azure.keyvault.keys")
    pytest.importorskip("azure.identity")
    kek = KeyVaultKek.with_managed_identity(KEY)
    client = kek._client(f"{KEY}/{'1' * 32}")
    assert type(client).__name__ == "CryptographyClient"
    assert client.key_id == f"{KEY}/{'1' * 32}"


async def test_key_vault_kek_over_the_sdk_wraps_and_unwraps_with_its_rsa_code() -> None:
    """The SDK's own RSA-OAEP-256 (local, from a JWK holding the private key): what the
    service does, run by the SDK code the adapter calls."""
    pytest.importorskip("azure.keyvault.keys")
    from azure.keyvault.keys import JsonWebKey
    from azure.keyvault.keys.crypto.aio import CryptographyClient
    from cryptography.hazmat.primitives.asymmetric import rsa

    numbers = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_numbers()

    def b(n: int) -> bytes:
        return n.to_bytes((n.bit_length() + 7) // 8, "big")

    jwk = JsonWebKey(kid=f"{KEY}/{'7' * 32}", kty="RSA", key_ops=["wrapKey", "unwrapKey"],
                     n=b(numbers.public_numbers.n), e=b(numbers.public_numbers.e),
                     d=b(numbers.d), p=b(numbers.p), q=b(numbers.q), dp=b(numbers.dmp1),
                     dq=b(numbers.dmq1), qi=b(numbers.iqmp))
    client = CryptographyClient.from_jwk(jwk)
    kek = KeyVaultKek.over_sdk(KEY, lambda kid: client)
    wrapped = await kek.wrap(DATA_KEY)
    assert (wrapped.kek_id, wrapped.algorithm) == (f"{KEY}/{'7' * 32}", "RSA-OAEP-256")
    assert len(wrapped.wrapped) == 256  # one RSA-2048 block
    assert await kek.unwrap(wrapped) == DATA_KEY
