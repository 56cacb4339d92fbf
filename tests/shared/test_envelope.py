"""The snapshot envelope (DESIGN §12): AES-256-GCM under a key derived from the tenant's data
key, header, tenant id and blob name bound as associated data, blob names a keyed digest."""

from __future__ import annotations

import hashlib
import json

import pytest

from shared.crypto.envelope import MAGIC, DataKey, is_envelope, key_version
from shared.platform.errors import SnapshotUnreadable

TENANT = "6b2c0e4a-0000-4000-8000-000000000001"
OTHER = "6b2c0e4a-0000-4000-8000-000000000002"
NAME = f"{TENANT}/deviceConfigurations/abc/0123.json"
DOCUMENT = json.dumps({"displayName": "Contoso Wi-Fi", "ssid": "corp"}).encode()


@pytest.fixture
def key() -> DataKey:
    return DataKey.generate(TENANT, 1)


def test_seal_then_open_returns_the_plaintext_and_hides_it(key: DataKey) -> None:
    sealed = key.seal(NAME, DOCUMENT)
    assert is_envelope(sealed) and sealed.startswith(MAGIC)
    assert key_version(sealed) == 1
    assert b"Contoso" not in sealed and b"{" not in sealed[:1]
    assert key.open(NAME, sealed) == DOCUMENT


def test_seal_twice_uses_a_fresh_nonce(key: DataKey) -> None:
    assert key.seal(NAME, DOCUMENT) != key.seal(NAME, DOCUMENT)


@pytest.mark.parametrize("offset", [-1, -20, 25])  # tag, ciphertext, nonce
def test_open_tampered_blob_is_refused(key: DataKey, offset: int) -> None:
    sealed = bytearray(key.seal(NAME, DOCUMENT))
    sealed[offset] ^= 0x01
    with pytest.raises(SnapshotUnreadable, match="integrity"):
        key.open(NAME, bytes(sealed))


def test_open_under_another_blob_name_is_refused(key: DataKey) -> None:
    sealed = key.seal(NAME, DOCUMENT)
    with pytest.raises(SnapshotUnreadable):
        key.open(NAME.replace("abc", "abd"), sealed)


def test_open_with_the_same_key_bytes_for_another_tenant_is_refused(key: DataKey) -> None:
    """The tenant id is associated data (and in the key derivation): a data key copied to
    another tenant's row opens none of the first tenant's blobs."""
    sealed = key.seal(NAME, DOCUMENT)
    with pytest.raises(SnapshotUnreadable):
        DataKey(OTHER, 1, key.raw).open(NAME, sealed)


def test_open_with_another_key_is_refused(key: DataKey) -> None:
    with pytest.raises(SnapshotUnreadable):
        DataKey.generate(TENANT, 1).open(NAME, key.seal(NAME, DOCUMENT))


def test_open_with_a_changed_key_version_in_the_header_is_refused(key: DataKey) -> None:
    sealed = bytearray(key.seal(NAME, DOCUMENT))
    sealed[8] ^= 0x02  # last byte of the key version: now version 3
    with pytest.raises(SnapshotUnreadable, match="another key version"):
        key.open(NAME, bytes(sealed))
    with pytest.raises(SnapshotUnreadable, match="integrity"):
        DataKey(TENANT, 3, key.raw).open(NAME, bytes(sealed))


def test_unknown_envelope_format_is_refused(key: DataKey) -> None:
    sealed = bytearray(key.seal(NAME, DOCUMENT))
    sealed[4] = 2
    with pytest.raises(SnapshotUnreadable, match="unknown envelope format"):
        key_version(bytes(sealed))
    with pytest.raises(SnapshotUnreadable, match="cut short"):
        key_version(MAGIC + b"\x01")


def test_digest_is_keyed_per_tenant_not_a_bare_sha256(key: DataKey) -> None:
    digest = key.digest(DOCUMENT)
    assert len(digest) == 64 and digest == key.digest(DOCUMENT)  # stable: deduplication
    assert digest != hashlib.sha256(DOCUMENT).hexdigest()
    assert digest != DataKey(OTHER, 1, key.raw).digest(DOCUMENT)
    assert digest != DataKey.generate(TENANT, 1).digest(DOCUMENT)


def test_data_key_never_prints_its_bytes(key: DataKey) -> None:
    assert key.raw.hex() not in repr(key) and str(key.raw) not in repr(key)
