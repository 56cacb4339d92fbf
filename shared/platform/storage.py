"""The Azure Storage edge: clients for one account and prefix, and the translation of every
azure-core error into the error tree (DESIGN §5, §6; STYLE rule 7).

Every table, container and queue name is ``PV_STORAGE_PREFIX`` + a fixed base name, so tests
and several deployments can share one account. Clients are asynchronous and bound to the event
loop that created them: use :func:`get_storage` from inside a running loop.

Only this module and :mod:`shared.platform.tables` import ``azure.core.exceptions``. Expected
conditions (a blob that already exists, one that is absent) are return values; any other
azure-core error leaves through :func:`storage_errors` as :class:`StorageError`, whose message
is ours — never the SDK's text, which can carry account names and SAS signatures.
"""

from __future__ import annotations

import asyncio
import re
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import (
    AzureError,
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.core.pipeline.transport import AioHttpTransport
from azure.data.tables.aio import TableClient, TableServiceClient
from azure.identity.aio import DefaultAzureCredential
from azure.storage.blob import ContentSettings
from azure.storage.blob.aio import BlobServiceClient, ContainerClient
from azure.storage.queue import BinaryBase64DecodePolicy, BinaryBase64EncodePolicy
from azure.storage.queue.aio import QueueClient, QueueServiceClient

from shared.platform.config import get_settings
from shared.platform.errors import StorageError
from shared.platform.loop_local import LoopLocal
from shared.platform.storage_account import StorageIdentity

_AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
DEVELOPMENT_STORAGE = (
    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
    f"AccountKey={_AZURITE_KEY};"
    "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;"
    "QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;"
    "TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;"
)


_SERVICE_CODE = re.compile(r"[A-Za-z]{1,64}")  # e.g. "AuthenticationFailed", "ServerBusy"


@contextmanager
def storage_errors(action: str) -> Iterator[None]:
    """Translate any azure-core error raised in the block into :class:`StorageError`.

    ``action`` says what failed in our words ("read a row of runs"); the message adds only the
    HTTP status and the service's error code, never the SDK's message. Catch expected
    conditions inside the block, before they reach it.
    """
    try:
        yield
    except AzureError as exc:
        raise StorageError(f"Azure Storage could not {action}: {_describe(exc)}") from exc


def _describe(exc: AzureError) -> str:
    if isinstance(exc, ServiceRequestError):
        return "the request could not be sent"
    if isinstance(exc, ServiceResponseError):
        return "no complete response arrived"
    if isinstance(exc, HttpResponseError):
        raw_code = getattr(exc, "error_code", None)
        code = str(getattr(raw_code, "value", raw_code) or "")
        status_code = getattr(exc, "status_code", None)
        status = f"HTTP {status_code}" if isinstance(status_code, int) else "an error response"
        return f"{status} {code}" if _SERVICE_CODE.fullmatch(code) else status
    return type(exc).__name__


def _transport() -> dict[str, Any]:
    """Client options: proxy settings read from the environment once, here, instead of on
    every request (aiohttp's ``trust_env`` also looks for a ``.netrc`` file each time: a tenth
    of a backup's CPU, measured)."""
    options: dict[str, Any] = {"transport": AioHttpTransport(use_env_settings=False)}
    proxies = {scheme: url for scheme, url in urllib.request.getproxies().items()
               if scheme in ("http", "https")}
    if proxies:
        options["proxies"] = proxies
    return options


def expand_connection_string(connection: str) -> str:
    """The SDKs do not understand the ``UseDevelopmentStorage=true`` shorthand; expand it."""
    if connection.strip().rstrip(";").lower() == "usedevelopmentstorage=true":
        return DEVELOPMENT_STORAGE
    return connection


@dataclass
class Storage:
    """Lazily created, cached clients; tables, containers and queues are created on first use.

    With ``identity`` the clients reach its endpoints with a Microsoft Entra token from
    :class:`DefaultAzureCredential` (the managed identity in Azure) and ``connection`` is
    unused; otherwise they use the connection string.
    """

    connection: str
    prefix: str = ""
    identity: StorageIdentity | None = None
    _tables: dict[str, TableClient] = field(default_factory=dict)
    _containers: dict[str, ContainerClient] = field(default_factory=dict)
    _queues: dict[str, QueueClient] = field(default_factory=dict)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def __post_init__(self) -> None:
        self._credential: DefaultAzureCredential | None = None
        if self.identity is not None:
            self._credential = DefaultAzureCredential(
                managed_identity_client_id=self.identity.client_id)
            self._table_service = TableServiceClient(
                self.identity.table_url, credential=self._credential, **_transport())
            self._blob_service = BlobServiceClient(
                self.identity.blob_url, credential=self._credential, **_transport())
            self._queue_service = QueueServiceClient(
                self.identity.queue_url, credential=self._credential, **_transport())
            return
        conn = expand_connection_string(self.connection)
        self._table_service = TableServiceClient.from_connection_string(conn, **_transport())
        self._blob_service = BlobServiceClient.from_connection_string(conn, **_transport())
        self._queue_service = QueueServiceClient.from_connection_string(conn, **_transport())

    def name(self, base: str) -> str:
        return f"{self.prefix}{base}"

    async def table(self, base: str) -> TableClient:
        if base not in self._tables:
            async with self._lock:
                if base not in self._tables:
                    name = self.name(base)
                    with storage_errors(f"create the table {name}"):
                        try:
                            await self._table_service.create_table(name)
                        except ResourceExistsError:
                            pass
                    self._tables[base] = self._table_service.get_table_client(name)
        return self._tables[base]

    async def container(self, base: str) -> ContainerClient:
        if base not in self._containers:
            async with self._lock:
                if base not in self._containers:
                    client = self._blob_service.get_container_client(self.name(base))
                    with storage_errors(f"create the container {self.name(base)}"):
                        try:
                            await client.create_container()
                        except ResourceExistsError:
                            pass
                    self._containers[base] = client
        return self._containers[base]

    async def queue(self, base: str) -> QueueClient:
        """A queue whose messages are base64 encoded, as the Functions queue binding expects."""
        if base not in self._queues:
            async with self._lock:
                if base not in self._queues:
                    client = self._queue_service.get_queue_client(
                        self.name(base),
                        message_encode_policy=BinaryBase64EncodePolicy(),
                        message_decode_policy=BinaryBase64DecodePolicy(),
                    )
                    with storage_errors(f"create the queue {self.name(base)}"):
                        try:
                            await client.create_queue()
                        except ResourceExistsError:
                            pass
                    self._queues[base] = client
        return self._queues[base]

    async def close(self) -> None:
        for client in [*self._tables.values(), *self._containers.values(), *self._queues.values()]:
            await client.close()
        await self._table_service.close()
        await self._blob_service.close()
        await self._queue_service.close()
        if self._credential is not None:
            await self._credential.close()


async def upload_once(container: ContainerClient, path: str, data: bytes,
                      content_type: str) -> bool:
    """Create the blob at ``path``; False when it already exists (it is left unchanged)."""
    with storage_errors(f"write a blob to {container.container_name}"):
        try:
            await container.upload_blob(
                path, data, overwrite=False,
                content_settings=ContentSettings(content_type=content_type),
            )
        except ResourceExistsError:
            return False
    return True


async def download_or_none(container: ContainerClient, path: str) -> bytes | None:
    """The blob's content, or None when there is no blob at ``path``."""
    with storage_errors(f"read a blob from {container.container_name}"):
        try:
            downloader = await container.download_blob(path)
            return await downloader.readall()
        except ResourceNotFoundError:
            return None


@dataclass(frozen=True)
class BlobState:
    """A blob as one read saw it: its ETag guards a later conditional write or delete."""

    name: str
    etag: str
    metadata: dict[str, str]
    created_on: datetime | None


def _state(name: str, props: Any) -> BlobState:
    return BlobState(name, props.etag, dict(props.metadata or {}), props.creation_time)


async def blob_state(container: ContainerClient, path: str) -> BlobState | None:
    """The blob's ETag and metadata, or None when there is no blob at ``path``."""
    with storage_errors(f"read a blob's properties in {container.container_name}"):
        try:
            return _state(path, await container.get_blob_client(path).get_blob_properties())
        except ResourceNotFoundError:
            return None


async def list_blob_states(container: ContainerClient, prefix: str) -> list[BlobState]:
    """Every blob whose name starts with ``prefix``, with its ETag and metadata."""
    with storage_errors(f"list blobs of {container.container_name}"):
        return [_state(b.name, b) async for b in
                container.list_blobs(name_starts_with=prefix, include=["metadata"])]


async def set_metadata_if_unchanged(container: ContainerClient, state: BlobState,
                                    metadata: dict[str, str]) -> bool:
    """Replace the metadata of the blob as ``state`` saw it; False when it changed or
    vanished since."""
    with storage_errors(f"write a blob's metadata in {container.container_name}"):
        try:
            await container.get_blob_client(state.name).set_blob_metadata(
                metadata, etag=state.etag, match_condition=MatchConditions.IfNotModified)
        except (ResourceModifiedError, ResourceNotFoundError):
            return False
    return True


async def delete_blob(container: ContainerClient, path: str) -> bool:
    """Delete the blob at ``path``; False when there was none."""
    with storage_errors(f"delete a blob from {container.container_name}"):
        try:
            await container.delete_blob(path)
        except ResourceNotFoundError:
            return False
    return True


async def delete_if_unchanged(container: ContainerClient, state: BlobState) -> bool:
    """Delete the blob as ``state`` saw it; False when it changed since (it is kept) or
    was already gone."""
    with storage_errors(f"delete a blob of {container.container_name}"):
        try:
            await container.delete_blob(state.name, etag=state.etag,
                                        match_condition=MatchConditions.IfNotModified)
        except (ResourceModifiedError, ResourceNotFoundError):
            return False
    return True


async def send_message(queue: QueueClient, data: bytes, *,
                       visible_in_s: int | None = None) -> None:
    """Put one message on ``queue``; with ``visible_in_s``, invisible until then."""
    with storage_errors(f"send a message to {queue.queue_name}"):
        await queue.send_message(data, visibility_timeout=visible_in_s)


def _from_settings() -> Storage:
    settings = get_settings()
    return Storage(settings.storage_connection, settings.storage_prefix,
                   settings.storage_identity)


_storage: LoopLocal[Storage] = LoopLocal(_from_settings)


def get_storage() -> Storage:
    """The process's storage for the running event loop, from configuration."""
    return _storage.get()
