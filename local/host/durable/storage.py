"""Azure Storage primitives of a task hub: tables, queues and the payload container.

Only I/O lives here; the protocol (what is written when) lives in `orchestrations.py` and
`client.py`. Table string properties hold at most 32K UTF-16 characters and queue messages
64 KiB, so larger texts go to blobs and the row or message keeps the blob name.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from urllib.parse import quote

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.data.tables import UpdateMode
from azure.data.tables.aio import TableClient, TableServiceClient
from azure.storage.blob.aio import BlobServiceClient
from azure.storage.queue.aio import QueueClient

from local.host.durable.messages import LARGE_FIELDS, Message
from local.host.durable.names import TaskHubNames
from local.host.storage_options import client_options

log = logging.getLogger("local.host.durable")

MAX_PROPERTY_CHARS = 30_000      # < 32K UTF-16 code units per table string property
MAX_MESSAGE_CHARS = 45_000       # < 64 KiB queue message, leaving room for XML escaping
MAX_BATCH_OPS = 100              # per entity-group transaction
MAX_CHUNK_CHARS = 420_000        # 14 properties x 30K: far below the 1 MiB entity limit
BLOB_REF = "$blob"


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class TaskHubStorage:
    """Clients for every table, queue and container of one hub (created by `create`)."""

    def __init__(self, connection: str, names: TaskHubNames) -> None:
        self.names = names
        self._tables = TableServiceClient.from_connection_string(connection, **client_options())
        self._blobs = BlobServiceClient.from_connection_string(connection, **client_options())
        self.instances: TableClient = self._tables.get_table_client(names.instances_table)
        self.history: TableClient = self._tables.get_table_client(names.history_table)
        self.control: list[QueueClient] = [
            QueueClient.from_connection_string(connection, q, **client_options())
            for q in names.control_queues
        ]
        self.workitems = QueueClient.from_connection_string(connection, names.workitem_queue,
                                                        **client_options())
        self.container = self._blobs.get_container_client(names.payload_container)
        self.transactions = 0  # storage requests issued (benchmark figure)
        # set when this process sends to a queue, so its idle poller looks at once
        self.wakeups: dict[str, asyncio.Event] = {}
        # told of each send that is visible at once: other processes polling the queue
        self.sent_hooks: list[Callable[[QueueClient], None]] = []

    def wakeup(self, queue: QueueClient) -> asyncio.Event:
        return self.wakeups.setdefault(queue.queue_name, asyncio.Event())

    def wake(self, queues: Sequence[QueueClient]) -> None:
        """Something was sent to these queues (by this process or another): their idle
        pollers look at once."""
        for queue in queues:
            self.wakeup(queue).set()

    async def create(self) -> None:
        """Create every table, queue and container (idempotent)."""
        async def ignore_exists(coro: Any) -> None:
            try:
                await coro
            except ResourceExistsError:
                pass
        await asyncio.gather(
            ignore_exists(self._tables.create_table(self.names.instances_table)),
            ignore_exists(self._tables.create_table(self.names.history_table)),
            ignore_exists(self.workitems.create_queue()),
            ignore_exists(self.container.create_container()),
            *(ignore_exists(q.create_queue()) for q in self.control),
        )

    async def close(self) -> None:
        clients: list[Any] = [self.instances, self.history, self.workitems, *self.control,
                              self.container, self._tables, self._blobs]
        for client in clients:
            try:
                await client.close()
            except Exception:  # closing is best effort at shutdown
                log.debug("closing %r failed", client, exc_info=True)

    # -- blobs -------------------------------------------------------------------------------

    async def put_blob(self, name: str, text: str) -> None:
        self.transactions += 1
        await self.container.upload_blob(name, text.encode("utf-8"), overwrite=True)

    async def get_blob(self, name: str) -> str:
        self.transactions += 1
        stream = await self.container.download_blob(name)
        return (await stream.readall()).decode("utf-8")

    async def delete_blobs(self, prefix: str) -> None:
        names = [b.name async for b in self.container.list_blobs(name_starts_with=prefix)]
        self.transactions += 1 + len(names)
        for name in names:
            try:
                await self.container.delete_blob(name)
            except ResourceNotFoundError:
                pass

    @staticmethod
    def blob_prefix(instance_id: str) -> str:
        return quote(instance_id, safe="") + "/"

    async def put_text(self, entity: dict[str, Any], prop: str, text: str | None,
                       instance_id: str, memo: dict[str, tuple[str, str]] | None = None
                       ) -> None:
        """Set `prop` to `text`, moving it to a blob (`{prop}Blob`) when it is too large;
        `memo` remembers uploaded texts so an unchanged one is not uploaded again."""
        if text is None:
            return
        if utf16_len(text) <= MAX_PROPERTY_CHARS:
            entity[prop] = text
            return
        if memo is not None and prop in memo and memo[prop][0] is text:
            entity[prop + "Blob"] = memo[prop][1]
            return
        name = f"{self.blob_prefix(instance_id)}{prop.lower()}-{uuid.uuid4().hex}.json"
        await self.put_blob(name, text)
        entity[prop + "Blob"] = name
        if memo is not None:
            memo[prop] = (text, name)

    async def get_text(self, entity: dict[str, Any], prop: str) -> str | None:
        if entity.get(prop + "Blob"):
            return await self.get_blob(entity[prop + "Blob"])
        value = entity.get(prop)
        return None if value is None else str(value)

    # -- queues ------------------------------------------------------------------------------

    def control_queue(self, instance_id: str) -> QueueClient:
        return self.control[self.names.partition_of(instance_id)]

    async def encode(self, message: Message) -> str:
        """Message text, with large fields moved to blobs."""
        text = message.encode()
        if len(text) <= MAX_MESSAGE_CHARS:
            return text
        body = dict(message.body)
        for key in LARGE_FIELDS:
            value = body.get(key)
            if isinstance(value, str) and len(value) > 1024:
                name = f"{self.blob_prefix(message.instance)}msg-{message.id}-{key}.json"
                await self.put_blob(name, value)
                body[key] = {BLOB_REF: name}
        return Message(message.kind, message.instance, body, message.id).encode()

    async def resolve(self, message: Message) -> Message:
        """Fetch fields that `encode` moved to blobs."""
        for key in LARGE_FIELDS:
            value = message.body.get(key)
            if isinstance(value, dict) and BLOB_REF in value:
                message.body[key] = await self.get_blob(value[BLOB_REF])
        return message

    async def send(self, queue: QueueClient, message: Message, delay: float = 0) -> None:
        self.transactions += 1
        await queue.send_message(await self.encode(message), time_to_live=-1,
                                 visibility_timeout=max(0, int(delay)) or None)
        if int(delay) <= 0:
            self.wake([queue])
            for hook in self.sent_hooks:
                hook(queue)

    async def send_many(self, items: Sequence[tuple[QueueClient, Message, float]],
                        concurrency: int = 48) -> None:
        """Send messages concurrently (Azure queues have no batch put)."""
        gate = asyncio.Semaphore(concurrency)

        async def one(item: tuple[QueueClient, Message, float]) -> None:
            async with gate:
                await self.send(*item)
        await asyncio.gather(*(one(i) for i in items))

    # -- instance rows -----------------------------------------------------------------------

    async def read_instance(self, instance_id: str) -> dict[str, Any] | None:
        """The instance row with its ETag under `_etag`, or None."""
        self.transactions += 1
        try:
            entity = await self.instances.get_entity(instance_id, "")
        except ResourceNotFoundError:
            return None
        row = dict(entity)
        row["_etag"] = entity.metadata["etag"]
        return row

    async def insert_instance(self, row: dict[str, Any]) -> str:
        """Create the row; raises ResourceExistsError if the instance exists."""
        self.transactions += 1
        meta = await self.instances.create_entity(_clean(row))
        return meta["etag"]

    async def replace_instance(self, row: dict[str, Any], etag: str) -> str:
        """Replace the row if it still has `etag`; raises ResourceModifiedError otherwise."""
        self.transactions += 1
        meta = await self.instances.update_entity(
            _clean(row), mode=UpdateMode.REPLACE, etag=etag,
            match_condition=MatchConditions.IfNotModified)
        return meta["etag"]

    async def merge_instance(self, instance_id: str, fields: dict[str, Any], etag: str) -> str:
        self.transactions += 1
        meta = await self.instances.update_entity(
            {"PartitionKey": instance_id, "RowKey": "", **fields}, mode=UpdateMode.MERGE,
            etag=etag, match_condition=MatchConditions.IfNotModified)
        return meta["etag"]

    async def delete_instance(self, instance_id: str) -> None:
        self.transactions += 1
        await self.instances.delete_entity(instance_id, "")

    def query_instances(self, query: str | None, parameters: dict[str, Any],
                        page_size: int | None, select: list[str] | None = None) -> Any:
        if not query:
            return self.instances.list_entities(results_per_page=page_size, select=select)
        return self.instances.query_entities(query, parameters=parameters,
                                             results_per_page=page_size, select=select)

    # -- history rows ------------------------------------------------------------------------
    # One row per episode (or per ~420K characters of it): RowKey `{execution}.{first index}`,
    # the events' JSON array split over properties E00, E01, … (≤30K characters each), or in a
    # blob (`B`) when larger. A row counts only if it starts where the previous one ended, so
    # rows of an episode that crashed before its commit are ignored, then overwritten.

    @staticmethod
    def history_key(execution: str, index: int) -> str:
        return f"{execution}.{index:08d}"

    async def load_history(self, instance_id: str, execution: str,
                           count: int) -> list[dict[str, Any]]:
        """The first `count` events of `execution` (rows beyond it are uncommitted)."""
        if count <= 0:
            return []
        rows = self.history.query_entities(
            "PartitionKey eq @pk and RowKey ge @lo and RowKey lt @hi",
            parameters={"pk": instance_id, "lo": execution + ".", "hi": execution + "/"},
            results_per_page=1000)
        events: list[dict[str, Any]] = []
        async for page in rows.by_page():
            self.transactions += 1
            async for row in page:
                if len(events) >= count:
                    break
                if int(row["RowKey"].rsplit(".", 1)[1]) != len(events):
                    continue   # leftover of an episode that never committed
                events.extend(json.loads(await self._chunk_text(row)))
        if len(events) < count:
            raise RuntimeError(f"history of {instance_id} has {len(events)} of {count} events")
        return events[:count]

    async def _chunk_text(self, row: dict[str, Any]) -> str:
        if row.get("B"):
            return await self.get_blob(row["B"])
        return "".join(row[f"E{i:02d}"] for i in range(int(row["N"])))

    async def write_history(self, instance_id: str, execution: str, start: int,
                            events: Sequence[dict[str, Any]]) -> None:
        """Upsert the events as chunk rows starting at history index `start`."""
        rows = []
        index = start
        for chunk in _chunks(list(events)):
            text = json.dumps(chunk, separators=(",", ":"))   # ASCII: 1 char = 1 UTF-16 unit
            row: dict[str, Any] = {"PartitionKey": instance_id,
                                   "RowKey": self.history_key(execution, index)}
            if len(text) > MAX_CHUNK_CHARS:
                name = f"{self.blob_prefix(instance_id)}history-{execution}-{index}.json"
                await self.put_blob(name, text)
                row.update(B=name, N=0)
            else:
                parts = [text[i:i + MAX_PROPERTY_CHARS]
                         for i in range(0, len(text), MAX_PROPERTY_CHARS)] or [""]
                row.update({f"E{i:02d}": part for i, part in enumerate(parts)}, N=len(parts))
            rows.append(row)
            index += len(chunk)
        self.transactions += len(rows)
        await asyncio.gather(*(self.history.upsert_entity(r, mode=UpdateMode.REPLACE)
                               for r in rows))

    async def delete_history(self, instance_id: str, keep_execution: str | None = None) -> int:
        """Delete history rows of the instance, except those of `keep_execution`."""
        rows = self.history.query_entities("PartitionKey eq @pk",
                                           parameters={"pk": instance_id},
                                           select=["PartitionKey", "RowKey"])
        doomed = [{"PartitionKey": r["PartitionKey"], "RowKey": r["RowKey"]} async for r in rows
                  if not (keep_execution and r["RowKey"].startswith(keep_execution + "."))]
        self.transactions += 1
        for start in range(0, len(doomed), MAX_BATCH_OPS):
            self.transactions += 1
            await self.history.submit_transaction(
                [("delete", e) for e in doomed[start:start + MAX_BATCH_OPS]])
        return len(doomed)


def _clean(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if not k.startswith("_") and v is not None}


def _chunks(events: list[dict[str, Any]]) -> Iterable[list[dict[str, Any]]]:
    """Episode events in groups whose JSON stays under one row (a lone giant event goes to
    a blob by itself)."""
    chunk: list[dict[str, Any]] = []
    size = 0
    for ev in events:
        ev_size = len(json.dumps(ev)) + 1
        if chunk and size + ev_size > MAX_CHUNK_CHARS:
            yield chunk
            chunk, size = [], 0
        chunk.append(ev)
        size += ev_size
    if chunk:
        yield chunk
