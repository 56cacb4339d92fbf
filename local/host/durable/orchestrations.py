"""Orchestration dispatcher: control queues → episodes → committed history → outbox.

Commit protocol of one episode (per instance, one episode at a time):

1. the episode's events are upserted as history chunk row(s) starting at `HistoryCount`;
2. the instance row is replaced under its ETag with the new `HistoryCount`, status and
   `Dirty=True` when the episode has outgoing messages: **this is the commit point**;
3. the outbox (activity work items, timers, sub-orchestration starts, parent notifications)
   is sent (retried); `Dirty` is cleared by the instance's next commit or a graceful stop;
4. only then are the episode's input messages deleted.

A crash before 2 leaves unreferenced rows and visible-again messages (the episode re-runs);
between 2 and 3 the start-up scan re-sends outboxes of `Dirty` rows; after 3 the redelivered
inputs are recognised as duplicates (closed task ids, seen message ids, started executions).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from azure.core.exceptions import ResourceExistsError, ResourceModifiedError
from azure.functions._durable_functions import OrchestrationContext

from local.host.durable import engine
from local.host.durable import messages as msgs
from local.host.durable.history import parse_time, utcnow
from local.host.durable.queues import Backoff, Leases, Received
from local.host.durable.state import (
    InstanceState,
    from_row,
    new_execution_id,
    outbox,
    to_row,
)
from local.host.durable.storage import TaskHubStorage

log = logging.getLogger("local.host.durable")

Invoke = Callable[[Any, dict[str, Any]], Awaitable[Any]]
BATCH = 32
MAX_HELD = 4000
MAX_CACHED = 2000
MAX_TIMER_DELAY = timedelta(days=6)
MAX_DEQUEUE = 20                  # a message that keeps failing its episode is dropped
SEND_RETRIES = (0, 0.5, 2, 5)


@dataclass
class _Slot:
    pending: list[Received] = field(default_factory=list)
    running: bool = False


class OrchestrationDispatcher:
    """Runs episodes for every instance whose partition this process polls."""

    def __init__(self, storage: TaskHubStorage, leases: Leases, orchestrators: dict[str, Any],
                 invoke: Invoke, max_concurrent: int) -> None:
        self.storage = storage
        self.leases = leases
        self.orchestrators = orchestrators
        self.invoke = invoke
        self.gate = asyncio.Semaphore(max(1, max_concurrent))
        self.cache: OrderedDict[str, InstanceState] = OrderedDict()
        self.slots: dict[str, _Slot] = {}
        self.tasks: set[asyncio.Task[Any]] = set()
        self.stopping = False
        self.episodes = 0
        self.history_events = 0

    # -- polling -----------------------------------------------------------------------------

    async def poll(self, partition: int) -> None:
        queue = self.storage.control[partition]
        backoff = Backoff(self.storage.wakeup(queue))
        while not self.stopping:
            if len(self.leases.held) > MAX_HELD:
                await asyncio.sleep(0.05)
                continue
            backoff.arm()
            try:
                got = await self.leases.receive(queue, BATCH)
            except Exception:
                log.exception("receiving from %s failed", queue.queue_name)
                got = []
                await asyncio.sleep(1)
            for received in got:
                self._route(received)
            await backoff.wait(bool(got))

    def _route(self, received: Received) -> None:
        items = received.messages
        if not items or any(m.kind not in msgs.CONTROL_KINDS for m in items):
            log.warning("dropping unreadable control message %s", received.queue_id)
            self._spawn(self.leases.delete(received))
            return
        message = items[0]
        if message.kind == "timer":
            remaining = (parse_time(message.get("fire_at")) - utcnow()).total_seconds()
            if remaining > 0.01:
                if remaining > self.leases.visibility / 2:
                    delay = min(remaining, MAX_TIMER_DELAY.total_seconds())
                    self._spawn(self.leases.abandon(received, delay))
                else:
                    asyncio.get_running_loop().call_later(remaining, self._route, received)
                return
        slot = self.slots.setdefault(message.instance, _Slot())
        slot.pending.append(received)
        if not slot.running:
            slot.running = True
            self._spawn(self._drive(message.instance, slot))

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _drive(self, instance_id: str, slot: _Slot) -> None:
        try:
            while slot.pending and not self.stopping:
                batch, slot.pending = slot.pending, []
                async with self.gate:
                    try:
                        await self._episode(instance_id, batch)
                    except Exception:
                        log.exception("episode of %s failed; messages will be retried",
                                      instance_id)
                        self.forget(instance_id)
                        await asyncio.gather(*(
                            self.leases.delete(r) if r.dequeue_count > MAX_DEQUEUE
                            else self.leases.abandon(r, 2) for r in batch))
        finally:
            slot.running = False
            if not slot.pending:
                self.slots.pop(instance_id, None)

    # -- state -------------------------------------------------------------------------------

    def forget(self, instance_id: str) -> None:
        self.cache.pop(instance_id, None)

    def _remember(self, state: InstanceState) -> None:
        if state.terminal:
            self.cache.pop(state.instance_id, None)
            return
        self.cache[state.instance_id] = state
        self.cache.move_to_end(state.instance_id)
        while len(self.cache) > MAX_CACHED:
            self.cache.popitem(last=False)

    async def load(self, instance_id: str) -> InstanceState | None:
        row = await self.storage.read_instance(instance_id)
        if row is None:
            return None
        terminal = row.get("RuntimeStatus") in ("Completed", "Failed", "Terminated", "Canceled")
        return await from_row(self.storage, row, with_history=not terminal)

    async def _state_for(self, instance_id: str, batch: list[msgs.Message]
                         ) -> InstanceState | None:
        state = self.cache.get(instance_id)
        executions = {m.execution for m in batch if m.execution}
        if state is None or (executions - {state.execution}):
            state = await self.load(instance_id)
        start = next((m for m in batch if m.kind == "start" and m.get("parent")), None)
        if start is None or (state is not None and state.execution == start.execution):
            return state
        if state is not None and not state.terminal:
            await self._refuse_child(start, f"an orchestration with instance ID '{instance_id}' "
                                            f"is already {state.status}")
            return state
        fresh = InstanceState(instance_id, start.get("name"), start.execution,
                              input_json=start.get("input"), parent=start.get("parent"),
                              etag=state.etag if state else None)
        fresh.reindex()
        if state is not None:
            self._spawn(self._drop_history(instance_id, state.execution, fresh.execution))
        return fresh

    async def _refuse_child(self, start: msgs.Message, reason: str) -> None:
        parent = start.get("parent")
        await self.storage.send(self.storage.control_queue(parent["instance"]),
                                msgs.task_id_message("sub_failed", parent["instance"],
                                                     parent["exec"], parent["task_id"],
                                                     f"refused.{start.execution}",
                                                     reason=reason, details=""))

    # -- episode -----------------------------------------------------------------------------

    async def _episode(self, instance_id: str, batch: list[Received]) -> None:
        messages = [m for r in batch for m in r.messages or []]
        state = await self._state_for(instance_id, messages)
        now = utcnow()
        episode = engine.prepare(state, messages, now) if state else None
        if episode is None:
            await self.leases.delete_all(batch)
            return
        assert state is not None
        if episode.terminate_reason is not None:
            outcome = engine.terminate(state, episode, now)
        elif not episode.events:   # only events for an instance that has not started yet
            deferred = {m.id for m in episode.deferred}
            await asyncio.gather(*(
                self.leases.abandon(r, 1) if any(m.id in deferred for m in r.messages or [])
                else self.leases.delete(r) for r in batch))
            return
        else:
            outcome = await self._run_orchestrator(state, episode, now)
        await self._commit(state, outcome)
        await self.leases.delete_all(batch)

    async def _run_orchestrator(self, state: InstanceState, episode: engine.Episode,
                                now: Any) -> engine.Outcome:
        spec = self.orchestrators.get(state.name)
        if spec is None:
            failure = (f"The function '{state.name}' doesn't exist, is disabled, or is not an "
                       "orchestrator function.")
            return engine.apply(state, episode, None, failure, now)
        context = OrchestrationContext(state.context_json(episode.all_events))
        try:
            raw = await self.invoke(spec, {spec.trigger["name"]: context})
            result = json.loads(raw) if isinstance(raw, str | bytes) else raw
            return engine.apply(state, episode, result, None, now)
        except Exception as exc:  # the orchestrator failed: the instance fails, not the engine
            message, data = engine.parse_failure(exc)
            return engine.apply(state, episode, data, message, now)

    async def _commit(self, state: InstanceState, outcome: engine.Outcome) -> None:
        start = len(state.history)
        if outcome.continued:
            stale = state.execution
            state.execution, state.input_json = new_execution_id(), outcome.continue_input
            state.history, state.next_id, state.action_count = [], 0, 0
            state.status, state.outbox_start = "ContinuedAsNew", 0
            state.reindex()
            self._spawn(self._drop_history(state.instance_id, stale, state.execution))
        else:
            await self.storage.write_history(state.instance_id, state.execution, start,
                                             outcome.events)
            state.history.extend(outcome.events)
            state.outbox_start = start
        pending = outbox(state)
        state.dirty = bool(pending)
        if outcome.continued:
            pending = []      # the new execution's start is handed over locally below
        row = await to_row(self.storage, state)
        try:
            if state.etag is None:
                state.etag = await self.storage.insert_instance(row)
            else:
                state.etag = await self.storage.replace_instance(row, state.etag)
        except (ResourceModifiedError, ResourceExistsError):
            self.forget(state.instance_id)
            raise
        state.index_events(outcome.events if not outcome.continued else [])
        self.episodes += 1
        self.history_events += len(outcome.events)
        self._remember(state)
        if outcome.continued:
            self.start_locally(state)
        await self.send_outbox(state, pending)

    async def _drop_history(self, instance_id: str, stale: str, keep: str) -> None:
        """Best effort: rows of a finished execution are unreachable once the row moved on."""
        try:
            await self.storage.delete_history(instance_id, keep_execution=keep)
        except Exception:
            log.debug("could not delete history of %s/%s", instance_id, stale, exc_info=True)

    def start_locally(self, state: InstanceState) -> None:
        """Run the start of a just-committed execution in this process, skipping the queue
        round trip: the row (`Dirty`, no history) is the durable record, re-sent through the
        queue by start-up recovery if this process dies first."""
        message = msgs.start(state.instance_id, state.execution, state.name, state.input_json,
                             state.parent, f"start.{state.execution}")
        self._route(Received(None, "", "", [message]))

    async def send_outbox(self, state: InstanceState, pending: list[Any]) -> None:
        """Send the committed episode's messages, retrying transient failures (if all fail,
        the row stays `Dirty` and start-up recovery sends them). `Dirty` stays set until the
        instance's next commit (or a graceful stop) clears it: only after a crash is an
        outbox sent twice."""
        if not pending:
            return
        work = msgs.pack([m for q, m, _ in pending if q == "work"])
        items = ([(self.storage.control_queue(m.instance), m, delay)
                  for q, m, delay in pending if q == "control"]
                 + [(self.storage.workitems, m, 0.0) for m in work])
        for pause in SEND_RETRIES:
            await asyncio.sleep(pause)
            try:
                await self.storage.send_many(items)
                return
            except Exception:
                log.warning("sending the outbox of %s failed", state.instance_id, exc_info=True)
        log.error("outbox of %s not sent; it will be re-sent at the next start",
                  state.instance_id)

    def adopt(self, state: InstanceState) -> None:
        """Cache a state this process just committed (a client start), saving a read."""
        state.reindex()
        self._remember(state)

    async def clear_dirty(self) -> None:
        """At graceful stop: every outbox was sent, so no restart needs to re-send it."""
        async def clear(state: InstanceState) -> None:
            try:
                state.etag = await self.storage.merge_instance(
                    state.instance_id, {"Dirty": False}, state.etag or "*")
                state.dirty = False
            except Exception:  # the row moved on; its own commit set Dirty correctly
                log.debug("could not clear Dirty of %s", state.instance_id, exc_info=True)
        unstarted = ("Pending", "ContinuedAsNew")   # their start may still be in memory only
        await asyncio.gather(*(clear(s) for s in list(self.cache.values())
                               if s.dirty and not (s.status in unstarted and not s.history)))

    async def recover(self) -> int:
        """At start-up: re-send the outbox of every row committed but not yet sent."""
        rows = self.storage.query_instances("Dirty eq true", {}, 100,
                                            select=["PartitionKey"])
        ids = [row["PartitionKey"] async for row in rows]
        for instance_id in ids:
            row = await self.storage.read_instance(instance_id)
            if row is None or not row.get("Dirty"):
                continue
            state = await from_row(self.storage, row)
            await self.send_outbox(state, outbox(state))
            self._remember(state)
        await self.clear_dirty()
        return len(ids)
