"""Webhook registrations and their delivery log (DESIGN §13), both partitioned by tenant so
offboarding deletes a tenant's rows by partition.

Table ``webhooks``: PartitionKey ``{tenant}``, RowKey ``{webhook_id}``. The URL (its query
string can be a credential) and the signing secret are sealed with the tenant's data key
(DESIGN §12; destroyed at offboarding, so nothing left behind is readable); the row keeps only
the URL as shown (query redacted) in the clear.

Table ``webhookdeliveries``: PartitionKey ``{tenant}``, RowKey
``{webhook_id}|{inverted time}|{event id}|{attempt}``: one row per attempt, newest first per
webhook.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from shared.backups.tenant_keys import TenantKeys
from shared.crypto.envelope import key_version
from shared.platform import tables
from shared.platform.errors import Conflict
from shared.platform.keys import iso, utc_now
from shared.platform.paging import Page
from shared.platform.storage import Storage
from shared.webhooks.address import shown
from shared.webhooks.signing import new_secret

WEBHOOKS, WEBHOOK_DELIVERIES = "webhooks", "webhookdeliveries"
_SAVE_ATTEMPTS = 3
EVENT_TYPES = ("run.queued", "run.running", "run.succeeded", "run.failed", "run.partial",
               "drift_detected")


@dataclass(frozen=True)
class Webhook:
    """A registration as the API shows it: the URL with its query string redacted."""

    tenant_id: str
    webhook_id: str
    url: str  # shown form
    events: list[str]
    created_at: str
    updated_at: str
    created_by: str


@dataclass(frozen=True)
class Endpoint:
    """What a delivery needs, opened: never persisted, returned or logged."""

    webhook: Webhook
    url: str
    secret: str


@dataclass(frozen=True)
class Saved:
    webhook: Webhook
    created: bool
    secret: str | None  # only when the PUT created the webhook


class WebhookStore:
    def __init__(self, storage: Storage, keys: TenantKeys | None = None) -> None:
        self._storage = storage
        self._keys = keys or TenantKeys(storage)

    async def put(self, tenant_id: str, webhook_id: str, url: str, events: list[str],
                  actor: str) -> Saved:
        """Create the webhook with a new secret, or replace its URL and events (the secret is
        kept). Of two concurrent creating PUTs, one creates and the other replaces."""
        table = await self._storage.table(WEBHOOKS)
        key = await self._keys.current(tenant_id)
        now = iso(utc_now())
        fields = {"PartitionKey": tenant_id, "RowKey": webhook_id, "tenant_id": tenant_id,
                  "webhook_id": webhook_id, "url_shown": shown(url),
                  "url_sealed": _b64(key.seal(_name(webhook_id, "url"), url.encode())),
                  "events": json.dumps(sorted(set(events))), "updated_at": now}
        secret = new_secret()
        new = {**fields, "created_at": now, "created_by": actor,
               "secret_sealed": _b64(key.seal(_name(webhook_id, "secret"), secret.encode()))}
        # Create, else replace what is there; a DELETE in between means create after all.
        for _ in range(_SAVE_ATTEMPTS):
            created = await tables.insert_once(table, new)
            if created or await tables.merge_if_present(table, fields):
                row = await tables.get_or_none(table, tenant_id, webhook_id)
                if row is not None:
                    return Saved(_webhook(row), created, secret if created else None)
        raise Conflict("the webhook kept changing while it was being saved; try again")

    async def get(self, tenant_id: str, webhook_id: str) -> Webhook | None:
        row = await tables.get_or_none(await self._storage.table(WEBHOOKS), tenant_id,
                                       webhook_id)
        return None if row is None else _webhook(row)

    async def list(self, tenant_id: str) -> list[Webhook]:
        table = await self._storage.table(WEBHOOKS)
        return [_webhook(row) for row in await tables.query_all(table, tenant_id)]

    async def endpoint(self, tenant_id: str, webhook_id: str) -> Endpoint | None:
        """The webhook with its URL and secret opened; None when it is gone."""
        row = await tables.get_or_none(await self._storage.table(WEBHOOKS), tenant_id,
                                       webhook_id)
        if row is None:
            return None
        return Endpoint(_webhook(row), await self._open(row, "url"),
                        await self._open(row, "secret"))

    async def delete(self, tenant_id: str, webhook_id: str) -> bool:
        """Delete the webhook and its delivery log; False when there was none."""
        table = await self._storage.table(WEBHOOKS)
        if await tables.get_or_none(table, tenant_id, webhook_id) is None:
            return False
        await tables.delete(table, tenant_id, webhook_id)
        log = await self._storage.table(WEBHOOK_DELIVERIES)
        lo, hi = _range(webhook_id)
        for row in await tables.query_all(log, tenant_id, "RowKey ge @lo and RowKey lt @hi",
                                          {"lo": lo, "hi": hi}):
            await tables.delete(log, tenant_id, row["RowKey"])
        return True

    async def _open(self, row: dict[str, Any], field: str) -> str:
        sealed = base64.b64decode(str(row[f"{field}_sealed"]))
        key = await self._keys.get(str(row["PartitionKey"]), key_version(sealed))
        return key.open(_name(str(row["RowKey"]), field), sealed).decode()


class DeliveryLog:
    """One row per delivery attempt of a tenant's webhooks."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    async def record(self, tenant_id: str, row_key: str, fields: dict[str, Any]) -> None:
        table = await self._storage.table(WEBHOOK_DELIVERIES)
        await tables.upsert(table, {"PartitionKey": tenant_id, "RowKey": row_key, **fields})

    async def page(self, tenant_id: str, webhook_id: str, *, top: int,
                   continuation: str | None) -> Page[dict[str, Any]]:
        table = await self._storage.table(WEBHOOK_DELIVERIES)
        lo, hi = _range(webhook_id)
        page = await tables.query_page(table, tenant_id, top=top, continuation=continuation,
                                       where="RowKey ge @lo and RowKey lt @hi",
                                       parameters={"lo": lo, "hi": hi})
        return Page([_delivery(row) for row in page.value], page.continuation)


def delivery_row_key(webhook_id: str, inverted: str, event_id: str, attempt: int) -> str:
    return f"{webhook_id}|{inverted}|{event_id}|{attempt:03d}"


DELIVERY_FIELDS = ("delivery_id", "webhook_id", "event_id", "event_type", "attempt",
                   "attempted_at", "outcome", "status_code", "error", "duration_ms",
                   "next_attempt_at", "url")


def _delivery(row: dict[str, Any]) -> dict[str, Any]:
    return {name: row.get(name) for name in DELIVERY_FIELDS}


def _range(webhook_id: str) -> tuple[str, str]:
    return f"{webhook_id}|", f"{webhook_id}}}"  # "}" sorts right after "|"


def _name(webhook_id: str, field: str) -> str:
    """The associated data a sealed value is bound to: it opens only as this field of this
    webhook of this tenant."""
    return f"webhooks/{webhook_id}/{field}"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _webhook(row: dict[str, Any]) -> Webhook:
    return Webhook(tenant_id=str(row["PartitionKey"]), webhook_id=str(row["RowKey"]),
                   url=str(row["url_shown"]), events=json.loads(str(row["events"])),
                   created_at=str(row["created_at"]), updated_at=str(row["updated_at"]),
                   created_by=str(row.get("created_by", "")))


__all__ = ["DELIVERY_FIELDS", "EVENT_TYPES", "WEBHOOKS", "WEBHOOK_DELIVERIES", "DeliveryLog",
           "Endpoint", "Saved", "Webhook", "WebhookStore", "delivery_row_key"]
