"""Activity dispatcher: work-item queue → activity functions → completion messages.

At-least-once: a work-item message (one activity, or a batch of a fan-out's activities) is
deleted only after the completion of every activity in it was sent, so a crash re-runs them
and the orchestration drops second completions (their task ids are no longer open).
Completions of one instance produced within `LINGER` seconds share one control message.
Input and output use the Functions worker's own converters, exactly as an activity trigger
sees them on Azure: JSON text in, `df_dumps` of the return value out.
"""

from __future__ import annotations

import asyncio
import json
import logging
import traceback
from typing import Any

from azure.functions import meta
from azure.functions.durable_functions import ActivityTriggerConverter

from local.host.durable import messages as msgs
from local.host.durable.orchestrations import Invoke
from local.host.durable.queues import Backoff, Leases, Received
from local.host.durable.storage import TaskHubStorage

log = logging.getLogger("local.host.durable")
MAX_DEQUEUE = 20      # a work item that keeps crashing its host is failed, not retried forever
LINGER = 0.02


class Completions:
    """Coalesces completion messages per instance; `add` returns once its message is sent."""

    def __init__(self, storage: TaskHubStorage) -> None:
        self.storage = storage
        self.pending: dict[str, list[tuple[msgs.Message, asyncio.Future[None]]]] = {}
        self.flushing: set[asyncio.Task[None]] = set()

    async def add(self, message: msgs.Message) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue = self.pending.setdefault(message.instance, [])
        queue.append((message, future))
        if len(queue) == 1:
            asyncio.get_running_loop().call_later(LINGER, self._flush_soon, message.instance)
        elif len(queue) >= msgs.BATCH_ITEMS:
            self._flush_soon(message.instance)
        await future

    def _flush_soon(self, instance: str) -> None:
        items = self.pending.pop(instance, None)
        if items:
            task = asyncio.ensure_future(self._flush(instance, items))
            self.flushing.add(task)
            task.add_done_callback(self.flushing.discard)

    async def _flush(self, instance: str,
                     items: list[tuple[msgs.Message, asyncio.Future[None]]]) -> None:
        queue = self.storage.control_queue(instance)
        try:
            await self.storage.send_many([(queue, m, 0.0)
                                          for m in msgs.pack([m for m, _ in items])])
        except Exception as exc:
            for _, future in items:
                if not future.done():
                    future.set_exception(exc)
            return
        for _, future in items:
            if not future.done():
                future.set_result(None)


class ActivityDispatcher:
    """Runs up to `max_concurrent` activities at once."""

    def __init__(self, storage: TaskHubStorage, leases: Leases, activities: dict[str, Any],
                 invoke: Invoke, max_concurrent: int) -> None:
        self.storage = storage
        self.leases = leases
        self.activities = activities
        self.invoke = invoke
        self.limit = max(1, max_concurrent)
        self.gate = asyncio.Semaphore(self.limit)
        self.completions = Completions(storage)
        self.running: set[asyncio.Task[Any]] = set()
        self.queued = 0                      # activities received, not yet finished
        self.freed = asyncio.Event()
        self.stopping = False
        self.executed = 0

    async def poll(self) -> None:
        backoff = Backoff(self.storage.wakeup(self.storage.workitems))
        while not self.stopping:
            free = self.limit - self.queued
            if free <= 0:
                self.freed.clear()
                await self.freed.wait()
                continue
            backoff.arm()
            try:
                got = await self.leases.receive(self.storage.workitems, min(32, free))
            except Exception:
                log.exception("receiving activity work items failed")
                got = []
                await asyncio.sleep(1)
            for received in got:
                self.queued += len(received.messages or [None])
                task = asyncio.ensure_future(self._execute(received))
                self.running.add(task)
                task.add_done_callback(self.running.discard)
            await backoff.wait(bool(got))

    async def drain(self, timeout: float) -> None:
        if self.running:
            await asyncio.wait(list(self.running), timeout=timeout)

    def _finished(self, count: int = 1) -> None:
        self.queued -= count
        self.freed.set()

    async def _execute(self, received: Received) -> None:
        items = received.messages
        if not items or any(m.kind != "activity" for m in items):
            log.warning("dropping unreadable work item %s", received.queue_id)
            self._finished(len(items or [None]))
            await self.leases.delete(received)
            return
        results = await asyncio.gather(*(self._complete(m, received.dequeue_count)
                                         for m in items), return_exceptions=True)
        if all(r is None for r in results):
            await self.leases.delete(received)
        else:
            log.error("activities of %s could not be completed; they will be retried",
                      received.queue_id)
            await self.leases.abandon(received, 2)

    async def _complete(self, item: msgs.Message, dequeue_count: int) -> None:
        try:
            async with self.gate:
                completion = await self._run(item, dequeue_count)
            self.executed += 1
        finally:
            self._finished()
        await self.completions.add(completion)

    async def _run(self, item: msgs.Message, dequeue_count: int) -> msgs.Message:
        name = str(item.get("name"))
        spec = self.activities.get(name)
        done_id = f"done.{item.id}"

        def failed(reason: str, details: str) -> msgs.Message:
            return msgs.task_id_message("task_failed", item.instance, item.execution or "",
                                        item.get("task_id"), done_id, reason=reason,
                                        details=details)
        if spec is None:
            return failed(f"The function '{name}' doesn't exist, is disabled, or is not an "
                          "activity function.", "")
        if dequeue_count > MAX_DEQUEUE:
            return failed(f"Activity function '{name}' failed: its work item was dequeued "
                          f"{dequeue_count} times without completing", "")
        raw = item.get("input")
        try:
            value = None if raw is None else ActivityTriggerConverter.decode(
                meta.Datum(raw, "string"), trigger_metadata=None)
            result = await self.invoke(spec, {spec.trigger["name"]: value})
            encoded = ActivityTriggerConverter.encode(result, expected_type=None).value
        except Exception as exc:  # the user's activity failed: report it as TaskFailed
            kind = type(exc).__name__
            stack = "".join(traceback.format_exception(exc)[-6:])
            details = json.dumps({"Message": f"Exception: {kind}: {exc}", "StackTrace": stack})
            return failed(f"Activity function '{name}' failed: {kind}: {exc}", details)
        return msgs.task_id_message("task_completed", item.instance, item.execution or "",
                                    item.get("task_id"), done_id, result=encoded)
