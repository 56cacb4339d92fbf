"""History events in the shape the Durable SDK replays, and the SDK's action payloads.

An event is a plain dict with the SDK's field names (`EventType`, `EventId`, `IsPlayed`,
`Timestamp`, plus type-specific fields such as `TaskScheduledId`, `Result`, `TimerId`). Keys
starting with `_` are engine bookkeeping (retry chains, message ids) and are never shown to the
SDK. EventIds of TaskScheduled / TimerCreated / SubOrchestrationInstanceCreated are the SDK's
sequence numbers; every other event carries -1.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from azure.durable_functions.models.actions.ActionType import ActionType
from azure.durable_functions.models.history.HistoryEventType import HistoryEventType

__all__ = ["ET", "ActionType", "Event"]

ET = HistoryEventType

Event = dict[str, Any]
SDK_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"

# Actions that take one of the SDK's sequence numbers when scheduled (WaitForExternalEvent
# is keyed by name; ContinueAsNew ends the execution; entities are not served).
ID_ACTIONS = frozenset({
    ActionType.CALL_ACTIVITY, ActionType.CALL_ACTIVITY_WITH_RETRY,
    ActionType.CALL_SUB_ORCHESTRATOR, ActionType.CALL_SUB_ORCHESTRATOR_WITH_RETRY,
    ActionType.CREATE_TIMER, ActionType.CALL_HTTP, ActionType.CALL_ENTITY,
    ActionType.SIGNAL_ENTITY,
})
COMPOUND_ACTIONS = frozenset({ActionType.WHEN_ALL, ActionType.WHEN_ANY})


RUNTIME_STATUSES = ("Pending", "Running", "Completed", "ContinuedAsNew", "Failed",
                    "Canceled", "Terminated", "Suspended")
TERMINAL = frozenset({"Completed", "Failed", "Terminated", "Canceled"})
ACTIVE = frozenset({"Pending", "Running", "ContinuedAsNew", "Suspended"})


def utcnow() -> datetime:
    return datetime.now(UTC)


def sdk_time(moment: datetime) -> str:
    """`2024-01-02T03:04:05.123456Z`, the SDK's DATETIME_STRING_FORMAT."""
    return moment.astimezone(UTC).strftime(SDK_TIME_FORMAT)


def api_time(moment: datetime) -> str:
    """`2024-01-02T03:04:05Z`, how the extension's HTTP API writes times."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    """Parse an ISO-8601 time (SDK or API format); naive values are taken as UTC."""
    value = text.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def event(event_type: ET, moment: datetime, event_id: int = -1, **fields: Any) -> Event:
    """A new (not yet played) history event."""
    return {"EventType": int(event_type), "EventId": event_id, "IsPlayed": False,
            "Timestamp": sdk_time(moment), **fields}


def sdk_view(ev: Event, played: bool) -> Event:
    """The event without engine bookkeeping, with IsPlayed set for replay."""
    view = {k: v for k, v in ev.items() if not k.startswith("_")}
    view["IsPlayed"] = played
    return view


def flatten_actions(actions: Any) -> Iterator[dict[str, Any]]:
    """Leaf actions in scheduling order, for replay schema V1 (list of lists) and V2+
    (one list whose WhenAll/WhenAny entries nest `compoundActions`)."""
    if isinstance(actions, list):
        for item in actions:
            yield from flatten_actions(item)
    elif isinstance(actions, dict):
        if actions.get("actionType") in COMPOUND_ACTIONS:
            yield from flatten_actions(actions.get("compoundActions") or [])
        else:
            yield actions


def json_text(value: Any) -> str | None:
    """JSON text of a value, None for None (how Result/Input fields are carried)."""
    return None if value is None else json.dumps(value)
