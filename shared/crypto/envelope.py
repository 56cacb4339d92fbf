"""A tenant's data key and the snapshot envelope it seals (DESIGN §12).

A snapshot blob is::

    magic "PVSE" · format 1 (1 byte) · key version (4 bytes, big-endian) · nonce (12 bytes)
    · AES-256-GCM ciphertext and tag

The associated data binds the header, the tenant id and the blob name, so a blob that is
changed, copied to another name or into another tenant fails to open. The format byte lets a
later release read old blobs and write new ones; the key version names which of the tenant's
data keys sealed it.

Keys are derived from the 256-bit data key with HKDF-SHA256, one per purpose and tenant: the
AES-GCM key, and the HMAC-SHA256 key that names blobs (the keyed digest of the canonical
document), so nobody can confirm a guessed document from a blob name without the key.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from shared.platform.errors import SnapshotUnreadable

MAGIC = b"PVSE"
FORMAT = 1
DATA_KEY_BYTES = 32
NONCE_BYTES = 12
_HEADER = struct.Struct(">4sBI")  # magic, format, key version
CONTENT_TYPE = "application/octet-stream"


def is_envelope(blob: bytes) -> bool:
    """True when ``blob`` starts like a sealed snapshot (a plaintext one starts with ``{``)."""
    return blob[:len(MAGIC)] == MAGIC


def key_version(blob: bytes) -> int:
    """The version of the tenant's data key that sealed ``blob``."""
    if len(blob) < _HEADER.size + NONCE_BYTES:
        raise SnapshotUnreadable("the snapshot blob is cut short")
    magic, fmt, version = _HEADER.unpack_from(blob)
    if magic != MAGIC or fmt != FORMAT:
        raise SnapshotUnreadable(f"the snapshot blob has an unknown envelope format ({fmt})")
    return version


def _derive(raw: bytes, purpose: str, tenant_id: str) -> bytes:
    info = f"policyvault/{purpose}/v1|{tenant_id}".encode()
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(raw)


@dataclass(frozen=True)
class DataKey:
    """One version of one tenant's data key, unwrapped; never printed or persisted as is."""

    tenant_id: str
    version: int
    raw: bytes = field(repr=False)
    _aead: AESGCM = field(init=False, repr=False, compare=False)
    _name_key: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.raw) != DATA_KEY_BYTES:
            raise ValueError("a data key is 32 bytes")
        object.__setattr__(self, "_aead", AESGCM(_derive(self.raw, "snapshot", self.tenant_id)))
        object.__setattr__(self, "_name_key", _derive(self.raw, "blob-name", self.tenant_id))

    @classmethod
    def generate(cls, tenant_id: str, version: int) -> DataKey:
        return cls(tenant_id, version, os.urandom(DATA_KEY_BYTES))

    def digest(self, data: bytes) -> str:
        """The keyed content digest (HMAC-SHA256, hex) that names a snapshot blob."""
        return hmac.new(self._name_key, data, hashlib.sha256).hexdigest()

    def seal(self, blob_name: str, plaintext: bytes) -> bytes:
        header = _HEADER.pack(MAGIC, FORMAT, self.version)
        nonce = os.urandom(NONCE_BYTES)
        return header + nonce + self._aead.encrypt(nonce, plaintext,
                                                   self._associated(header, blob_name))

    def open(self, blob_name: str, blob: bytes) -> bytes:
        """The plaintext of a blob this key sealed under ``blob_name``; refuses anything else."""
        if key_version(blob) != self.version:
            raise SnapshotUnreadable("the snapshot blob was sealed with another key version")
        header, nonce = blob[:_HEADER.size], blob[_HEADER.size:_HEADER.size + NONCE_BYTES]
        try:
            return self._aead.decrypt(nonce, blob[_HEADER.size + NONCE_BYTES:],
                                      self._associated(header, blob_name))
        except InvalidTag:
            raise SnapshotUnreadable(
                "the snapshot blob failed its integrity check: changed, or moved from "
                "another name or tenant") from None

    def _associated(self, header: bytes, blob_name: str) -> bytes:
        tenant = self.tenant_id.encode()
        return header + struct.pack(">H", len(tenant)) + tenant + blob_name.encode()
