"""Azure Storage clients for one account and one name prefix (DESIGN §5).

Every table, container and queue name is ``PV_STORAGE_PREFIX`` + a fixed base name, so tests
and several deployments can share one account. Clients are asynchronous and bound to the event
loop that created them: use :func:`get_storage` from inside a running loop.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from azure.core.exceptions import ResourceExistsError
from azure.data.tables.aio import TableClient, TableServiceClient
from azure.storage.blob.aio import BlobServiceClient, ContainerClient
from azure.storage.queue import BinaryBase64DecodePolicy, BinaryBase64EncodePolicy
from azure.storage.queue.aio import QueueClient, QueueServiceClient

from shared.platform.config import get_settings
from shared.platform.loop_local import LoopLocal

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


def expand_connection_string(connection: str) -> str:
    """The SDKs do not understand the ``UseDevelopmentStorage=true`` shorthand; expand it."""
    if connection.strip().rstrip(";").lower() == "usedevelopmentstorage=true":
        return DEVELOPMENT_STORAGE
    return connection


@dataclass
class Storage:
    """Lazily created, cached clients; tables, containers and queues are created on first use."""

    connection: str
    prefix: str = ""
    _tables: dict[str, TableClient] = field(default_factory=dict)
    _containers: dict[str, ContainerClient] = field(default_factory=dict)
    _queues: dict[str, QueueClient] = field(default_factory=dict)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def __post_init__(self) -> None:
        conn = expand_connection_string(self.connection)
        self._table_service = TableServiceClient.from_connection_string(conn)
        self._blob_service = BlobServiceClient.from_connection_string(conn)
        self._queue_service = QueueServiceClient.from_connection_string(conn)

    def name(self, base: str) -> str:
        return f"{self.prefix}{base}"

    async def table(self, base: str) -> TableClient:
        if base not in self._tables:
            async with self._lock:
                if base not in self._tables:
                    name = self.name(base)
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


def _from_settings() -> Storage:
    settings = get_settings()
    return Storage(settings.storage_connection, settings.storage_prefix)


_storage: LoopLocal[Storage] = LoopLocal(_from_settings)


def get_storage() -> Storage:
    """The process's storage for the running event loop, from configuration."""
    return _storage.get()
