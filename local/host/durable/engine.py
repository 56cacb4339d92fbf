"""One orchestration episode: messages in, history events and a new status out. No I/O.

An episode appends `OrchestratorStarted`, the events the messages carry, the events the SDK's
new actions cause, then `OrchestratorCompleted`. The SDK hands out sequence numbers while it
replays: one per new id-taking action, one per retry timer when a retried task fails and one
per re-scheduled attempt when that timer fires. To hand out the same numbers, the events that
make the SDK allocate (a retried task's failure; a retry timer with attempts left) are put at
the end of the episode: they never resume user code, so every action the episode's other
events cause is numbered first, in action order, then the retry allocations in event order.
Retry delays follow DTFx: first interval every time (Python RetryOptions has no backoff), and
after the last failed attempt one more timer fires before the task fails.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from local.host.durable.history import (
    ET,
    ID_ACTIONS,
    ActionType,
    Event,
    event,
    flatten_actions,
    json_text,
    sdk_time,
)
from local.host.durable.messages import Message
from local.host.durable.state import STATUS_CODES, InstanceState, child_execution_id

OOP_MARKER = "$OutOfProcData$:"
UNSUPPORTED = {ActionType.CALL_HTTP: "call_http", ActionType.CALL_ENTITY: "call_entity",
               ActionType.SIGNAL_ENTITY: "signal_entity"}


@dataclass
class Episode:
    """Events of one episode before the SDK runs (`events`), and what to do with leftovers."""

    events: list[Event]
    retry_events: list[Event] = field(default_factory=list)
    deferred: list[Message] = field(default_factory=list)   # retry later (not started yet)
    terminate_reason: str | None = None

    @property
    def all_events(self) -> list[Event]:
        return self.events + self.retry_events


def prepare(state: InstanceState, batch: list[Message], now: datetime) -> Episode | None:
    """Turn a batch of control messages into the episode's incoming events (None: nothing new;
    duplicates and messages of other executions are dropped)."""
    if state.terminal:
        return None
    started = state.started
    opening: list[Event] = [event(ET.ORCHESTRATOR_STARTED, now)]
    normal: list[Event] = []
    retry: list[Event] = []
    closed: set[int] = set()
    deferred: list[Message] = []
    for msg in batch:
        if msg.kind == "terminate":
            return Episode(opening, terminate_reason=str(msg.get("reason") or ""))
    for msg in batch:
        if msg.kind == "start":
            if not started and msg.execution == state.execution:
                started = True
                opening.append(event(
                    ET.EXECUTION_STARTED, now, Name=state.name, Input=state.input_json,
                    Version=state.version, _msg=msg.id,
                    OrchestrationInstance={"InstanceId": state.instance_id,
                                           "ExecutionId": state.execution}))
            continue
        if msg.kind == "event":
            if msg.id not in state.seen_messages:
                state.seen_messages.add(msg.id)
                normal.append(event(ET.EVENT_RAISED, now, Name=msg.get("name"),
                                    Input=msg.get("input"), _msg=msg.id))
            continue
        task_id = msg.get("timer_id" if msg.kind == "timer" else "task_id")
        if (msg.execution != state.execution or task_id not in state.open_ids
                or task_id in closed):
            continue
        closed.add(task_id)
        ev, retries = _closing_event(state, msg, task_id, now)
        (retry if retries else normal).append(ev)
    if not started:
        deferred = [m for m in batch if m.kind == "event"]
        return Episode([], deferred=deferred) if deferred else None
    if len(opening) == 1 and not normal and not retry:
        return None
    return Episode(opening + normal, retry, deferred)


def _closing_event(state: InstanceState, msg: Message, task_id: int,
                   now: datetime) -> tuple[Event, bool]:
    """The completion event for a message, and whether it makes the SDK allocate ids."""
    scheduled = state.scheduled[task_id]
    meta = scheduled.get("_retry")
    if msg.kind == "task_completed":
        return event(ET.TASK_COMPLETED, now, TaskScheduledId=task_id,
                     Result=msg.get("result")), False
    if msg.kind == "task_failed":
        return event(ET.TASK_FAILED, now, TaskScheduledId=task_id, Reason=msg.get("reason"),
                     Details=msg.get("details")), meta is not None
    if msg.kind == "sub_completed":
        return event(ET.SUB_ORCHESTRATION_INSTANCE_COMPLETED, now, TaskScheduledId=task_id,
                     Result=msg.get("result")), False
    if msg.kind == "sub_failed":
        return event(ET.SUB_ORCHESTRATION_INSTANCE_FAILED, now, TaskScheduledId=task_id,
                     Reason=msg.get("reason"), Details=msg.get("details")), meta is not None
    fired = event(ET.TIMER_FIRED, now, TimerId=task_id, FireAt=scheduled.get("FireAt"))
    return fired, bool(meta) and meta["attempt"] < meta["max"]


@dataclass
class Outcome:
    """What the episode committed: appended events and the instance's new status."""

    events: list[Event]
    continue_input: str | None = None
    continued: bool = False


def parse_failure(exc: BaseException) -> tuple[str, dict[str, Any] | None]:
    """Message and out-of-proc state of an orchestrator exception (`$OutOfProcData$`)."""
    seen: BaseException | None = exc
    while seen is not None:
        text = str(seen)
        if OOP_MARKER in text:
            message, _, data = text.partition(OOP_MARKER)
            try:
                return message.strip(), json.loads(data)
            except ValueError:
                return message.strip(), None
        seen = seen.__cause__ or seen.__context__
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__, None


def apply(state: InstanceState, episode: Episode, result: dict[str, Any] | None,
          failure: str | None, now: datetime) -> Outcome:
    """Turn the SDK's reply into events, update `state` in memory (not yet committed)."""
    events = list(episode.all_events)
    state.updated = now
    if failure is not None or result is None:
        if result is not None and "customStatus" in result:
            state.custom_status_json = json_text(result.get("customStatus"))
        _finish(state, events, "Failed",
                f"Orchestrator function '{state.name}' failed: {failure}", now)
        return Outcome(events)
    if "customStatus" in result:
        state.custom_status_json = json_text(result.get("customStatus"))
    leaves = list(flatten_actions(result.get("actions") or []))
    continue_input: str | None = None
    continued = False
    for action in leaves[state.action_count:]:
        kind = action.get("actionType")
        if kind == ActionType.CONTINUE_AS_NEW:
            continued, continue_input = True, action.get("input")
            continue
        if kind in UNSUPPORTED:
            _finish(state, events, "Failed", f"Orchestrator function '{state.name}' failed: "
                    f"{UNSUPPORTED[kind]} is not supported by the local runtime", now)
            return Outcome(events)
        if kind in ID_ACTIONS:
            events.extend(_schedule(state, action, now))
    state.action_count = len(leaves)
    for ev in episode.retry_events:
        events.append(_retry_step(state, ev, now))
    if result.get("isDone"):
        if continued:
            return Outcome(events, continue_input, True)
        state.output_json = json_text(result.get("output"))
        _finish(state, events, "Completed", None, now)
    else:
        state.status = "Running"
        events.append(event(ET.ORCHESTRATOR_COMPLETED, now))
    return Outcome(events)


def terminate(state: InstanceState, episode: Episode, now: datetime) -> Outcome:
    events = [*episode.events, event(ET.EXECUTION_TERMINATED, now,
                                     Input=json.dumps(episode.terminate_reason))]
    state.output_json = json.dumps(episode.terminate_reason)
    state.status, state.completed, state.updated = "Terminated", now, now
    events.append(event(ET.ORCHESTRATOR_COMPLETED, now))
    return Outcome(events)


def _finish(state: InstanceState, events: list[Event], status: str, message: str | None,
            now: datetime) -> None:
    if message is not None:
        state.output_json = json.dumps(message)
    state.status, state.completed = status, now
    events.append(event(ET.EXECUTION_COMPLETED, now, OrchestrationStatus=STATUS_CODES[status],
                        Result=state.output_json))
    events.append(event(ET.ORCHESTRATOR_COMPLETED, now))


def _take_id(state: InstanceState) -> int:
    task_id = state.next_id
    state.next_id += 1
    return task_id


def _schedule(state: InstanceState, action: dict[str, Any], now: datetime) -> list[Event]:
    task_id = _take_id(state)
    kind = action["actionType"]
    options = action.get("retryOptions")
    meta = None
    if options:
        meta = {"first_ms": int(options.get("firstRetryIntervalInMilliseconds") or 1000),
                "max": int(options.get("maxNumberOfAttempts") or 1), "attempt": 1}
    if kind in (ActionType.CALL_ACTIVITY, ActionType.CALL_ACTIVITY_WITH_RETRY):
        return [event(ET.TASK_SCHEDULED, now, task_id, Name=action.get("functionName"),
                      Input=action.get("input"), Version="", _retry=meta)]
    if kind in (ActionType.CALL_SUB_ORCHESTRATOR, ActionType.CALL_SUB_ORCHESTRATOR_WITH_RETRY):
        if meta is not None:
            meta["fixed_id"] = action.get("instanceId")
        return [_sub_created(state, task_id, action.get("functionName"), action.get("input"),
                             action.get("instanceId"), meta, now)]
    if action.get("isCanceled"):
        return []
    return [event(ET.TIMER_CREATED, now, task_id, FireAt=action.get("fireAt"))]


def _sub_created(state: InstanceState, task_id: int, name: str | None, input_json: str | None,
                 instance_id: str | None, meta: dict[str, Any] | None, now: datetime) -> Event:
    child = instance_id or f"{state.instance_id}:{task_id}"
    return event(ET.SUB_ORCHESTRATION_INSTANCE_CREATED, now, task_id, Name=name,
                 InstanceId=child, Input=input_json, Version="", _retry=meta,
                 _exec=child_execution_id(state.execution, task_id))


def _retry_step(state: InstanceState, ev: Event, now: datetime) -> Event:
    """The retry timer after a failed attempt, or the next attempt after that timer."""
    task_id = _take_id(state)
    if ev["EventType"] in (ET.TASK_FAILED, ET.SUB_ORCHESTRATION_INSTANCE_FAILED):
        attempt = state.scheduled[ev["TaskScheduledId"]]
        meta = dict(attempt["_retry"], of=ev["TaskScheduledId"])
        fire_at = now + timedelta(milliseconds=meta["first_ms"])
        return event(ET.TIMER_CREATED, now, task_id, FireAt=sdk_time(fire_at), _retry=meta)
    timer_meta = state.scheduled[ev["TimerId"]]["_retry"]
    original = state.scheduled[timer_meta["of"]]
    meta = {k: v for k, v in timer_meta.items() if k != "of"}
    meta["attempt"] += 1
    if original["EventType"] == ET.TASK_SCHEDULED:
        return event(ET.TASK_SCHEDULED, now, task_id, Name=original["Name"],
                     Input=original.get("Input"), Version="", _retry=meta)
    return _sub_created(state, task_id, original["Name"], original.get("Input"),
                        meta.get("fixed_id"), meta, now)
