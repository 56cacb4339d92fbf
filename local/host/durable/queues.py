"""Receiving queue messages: adaptive polling, and keeping received messages invisible.

A received message stays invisible for `visibility` seconds; `Leases` renews it while the
engine still holds it, so only a crashed (or SIGKILLed) process lets messages reappear, after
at most one visibility timeout. Deletes and renewals of one message are serialised (each
renewal changes the pop receipt). A failed delete is harmless: the message reappears and is
dropped as a duplicate.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.storage.queue.aio import QueueClient

from local.host.durable.messages import Message, decode
from local.host.durable.storage import TaskHubStorage

log = logging.getLogger("local.host.durable")

MIN_IDLE_DELAY = 0.02
MAX_IDLE_DELAY = 1.0


@dataclass(eq=False)
class Received:
    """One received message and what is needed to renew or delete it. A `local` one (no
    queue) was handed over in-process; abandoning it sends it to the real queue."""

    queue: QueueClient | None
    queue_id: str
    pop_receipt: str
    messages: list[Message] | None      # None: unreadable (poison)
    dequeue_count: int = 1
    renewed: float = field(default_factory=time.monotonic)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    gone: bool = False


class Backoff:
    """Poll again at once while busy; double the pause while idle, up to one second. A send
    from this process to the queue (`wakeup`) ends the pause early."""

    def __init__(self, wakeup: asyncio.Event) -> None:
        self.delay = MIN_IDLE_DELAY
        self.wakeup = wakeup

    def arm(self) -> None:
        """Call before each receive: a send after this point ends the next pause."""
        self.wakeup.clear()

    async def wait(self, got_work: bool) -> None:
        if got_work:
            self.delay = MIN_IDLE_DELAY
            return
        try:
            await asyncio.wait_for(self.wakeup.wait(), self.delay)
            self.delay = MIN_IDLE_DELAY
        except TimeoutError:
            self.delay = min(MAX_IDLE_DELAY, self.delay * 2)


class Leases:
    """Tracks held messages; renews, deletes and abandons them."""

    def __init__(self, storage: TaskHubStorage, visibility: float) -> None:
        self.storage = storage
        self.visibility = max(2, int(visibility))
        self.held: set[Received] = set()

    async def receive(self, queue: QueueClient, count: int) -> list[Received]:
        self.storage.transactions += 1
        pages = queue.receive_messages(messages_per_page=count, max_messages=count,
                                       visibility_timeout=self.visibility)
        out = []
        async for raw in pages:
            received = Received(queue, raw.id, raw.pop_receipt, decode(str(raw.content)),
                                int(raw.dequeue_count or 1))
            for message in received.messages or []:
                await self.storage.resolve(message)
            self.held.add(received)
            out.append(received)
        return out

    async def renew_forever(self) -> None:
        """Background task: renew every held message before it would reappear."""
        while True:
            await asyncio.sleep(self.visibility / 4)
            due = time.monotonic() - self.visibility / 3
            stale = [r for r in self.held if r.renewed < due and r.queue is not None]
            await asyncio.gather(*(self._set_visibility(r, self.visibility) for r in stale))

    async def delete(self, received: Received) -> None:
        self.held.discard(received)
        if received.queue is None:
            received.gone = True
            return
        async with received.lock:
            if received.gone:
                return
            received.gone = True
            self.storage.transactions += 1
            with contextlib.suppress(ResourceNotFoundError, HttpResponseError):
                await received.queue.delete_message(received.queue_id, received.pop_receipt)

    async def delete_all(self, items: list[Received]) -> None:
        await asyncio.gather(*(self.delete(r) for r in items))

    async def abandon(self, received: Received, delay: float = 0) -> None:
        """Make the message visible again after `delay` seconds (and stop holding it)."""
        self.held.discard(received)
        if received.queue is None:
            if not received.gone:
                received.gone = True
                for message in received.messages or []:
                    await self.storage.send(self.storage.control_queue(message.instance),
                                            message, delay)
            return
        await self._set_visibility(received, max(0, int(delay)))
        received.gone = True

    async def release_all(self) -> None:
        """At shutdown: let every held message reappear at once for the next process."""
        await asyncio.gather(*(self.abandon(r) for r in list(self.held)))

    async def _set_visibility(self, received: Received, seconds: int) -> None:
        async with received.lock:
            if received.gone or received.queue is None:
                return
            self.storage.transactions += 1
            try:
                updated: Any = await received.queue.update_message(
                    received.queue_id, received.pop_receipt, visibility_timeout=seconds)
                received.pop_receipt = updated.pop_receipt
                received.renewed = time.monotonic()
            except (ResourceNotFoundError, HttpResponseError) as exc:
                log.debug("visibility update of %s failed: %s", received.queue_id, exc)
