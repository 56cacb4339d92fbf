"""Instance management behind the durable client API: start, query, events, terminate, purge.

Start is the only client operation that writes the instance row: an insert (or, for an
instance in a terminal state, an ETag-guarded replace) decides the winner among concurrent
starts, so N simultaneous `start_new` calls with one id produce one execution and N-1 409s.
Everything else the client asks for travels as a control-queue message.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from azure.core.exceptions import ResourceExistsError, ResourceModifiedError

from local.host.durable import messages as msgs
from local.host.durable.history import ACTIVE, ET, TERMINAL, api_time, utcnow
from local.host.durable.orchestrations import OrchestrationDispatcher
from local.host.durable.state import InstanceState, from_row, new_execution_id, to_row
from local.host.durable.storage import TaskHubStorage

EVENT_NAMES = {int(e): e.name.title().replace("_", "") for e in ET}
HIDDEN_EVENTS = {int(ET.ORCHESTRATOR_STARTED), int(ET.ORCHESTRATOR_COMPLETED)}


class ClientError(Exception):
    """Raised for a request the API refuses; carries the HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Query:
    created_from: datetime | None = None
    created_to: datetime | None = None
    statuses: list[str] | None = None
    prefix: str | None = None
    top: int = 100
    continuation: str | None = None
    show_input: bool = False


class DurableClientOps:
    """What the HTTP/RPC routes do, on the hub's storage."""

    def __init__(self, storage: TaskHubStorage, dispatcher: OrchestrationDispatcher,
                 orchestrators: set[str]) -> None:
        self.storage = storage
        self.dispatcher = dispatcher
        self.orchestrators = orchestrators

    async def start(self, name: str, instance_id: str, input_json: str | None,
                    version: str = "") -> None:
        if name not in self.orchestrators:
            raise ClientError(400, f"The function '{name}' doesn't exist, is disabled, or is "
                                   "not an orchestrator function. Additional info: "
                                   f"registered orchestrators: {sorted(self.orchestrators)}")
        state = InstanceState(instance_id, name, new_execution_id(), input_json=input_json,
                              version=version, dirty=True)
        row = await to_row(self.storage, state)
        existing: dict[str, Any] | None = None
        for _ in range(10):
            try:
                if existing is None:
                    state.etag = await self.storage.insert_instance(row)
                elif existing.get("RuntimeStatus") in ACTIVE:
                    raise ClientError(409, f"An Orchestration instance with the status "
                                           f"{existing['RuntimeStatus']} already exists.")
                else:
                    state.etag = await self.storage.replace_instance(row, existing["_etag"])
                    self.dispatcher.forget(instance_id)
                break
            except (ResourceExistsError, ResourceModifiedError):
                existing = await self.storage.read_instance(instance_id)
        else:
            raise ClientError(409, f"instance '{instance_id}' is being started concurrently")
        # The row (Dirty, Pending) is the durable record; the start runs in this process and
        # start-up recovery sends it through the queue if this process dies first.
        self.dispatcher.adopt(state)
        self.dispatcher.start_locally(state)

    async def status(self, instance_id: str, show_history: bool = False,
                     show_history_output: bool = False,
                     show_input: bool = True) -> dict[str, Any] | None:
        row = await self.storage.read_instance(instance_id)
        if row is None:
            return None
        state = await from_row(self.storage, row, with_history=show_history)
        body = payload(state, show_input)
        if show_history:
            body["historyEvents"] = [_history_view(e, show_history_output)
                                     for e in state.history
                                     if e["EventType"] not in HIDDEN_EVENTS]
        return body

    async def query(self, query: Query) -> tuple[list[dict[str, Any]], str | None]:
        clauses, params = [], {}
        if query.created_from:
            clauses.append("CreatedTime ge @from")
            params["from"] = query.created_from
        if query.created_to:
            clauses.append("CreatedTime le @to")
            params["to"] = query.created_to
        if query.prefix:
            clauses.append("PartitionKey ge @lo and PartitionKey lt @hi")
            params["lo"] = query.prefix
            params["hi"] = query.prefix[:-1] + chr(ord(query.prefix[-1]) + 1)
        if query.statuses:
            ors = [f"RuntimeStatus eq @s{i}" for i in range(len(query.statuses))]
            clauses.append("( " + " or ".join(ors) + " )")  # tokens are split on spaces
            params.update({f"s{i}": s for i, s in enumerate(query.statuses)})
        pages = self.storage.query_instances(" and ".join(clauses) or None, params,
                                             query.top).by_page(
            continuation_token=_decode_token(query.continuation))
        results: list[dict[str, Any]] = []
        async for page in pages:
            self.storage.transactions += 1
            async for row in page:
                row = dict(row)
                results.append(payload(await from_row(self.storage, row, False),
                                       query.show_input))
            break
        token = pages.continuation_token
        return results, (base64.urlsafe_b64encode(json.dumps(token).encode()).decode()
                         if token else None)

    async def raise_event(self, instance_id: str, name: str, input_json: str | None) -> None:
        await self._active(instance_id)
        message = msgs.Message("event", instance_id, {"name": name, "input": input_json})
        await self.storage.send(self.storage.control_queue(instance_id), message)

    async def terminate(self, instance_id: str, reason: str) -> None:
        await self._active(instance_id)
        message = msgs.Message("terminate", instance_id, {"reason": reason})
        await self.storage.send(self.storage.control_queue(instance_id), message)

    async def _active(self, instance_id: str) -> None:
        row = await self.storage.read_instance(instance_id)
        if row is None:
            raise ClientError(404, f"No instance with ID '{instance_id}' found.")
        if row.get("RuntimeStatus") in TERMINAL:
            raise ClientError(410, f"Instance '{instance_id}' is {row['RuntimeStatus']}.")

    async def purge(self, instance_id: str) -> int:
        row = await self.storage.read_instance(instance_id)
        if row is None:
            raise ClientError(404, f"No instance with ID '{instance_id}' found.")
        if row.get("RuntimeStatus") not in TERMINAL:
            raise ClientError(412, "Only orchestrations in a terminal state can be purged, but "
                                   f"the orchestration with instance ID {instance_id} has "
                                   f"status {row.get('RuntimeStatus')}")
        await self._delete(instance_id)
        return 1

    async def purge_by(self, created_from: datetime, created_to: datetime | None,
                       statuses: list[str] | None) -> int:
        wanted = [s for s in (statuses or sorted(TERMINAL)) if s in TERMINAL]
        if not wanted:
            return 0
        query = Query(created_from, created_to or utcnow(), wanted, top=1000)
        deleted = 0
        while True:
            found, token = await self.query(query)
            for item in found:
                await self._delete(item["instanceId"])
                deleted += 1
            if not token:
                return deleted
            query.continuation = token

    async def _delete(self, instance_id: str) -> None:
        self.dispatcher.forget(instance_id)
        await self.storage.delete_history(instance_id)
        await self.storage.delete_blobs(self.storage.blob_prefix(instance_id))
        await self.storage.delete_instance(instance_id)


def payload(state: InstanceState, show_input: bool) -> dict[str, Any]:
    """The extension's status JSON (DurableOrchestrationStatus on the SDK side)."""
    body: dict[str, Any] = {
        "name": state.name, "instanceId": state.instance_id, "runtimeStatus": state.status,
        # like the extension: the input as the JSON text the client sent (a JSON string when
        # the Python SDK started it), output and custom status as JSON values
        "input": state.input_json if show_input else None,
        "customStatus": _value(state.custom_status_json),
        "output": _value(state.output_json),
        "createdTime": api_time(state.created), "lastUpdatedTime": api_time(state.updated),
    }
    return body


def _value(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _history_view(ev: dict[str, Any], show_output: bool) -> dict[str, Any]:
    view: dict[str, Any] = {"EventType": EVENT_NAMES.get(ev["EventType"], "Unknown"),
                            "Timestamp": ev["Timestamp"]}
    for key in ("Name", "FireAt", "Reason", "Details", "InstanceId", "TaskScheduledId",
                "TimerId", "OrchestrationStatus"):
        if ev.get(key) is not None:
            view["FunctionName" if key == "Name" else key] = ev[key]
    if ev["EventId"] >= 0:
        view["EventId"] = ev["EventId"]
    if show_output:
        for key in ("Result", "Input"):
            if ev.get(key) is not None:
                view[key] = _value(ev[key])
    return view


def _decode_token(token: str | None) -> Any:
    if not token:
        return None
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token.encode()).decode())
    except (ValueError, UnicodeDecodeError) as exc:
        raise ClientError(400, "malformed x-ms-continuation-token") from exc
    if not isinstance(decoded, dict):
        raise ClientError(400, "malformed x-ms-continuation-token")
    return decoded
