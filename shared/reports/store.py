"""Report blobs: written chunk by chunk, each chunk sealed with the tenant's data key
(DESIGN §12, §14).

Container ``reports``, blob ``{tenant}/{run_id}.{html|md}``. A report is streamed: the writer
holds at most one chunk (:data:`CHUNK_BYTES`) of text, seals it with AES-256-GCM exactly as a
snapshot is sealed (:class:`shared.crypto.envelope.DataKey`) and stages it as one block of a
block blob; the commit puts the blocks in reading order. So the head — whose table of
contents and charts are counted during the walk — is staged last but stored first, and the
whole report is one pass over the backup set.

The blob is a sequence of records, each a 4-byte big-endian length and one sealed chunk. The
associated data names the blob and the chunk's place (``{path}#{n}``), and a last, empty
record sealed as ``{path}#end#{count}`` closes it: a chunk moved, dropped, swapped or cut off
fails to open (``SnapshotUnreadable``), as a snapshot does.

Retention (``shared.retention``, DESIGN §12) expires reports with
:meth:`ReportStore.purge_older_than`: reports are not referenced by backup sets, so their age
is all that decides; a report run whose blob is gone answers 404 ``not_found`` (expired).
"""

from __future__ import annotations

import base64
import struct

from azure.storage.blob import ContentSettings
from azure.storage.blob.aio import BlobClient

from shared.backups.tenant_keys import TenantKeys
from shared.crypto.envelope import CONTENT_TYPE, DataKey, key_version
from shared.platform.errors import SnapshotUnreadable
from shared.platform.storage import Storage, download_or_none, storage_errors

REPORTS = "reports"
CHUNK_BYTES = 256 * 1024
_LENGTH = struct.Struct(">I")


def report_path(tenant_id: str, run_id: str, extension: str) -> str:
    return f"{tenant_id}/{run_id}.{extension}"


def _block_id(n: int) -> str:
    return base64.b64encode(f"{n:010d}".encode()).decode()


def _record(sealed: bytes) -> bytes:
    return _LENGTH.pack(len(sealed)) + sealed


class ReportWriter:
    """Text in, sealed blocks out; :meth:`finish` stores the head first and commits."""

    def __init__(self, storage: Storage, key: DataKey, path: str) -> None:
        self._storage, self._key, self.path = storage, key, path
        self._buffer = bytearray()
        self._chunks = 0  # body chunks staged: blocks 1..n
        self.bytes_written = 0  # plaintext bytes
        self._blob: BlobClient | None = None

    async def write(self, text: str) -> None:
        if not text:
            return
        self._buffer += text.encode()
        if len(self._buffer) >= CHUNK_BYTES:
            await self._flush()

    async def finish(self, head: str) -> int:
        """Stage the head as block 0 and the closing record, commit; the plaintext size."""
        await self._flush()
        data = head.encode()
        await self._stage(0, data)
        await self._stage_sealed(self._chunks + 1, self._key.seal(
            f"{self.path}#end#{self._chunks + 1}", b""))
        blob = await self._client()
        with storage_errors(f"commit the report blob in {REPORTS}"):
            await blob.commit_block_list(
                [_block_id(n) for n in range(self._chunks + 2)],
                content_settings=ContentSettings(content_type=CONTENT_TYPE))
        self.bytes_written += len(data)
        return self.bytes_written

    async def _flush(self) -> None:
        if not self._buffer:
            return
        self._chunks += 1
        data = bytes(self._buffer)
        self._buffer.clear()
        self.bytes_written += len(data)
        await self._stage(self._chunks, data)

    async def _stage(self, n: int, data: bytes) -> None:
        await self._stage_sealed(n, self._key.seal(f"{self.path}#{n}", data))

    async def _stage_sealed(self, n: int, sealed: bytes) -> None:
        blob = await self._client()
        with storage_errors(f"write a report block to {REPORTS}"):
            await blob.stage_block(_block_id(n), _record(sealed))

    async def _client(self) -> BlobClient:
        if self._blob is None:
            container = await self._storage.container(REPORTS)
            self._blob = container.get_blob_client(self.path)
        return self._blob


class ReportStore:
    def __init__(self, storage: Storage, keys: TenantKeys | None = None) -> None:
        self._storage = storage
        self._keys = keys or TenantKeys(storage)

    async def writer(self, tenant_id: str, run_id: str, extension: str) -> ReportWriter:
        key = await self._keys.current(tenant_id)
        return ReportWriter(self._storage, key, report_path(tenant_id, run_id, extension))

    async def read(self, tenant_id: str, run_id: str, extension: str) -> bytes | None:
        """The report's text (UTF-8), or None when there is none (not written, or expired)."""
        path = report_path(tenant_id, run_id, extension)
        container = await self._storage.container(REPORTS)
        blob = await download_or_none(container, path)
        if blob is None:
            return None
        records = _records(blob)
        if not records:
            raise SnapshotUnreadable("the report blob is empty")
        parts = []
        for n, sealed in enumerate(records[:-1]):
            key = await self._keys.get(tenant_id, key_version(sealed))
            parts.append(key.open(f"{path}#{n}", sealed))
        last = records[-1]
        key = await self._keys.get(tenant_id, key_version(last))
        key.open(f"{path}#end#{len(records) - 1}", last)  # refuses a report cut short
        return b"".join(parts)


def _records(blob: bytes) -> list[bytes]:
    out, at = [], 0
    while at < len(blob):
        if at + _LENGTH.size > len(blob):
            raise SnapshotUnreadable("the report blob is cut short")
        (length,) = _LENGTH.unpack_from(blob, at)
        at += _LENGTH.size
        if at + length > len(blob):
            raise SnapshotUnreadable("the report blob is cut short")
        out.append(blob[at:at + length])
        at += length
    return out
