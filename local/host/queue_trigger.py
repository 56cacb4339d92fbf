"""Azure Storage queue triggers, processed the way the Functions queue listener does.

- Queue name from the binding's `queueName` after `%NAME%` substitution, lower-cased; the
  queue (and on first use `<name>-poison`) is created if missing.
- Messages are fetched `batchSize` at a time and run concurrently; the next batch is fetched
  when at most `newBatchThreshold` are still running. Empty polls back off exponentially from
  100 ms up to `maxPollingInterval`.
- Bodies: base64 decoded (the Functions default encoding); text that is not valid base64 is
  passed as its UTF-8 bytes.
- While a message runs its lease is renewed. Success deletes it. Failure makes it visible
  again after `visibilityTimeout`; once it has been dequeued `maxDequeueCount` times it is
  copied, unchanged, to `<name>-poison` and deleted.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import logging
import math
import re
from typing import TYPE_CHECKING, Any

from azure.core.exceptions import AzureError, ResourceExistsError
from azure.functions.queue import QueueMessage as FunctionQueueMessage
from azure.storage.queue import QueueMessage
from azure.storage.queue.aio import QueueClient, QueueServiceClient

from local.host.config import QueuesConfig
from local.host.errors import HostConfigError
from local.host.extensions import NoInputBindings
from local.host.storage_options import client_options

if TYPE_CHECKING:
    from local.host.app_loader import FunctionSpec
    from local.host.function_host import FunctionHost

log = logging.getLogger("local.host.queue")
_QUEUE_NAME = re.compile(r"^[a-z0-9](?!.*--)[a-z0-9-]{1,54}[a-z0-9]$")  # leaves room: -poison
MIN_POLL_SECONDS = 0.1
LEASE_SECONDS = 60


def decode_body(text: str) -> bytes:
    """Base64 as the Functions host encodes queue messages; raw text if it is not base64."""
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return text.encode("utf-8")


def to_function_message(message: QueueMessage) -> FunctionQueueMessage:
    return FunctionQueueMessage(
        id=message.id,
        body=decode_body(message.content or ""),
        dequeue_count=message.dequeue_count,
        insertion_time=message.inserted_on,
        expiration_time=message.expires_on,
        time_next_visible=message.next_visible_on,
        pop_receipt=message.pop_receipt,
    )


class QueueListener:
    """Polls one queue for one function."""

    def __init__(self, host: FunctionHost, spec: FunctionSpec, service: QueueServiceClient,
                 queue_name: str, config: QueuesConfig) -> None:
        self.host, self.spec, self.config = host, spec, config
        self.queue_name = queue_name
        self.queue: QueueClient = service.get_queue_client(queue_name)
        self.poison: QueueClient = service.get_queue_client(f"{queue_name}-poison")
        self._running: set[asyncio.Task[None]] = set()
        self._slot_freed = asyncio.Event()
        self._poison_ready = False

    async def run(self) -> None:
        await self._create_queue()
        delay = MIN_POLL_SECONDS
        while True:
            if len(self._running) > self.config.new_batch_threshold:
                self._slot_freed.clear()
                await self._slot_freed.wait()
                continue
            try:
                messages = [m async for m in self.queue.receive_messages(
                    max_messages=self.config.batch_size,
                    messages_per_page=self.config.batch_size,
                    visibility_timeout=LEASE_SECONDS)]
            except AzureError as exc:
                log.warning("queue '%s': receive failed: %s", self.queue_name, type(exc).__name__)
                messages = []
            for message in messages:
                task = asyncio.create_task(self._process(message))
                self._running.add(task)
                task.add_done_callback(self._finished)
            if messages:
                delay = MIN_POLL_SECONDS
                continue
            await asyncio.sleep(delay)
            delay = min(delay * 2, max(self.config.max_polling_interval.total_seconds(),
                                       MIN_POLL_SECONDS))

    async def _create_queue(self) -> None:
        delay = MIN_POLL_SECONDS
        while True:
            try:
                await self.queue.create_queue()
                return
            except ResourceExistsError:
                return
            except AzureError as exc:
                log.warning("queue '%s': cannot create: %s", self.queue_name, type(exc).__name__)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        self._slot_freed.set()

    async def drain(self, grace_seconds: float) -> None:
        """Let running messages finish for up to `grace_seconds`, then cancel them."""
        if self._running:
            await asyncio.wait(set(self._running), timeout=grace_seconds)
        for task in set(self._running):
            task.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)

    async def _process(self, message: QueueMessage) -> None:
        if message.dequeue_count > self.config.max_dequeue_count:  # e.g. a crash mid-run
            await self._to_poison(message)
            return
        lease = _Lease(self.queue, message)
        renewer = asyncio.create_task(lease.keep_alive())
        try:
            await self.host.invoke(self.spec, {self.spec.trigger["name"]:
                                               to_function_message(message)})
        except Exception:
            renewer.cancel()
            log.exception("Executed 'Functions.%s' (Failed, MessageId=%s, DequeueCount=%s)",
                          self.spec.name, message.id, message.dequeue_count)
            await self._after_failure(lease.message)
            return
        renewer.cancel()
        await self._settle(self.queue.delete_message(lease.message, lease.message.pop_receipt))

    async def _after_failure(self, message: QueueMessage) -> None:
        if message.dequeue_count >= self.config.max_dequeue_count:
            await self._to_poison(message)
            return
        seconds = math.ceil(self.config.visibility_timeout.total_seconds())
        await self._settle(self.queue.update_message(
            message, message.pop_receipt, visibility_timeout=seconds))

    async def _to_poison(self, message: QueueMessage) -> None:
        if not self._poison_ready:
            with contextlib.suppress(ResourceExistsError):
                await self.poison.create_queue()
            self._poison_ready = True
        log.warning("queue '%s': message %s moved to '%s' after %s dequeues",
                    self.queue_name, message.id, self.poison.queue_name, message.dequeue_count)
        await self._settle(self.poison.send_message(message.content))
        await self._settle(self.queue.delete_message(message, message.pop_receipt))

    async def _settle(self, operation: Any) -> None:
        """Run a storage call whose failure only means the message comes back later."""
        try:
            await operation
        except AzureError as exc:
            log.warning("queue '%s': %s", self.queue_name, type(exc).__name__)


class _Lease:
    """Keeps a running message invisible; tracks its latest pop receipt."""

    def __init__(self, queue: QueueClient, message: QueueMessage) -> None:
        self.queue, self.message = queue, message

    async def keep_alive(self) -> None:
        while True:
            await asyncio.sleep(LEASE_SECONDS / 2)
            with contextlib.suppress(AzureError):
                updated = await self.queue.update_message(
                    self.message, self.message.pop_receipt, visibility_timeout=LEASE_SECONDS)
                self.message.pop_receipt = updated.pop_receipt
                self.message.next_visible_on = updated.next_visible_on


def _report_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("%s stopped", task.get_name(), exc_info=task.exception())


class QueueExtension(NoInputBindings):
    trigger_types = frozenset({"queueTrigger"})

    def __init__(self, grace_seconds: float = 5.0) -> None:
        self._grace = grace_seconds
        self._listeners: list[QueueListener] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._services: dict[str, QueueServiceClient] = {}
        self._names: dict[int, str] = {}

    def describe(self, trigger: dict[str, Any]) -> str:
        return f"queue '{self._names.get(id(trigger), trigger.get('queueName'))}'"

    async def start(self, host: FunctionHost) -> None:
        planned = []
        for spec in host.functions_for(self.trigger_types):
            where = f"function '{spec.name}': queueName"
            name = host.resolve(str(spec.trigger.get("queueName", "")), where).lower()
            if not _QUEUE_NAME.fullmatch(name):
                raise HostConfigError(f"{where} '{name}' is not a valid queue name")
            conn = host.connection_string(spec.trigger.get("connection"),
                                          f"function '{spec.name}'")
            self._names[id(spec.trigger)] = name
            planned.append((spec, conn, name))
        for spec, conn, name in planned:
            if conn not in self._services:
                self._services[conn] = QueueServiceClient.from_connection_string(
                    conn, **client_options())
            listener = QueueListener(host, spec, self._services[conn], name,
                                     host.host_config.queues)
            self._listeners.append(listener)
            task = asyncio.create_task(listener.run(), name=f"queue:{spec.name}")
            task.add_done_callback(_report_crash)
            self._tasks.append(task)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await asyncio.gather(*(lst.drain(self._grace) for lst in self._listeners))
        for service in self._services.values():
            await service.close()
        self._tasks.clear()
        self._listeners.clear()
        self._services.clear()
