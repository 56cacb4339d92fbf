"""What the stack has stored, as one comparable value: every table row and blob (with its ETag)
and every queue's message count under the stack's storage prefix. Two equal states mean
nothing was written in between. Durable's history table is left out: it only grows for an
orchestration that exists, and the instances table already shows a new one."""

from __future__ import annotations

import time
from typing import Any

from azure.data.tables import TableServiceClient
from azure.storage.blob import BlobServiceClient
from azure.storage.queue import QueueServiceClient

from local.stack import Stack
from shared.platform.storage import expand_connection_string

State = dict[str, Any]
TERMINAL = {"Completed", "Failed", "Terminated", "Canceled"}


class StorageState:
    def __init__(self, stack: Stack) -> None:
        connection = expand_connection_string(stack.storage_connection)
        self.prefix = stack.storage_prefix
        self.tables = TableServiceClient.from_connection_string(connection)
        self.blobs = BlobServiceClient.from_connection_string(connection)
        self.queues = QueueServiceClient.from_connection_string(connection)

    def now(self) -> State:
        state: State = {}
        for table in self._tables():
            if not table.endswith("History"):
                client = self.tables.get_table_client(table)
                state[f"table:{table}"] = {
                    (e["PartitionKey"], e["RowKey"]): e.metadata.get("etag")
                    for e in client.list_entities(select=["PartitionKey", "RowKey"])}
        for container in self.blobs.list_containers(name_starts_with=self.prefix):
            client = self.blobs.get_container_client(container.name)
            state[f"blob:{container.name}"] = {b.name: b.etag for b in client.list_blobs()}
        for queue in self.queues.list_queues(name_starts_with=self.prefix):
            properties = self.queues.get_queue_client(queue.name).get_queue_properties()
            state[f"queue:{queue.name}"] = properties.approximate_message_count
        return state

    def active_instances(self) -> list[str]:
        """Orchestrations not yet finished (one waiting on a retry timer writes nothing for a
        while, yet is not done)."""
        active = []
        for table in self._tables():
            if table.endswith("Instances"):
                client = self.tables.get_table_client(table)
                active += [e["PartitionKey"] for e in client.list_entities(
                    select=["PartitionKey", "RuntimeStatus"])
                    if e.get("RuntimeStatus") not in TERMINAL]
        return active

    def wait_quiet(self, timeout_s: float = 120.0, poll_s: float = 0.1) -> State:
        """The state once every orchestration has finished and nothing changes any more."""
        deadline = time.monotonic() + timeout_s
        last = self.now()
        while True:
            time.sleep(poll_s)
            current = self.now()
            active = self.active_instances()
            if current == last and not active:
                return current
            if time.monotonic() > deadline:
                raise TimeoutError(f"storage kept changing; orchestrations in flight: {active}")
            last = current

    def _tables(self) -> list[str]:
        return [t.name for t in self.tables.list_tables()
                if t.name.lower().startswith(self.prefix.lower())]
