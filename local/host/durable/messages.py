"""Queue messages of a task hub (JSON text, one object per message).

Control-queue messages (one queue per partition, chosen by instance id) drive orchestrations::

    start           exec, name, input, parent?   ExecutionStarted of execution `exec`
    task_completed  exec, task_id, result        an activity attempt succeeded
    task_failed     exec, task_id, reason, details
    timer           exec, timer_id, fire_at      delivered (invisible) until fire_at
    sub_completed   exec, task_id, result        a sub-orchestration finished (to the parent)
    sub_failed      exec, task_id, reason, details
    event           name, input                  raise event (any execution)
    terminate       reason

The work-item queue carries activity invocations: exec, task_id, name, input.
Every message has a unique `id` (kept in history for dedupe) and its `instance`. Fields above
~40 KB are moved to a blob and replaced by `{"$blob": name}` (see storage.TaskHubStorage).

To save queue transactions, several small messages of one instance travel as one `batch`
queue message (`{"kind": "batch", "instance", "items": [...]}`): a fan-out's work items, and
the completions an activity worker produced within a few milliseconds. A batch is deleted
only when every item in it has been handled, so a crash replays the whole batch.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

BATCH_ITEMS = 100
BATCH_CHARS = 40_000
SMALL_ITEM = 8_000       # larger items travel alone (and may be moved to a blob)
CONTROL_KINDS = frozenset({"start", "task_completed", "task_failed", "timer", "sub_completed",
                           "sub_failed", "event", "terminate"})
LARGE_FIELDS = ("input", "result", "details", "reason")


@dataclass
class Message:
    """A decoded queue message; `body` holds the kind-specific fields."""

    kind: str
    instance: str
    body: dict[str, Any] = field(default_factory=dict)
    id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def get(self, key: str, default: Any = None) -> Any:
        return self.body.get(key, default)

    @property
    def execution(self) -> str | None:
        return self.body.get("exec")

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "instance": self.instance, **self.body}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Message:
        data = dict(data)
        return cls(str(data.pop("kind")), str(data.pop("instance")), data,
                   str(data.pop("id", "") or uuid.uuid4().hex))

    def encode(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))


def decode(text: str) -> list[Message] | None:
    """Parse a queue message into its items; None for anything not ours (poison)."""
    try:
        data = json.loads(text)
        if not isinstance(data, dict) or "kind" not in data or "instance" not in data:
            return None
        if data["kind"] == "batch":
            return [Message.from_dict(item) for item in data["items"]]
        return [Message.from_dict(data)]
    except (ValueError, TypeError, KeyError):
        return None


def pack(items: list[Message]) -> list[Message]:
    """Group messages (of one instance each) into batch messages under the size limits;
    a large message stays alone so its fields can move to a blob."""
    out: list[Message] = []
    groups: dict[str, list[tuple[Message, int]]] = {}
    for item in items:
        size = len(item.encode())
        if size > SMALL_ITEM:
            out.append(item)
        else:
            groups.setdefault(item.instance, []).append((item, size))
    for instance, group in groups.items():
        batch: list[Message] = []
        chars = 0
        for item, size in group:
            if batch and (len(batch) >= BATCH_ITEMS or chars + size > BATCH_CHARS):
                out.append(_batch(instance, batch))
                batch, chars = [], 0
            batch.append(item)
            chars += size
        if batch:
            out.append(_batch(instance, batch))
    return out


def _batch(instance: str, items: list[Message]) -> Message:
    if len(items) == 1:
        return items[0]
    return Message("batch", instance, {"items": [m.to_dict() for m in items]})


def start(instance: str, execution: str, name: str, input_json: str | None,
          parent: dict[str, Any] | None = None, msg_id: str | None = None) -> Message:
    body = {"exec": execution, "name": name, "input": input_json, "parent": parent}
    return Message("start", instance, body, msg_id or uuid.uuid4().hex)


def task_id_message(kind: str, instance: str, execution: str, task_id: int,
                    msg_id: str | None = None, **fields: Any) -> Message:
    """task_completed / task_failed / sub_completed / sub_failed / timer."""
    key = "timer_id" if kind == "timer" else "task_id"
    body = {"exec": execution, key: task_id, **fields}
    return Message(kind, instance, body, msg_id or uuid.uuid4().hex)


def work_item(instance: str, execution: str, task_id: int, name: str,
              input_json: str | None) -> Message:
    """An activity invocation; its id is deterministic so a re-sent outbox dedupes."""
    return Message("activity", instance,
                   {"exec": execution, "task_id": task_id, "name": name, "input": input_json},
                   f"{execution}.{task_id}")
