"""One orchestration instance as the engine sees it: its row, its history and derived indexes.

Invariants (the commit protocol relies on them):

- `history` holds the committed events of the current execution only; the instance row's
  `HistoryCount` says how many history rows are valid (later rows are leftovers of an episode
  that crashed before its commit and are overwritten by the next one).
- `next_id` is the number of sequence numbers handed out (equal to the SDK's counter after
  replay) and `action_count` the number of leaf actions of the SDK's (append-only) action
  list already turned into events; both are committed with the row.
- `outbox_start` is the first history index of the last committed episode. Its outgoing
  messages are re-derivable from history (`outbox`), so a crash between the commit and the
  sends loses nothing: rows with `Dirty` are re-sent at start-up.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from local.host.durable import messages as msgs
from local.host.durable.history import ET, TERMINAL, Event, parse_time, sdk_view, utcnow
from local.host.durable.storage import TaskHubStorage

STATUS_CODES = {"Running": 0, "Completed": 1, "ContinuedAsNew": 2, "Failed": 3, "Canceled": 4,
                "Terminated": 5, "Pending": 6, "Suspended": 7}
SCHEDULING = {int(ET.TASK_SCHEDULED), int(ET.TIMER_CREATED),
              int(ET.SUB_ORCHESTRATION_INSTANCE_CREATED)}
CLOSING = {int(ET.TASK_COMPLETED): "TaskScheduledId", int(ET.TASK_FAILED): "TaskScheduledId",
           int(ET.SUB_ORCHESTRATION_INSTANCE_COMPLETED): "TaskScheduledId",
           int(ET.SUB_ORCHESTRATION_INSTANCE_FAILED): "TaskScheduledId",
           int(ET.TIMER_FIRED): "TimerId"}


def new_execution_id() -> str:
    return uuid.uuid4().hex


def child_execution_id(parent_execution: str, task_id: int) -> str:
    """Deterministic, so a re-sent sub-orchestration start is recognised as a duplicate."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"durable:{parent_execution}:{task_id}").hex


@dataclass
class InstanceState:
    instance_id: str
    name: str
    execution: str
    status: str = "Pending"
    input_json: str | None = None
    output_json: str | None = None
    custom_status_json: str | None = None
    created: datetime = field(default_factory=utcnow)
    updated: datetime = field(default_factory=utcnow)
    completed: datetime | None = None
    parent: dict[str, Any] | None = None
    version: str = ""
    history: list[Event] = field(default_factory=list)
    next_id: int = 0
    action_count: int = 0
    dirty: bool = False
    outbox_start: int = 0
    etag: str | None = None
    # derived from history by reindex()
    scheduled: dict[int, Event] = field(default_factory=dict)
    open_ids: set[int] = field(default_factory=set)
    seen_messages: set[str] = field(default_factory=set)
    started: bool = False
    played_json: list[str] = field(default_factory=list)
    blobs: dict[str, tuple[str, str]] = field(default_factory=dict)   # uploaded large texts

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    def reindex(self) -> None:
        self.scheduled, self.open_ids, self.seen_messages = {}, set(), set()
        self.started, self.played_json = False, []
        self.index_events(self.history)

    def index_events(self, events: list[Event]) -> None:
        """Fold committed events into the indexes (and the replay JSON cache)."""
        for ev in events:
            kind = ev["EventType"]
            if kind in SCHEDULING:
                self.scheduled[ev["EventId"]] = ev
                self.open_ids.add(ev["EventId"])
            elif kind in CLOSING:
                self.open_ids.discard(ev.get(CLOSING[kind]))
            elif kind == ET.EXECUTION_STARTED:
                self.started = True
            if ev.get("_msg"):
                self.seen_messages.add(ev["_msg"])
            self.played_json.append(json.dumps(sdk_view(ev, True)))

    def context_json(self, new_events: list[Event]) -> str:
        """The orchestration trigger payload the Functions host hands the SDK."""
        history = ",".join(self.played_json + [json.dumps(sdk_view(e, False))
                                                for e in new_events])
        head = {"instanceId": self.instance_id, "isReplaying": bool(self.played_json),
                "parentInstanceId": (self.parent or {}).get("instance"),
                "input": self.input_json, "upperSchemaVersion": 1}
        return json.dumps(head)[:-1] + ',"history":[' + history + "]}"


def _loads(text: str | None) -> Any:
    if text is None or text == "":
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


# -- rows --------------------------------------------------------------------------------------

async def to_row(storage: TaskHubStorage, state: InstanceState) -> dict[str, Any]:
    row: dict[str, Any] = {
        "PartitionKey": state.instance_id, "RowKey": "", "Name": state.name,
        "RuntimeStatus": state.status, "ExecutionId": state.execution,
        "CreatedTime": state.created, "LastUpdatedTime": state.updated,
        "CompletedTime": state.completed, "HistoryCount": len(state.history),
        "NextEventId": state.next_id, "ActionCount": state.action_count, "Dirty": state.dirty,
        "OutboxStart": state.outbox_start, "Version": state.version,
    }
    if state.parent:
        row.update(ParentInstanceId=state.parent["instance"],
                   ParentExecutionId=state.parent["exec"], ParentTaskId=state.parent["task_id"])
    for prop, text in (("Input", state.input_json), ("Output", state.output_json),
                       ("CustomStatus", state.custom_status_json)):
        await storage.put_text(row, prop, text, state.instance_id, state.blobs)
    return row


async def from_row(storage: TaskHubStorage, row: dict[str, Any],
                   with_history: bool = True) -> InstanceState:
    parent = None
    if row.get("ParentInstanceId"):
        parent = {"instance": row["ParentInstanceId"], "exec": row.get("ParentExecutionId"),
                  "task_id": row.get("ParentTaskId")}
    state = InstanceState(
        instance_id=row["PartitionKey"], name=row.get("Name", ""),
        execution=row.get("ExecutionId", ""), status=row.get("RuntimeStatus", "Pending"),
        input_json=await storage.get_text(row, "Input"),
        output_json=await storage.get_text(row, "Output"),
        custom_status_json=await storage.get_text(row, "CustomStatus"),
        created=_time(row.get("CreatedTime")), updated=_time(row.get("LastUpdatedTime")),
        completed=_time(row["CompletedTime"]) if row.get("CompletedTime") else None,
        parent=parent, version=row.get("Version") or "",
        next_id=int(row.get("NextEventId") or 0), action_count=int(row.get("ActionCount") or 0),
        dirty=bool(row.get("Dirty")), outbox_start=int(row.get("OutboxStart") or 0),
        etag=row.get("_etag"))
    if with_history:
        state.history = await storage.load_history(state.instance_id, state.execution,
                                                   int(row.get("HistoryCount") or 0))
        state.reindex()
    return state


def _time(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    return parse_time(str(value)) if value else utcnow()


# -- outbox ------------------------------------------------------------------------------------

Outgoing = tuple[str, msgs.Message, float]   # (queue: "control" | "work", message, delay s)


def outbox(state: InstanceState) -> list[Outgoing]:
    """Messages the last committed episode must send (derived, so it can be re-sent)."""
    out: list[Outgoing] = []
    if state.status in ("Pending", "ContinuedAsNew") and not state.history:
        out.append(("control", msgs.start(state.instance_id, state.execution, state.name,
                                          state.input_json, state.parent,
                                          f"start.{state.execution}"), 0.0))
    for ev in state.history[state.outbox_start:]:
        out.extend(_messages_for(state, ev))
    return out


def _messages_for(state: InstanceState, ev: Event) -> list[Outgoing]:
    kind, iid, ex = ev["EventType"], state.instance_id, state.execution
    if kind == ET.TASK_SCHEDULED and not state.terminal:
        return [("work", msgs.work_item(iid, ex, ev["EventId"], ev["Name"], ev.get("Input")), 0)]
    if kind == ET.TIMER_CREATED and not state.terminal:
        delay = (parse_time(ev["FireAt"]) - utcnow()).total_seconds()
        message = msgs.task_id_message("timer", iid, ex, ev["EventId"],
                                       f"timer.{ex}.{ev['EventId']}", fire_at=ev["FireAt"])
        return [("control", message, max(0.0, delay))]
    if kind == ET.SUB_ORCHESTRATION_INSTANCE_CREATED and not state.terminal:
        parent = {"instance": iid, "exec": ex, "task_id": ev["EventId"]}
        return [("control", msgs.start(ev["InstanceId"], ev["_exec"], ev["Name"], ev.get("Input"),
                                       parent, f"start.{ev['_exec']}"), 0)]
    if kind in (ET.EXECUTION_COMPLETED, ET.EXECUTION_TERMINATED) and state.parent:
        p = state.parent
        if state.status == "Completed":
            message = msgs.task_id_message("sub_completed", p["instance"], p["exec"],
                                           p["task_id"], f"done.{ex}", result=state.output_json)
        else:
            reason = _loads(state.output_json)
            message = msgs.task_id_message("sub_failed", p["instance"], p["exec"], p["task_id"],
                                           f"done.{ex}", reason=str(reason), details="")
        return [("control", message, 0)]
    return []
