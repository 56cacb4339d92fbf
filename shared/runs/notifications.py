"""Notifications for the requesting engineer and the `run-events` integration feed (DESIGN §4).

Every run status change writes one notification (id derived from run id + status, row key
``{inverted time}_{id}``, so a retried activity rewrites the same row) and puts one message on
the ``run-events`` queue (at least once; consumers dedupe on ``event_id``), and the same
message to each of the tenant's webhooks subscribed to it (:mod:`shared.webhooks.delivery`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from shared.platform import tables
from shared.platform.keys import inverted_time, iso, stable_id
from shared.platform.paging import Page
from shared.platform.storage import Storage, send_message
from shared.runs.model import Run
from shared.webhooks.delivery import TenantWebhooks, enqueue_event

NOTIFICATIONS, RUN_EVENTS = "notifications", "run-events"


@dataclass
class Notification:
    notification_id: str
    tenant_id: str
    run_type: str
    run_id: str
    status: str
    counts: dict[str, int]
    error_code: str | None
    error_context: str | None
    warnings: list[dict[str, str]]  # the run's: a run may succeed and still warn
    link: str
    created_at: str
    read: bool = False
    # A drift check's alert (status ``drift_detected``, DESIGN §10): the run's drift counts.
    drift: dict[str, int] | None = None


def notification_for(run: Run, at: datetime, portal_base_url: str = "") -> Notification:
    link = (
        f"{portal_base_url}{run.api_path.removeprefix('/api')}"
        if portal_base_url
        else run.api_path
    )
    error = run.error or {}
    return Notification(
        notification_id=stable_id(run.run_id, run.status),
        tenant_id=run.tenant_id,
        run_type=run.run_type,
        run_id=run.run_id,
        status=run.status,
        counts=asdict(run.counts),
        error_code=error.get("code"),
        error_context=error.get("message"),
        warnings=list(run.warnings),
        link=link,
        created_at=iso(at),
    )


class NotificationStore:
    """``webhooks``: share one listing of the tenants' webhooks across this store's
    publications (one activity publishing several events of a run); else each lists them."""

    def __init__(self, storage: Storage, *, webhooks: TenantWebhooks | None = None) -> None:
        self._storage, self._webhooks = storage, webhooks

    async def publish(self, principal_id: str, note: Notification, at: datetime) -> None:
        await self.publish_to([principal_id], note, at)

    async def publish_to(self, principal_ids: list[str], note: Notification,
                         at: datetime) -> None:
        """One notification row per principal, and one ``run-events`` message."""
        table = await self._storage.table(NOTIFICATIONS)
        body = _fields(note)
        for principal_id in principal_ids:
            await tables.upsert(table, {
                "PartitionKey": principal_id,
                "RowKey": f"{inverted_time(at)}_{note.notification_id}",
                **body,
                "counts": json.dumps(note.counts),
                "warnings": json.dumps(note.warnings),
                **({"drift": json.dumps(note.drift)} if note.drift is not None else {}),
            })
        queue = await self._storage.queue(RUN_EVENTS)
        message = {"event_id": note.notification_id, **body}
        message.pop("read")
        await send_message(queue, json.dumps(message, sort_keys=True).encode())
        await enqueue_event(self._storage, message, webhooks=self._webhooks)

    async def list(
        self, principal_id: str, *, unread_only: bool, top: int, continuation: str | None
    ) -> Page[dict[str, Any]]:
        table = await self._storage.table(NOTIFICATIONS)
        page = await tables.query_page(table, principal_id, top=top, continuation=continuation,
                                       where="read eq false" if unread_only else "")
        return Page([_body(e) for e in page.value], page.continuation)

    async def mark_read(self, principal_id: str, notification_id: str) -> bool:
        """Mark the caller's own notification read; False when it is not theirs or absent."""
        table = await self._storage.table(NOTIFICATIONS)
        rows = await tables.query_all(table, principal_id, "notification_id eq @n",
                                      {"n": notification_id})
        for entity in rows:
            await tables.merge_if_present(
                table, {"PartitionKey": entity["PartitionKey"], "RowKey": entity["RowKey"],
                        "read": True})
        return bool(rows)


def _fields(note: Notification) -> dict[str, Any]:
    """The notification's fields; ``drift`` only on a drift alert."""
    body = asdict(note)
    if note.drift is None:
        body.pop("drift")
    return body


def _body(entity: dict[str, Any]) -> dict[str, Any]:
    body = {name: entity.get(name) for name in Notification.__dataclass_fields__}
    body["counts"] = json.loads(body["counts"] or "{}")
    body["warnings"] = json.loads(body["warnings"] or "[]")  # absent on older rows
    body["read"] = bool(body["read"])
    if body["drift"] is None:
        body.pop("drift")
    else:
        body["drift"] = json.loads(body["drift"])
    return body
