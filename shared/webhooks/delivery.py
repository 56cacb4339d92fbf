"""Delivering run events to a tenant's webhooks, with retries for 24 hours (DESIGN §13).

Every ``run-events`` message (:mod:`shared.runs.notifications`) becomes one job per
subscribed webhook on the ``webhook-deliveries`` queue. The queue function
(``queues/webhook_delivery.py``) makes one attempt per job and writes one delivery row. A
5xx, 408, 429, timeout or failed connection schedules the next attempt as a new job that stays
invisible until it is due (:data:`RETRY_DELAYS_S`, the last one clipped to the 24-hour
deadline) — durable across restarts, with no process waiting. Nothing else is retried: a 4xx
or a redirect is the receiver's answer, a refused address a registration to fix.

The ``webhook-id`` header is the event id, the same on every retry, so receivers dedupe on it
(delivery is at least once). The body is fixed when the job is made; each attempt signs it
with a fresh ``webhook-timestamp``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx

from shared.backups.tenant_keys import TenantKeys
from shared.platform.keys import inverted_time, iso, parse_iso, stable_id, utc_now
from shared.platform.storage import Storage, send_message
from shared.webhooks import sender, signing
from shared.webhooks.address import AddressRefused, Resolver, parse_url, shown, system_resolver
from shared.webhooks.store import DeliveryLog, Webhook, WebhookStore, delivery_row_key

log = logging.getLogger(__name__)

DELIVERY_QUEUE = "webhook-deliveries"
# Seconds after each failed attempt: the first retry within 30 s, then backing off. Receivers
# down for an hour are retried at 52 min and 1 h 52 min after the first attempt.
RETRY_DELAYS_S = (5, 30, 120, 300, 900, 1800, 3600, 7200, 14400, 28800)
RETRY_FOR = timedelta(hours=24)
DRIFT_DETECTED = "drift_detected"


def event_type(status: str) -> str:
    """The Standard Webhooks ``type`` of a run-events message with this status."""
    return status if status == DRIFT_DETECTED else f"run.{status}"


@dataclass(frozen=True)
class DeliveryJob:
    """One attempt to make: a queue message (JSON-plain)."""

    tenant_id: str
    webhook_id: str
    event_id: str
    event_type: str
    body: str
    attempt: int
    first_attempt_at: str

    @classmethod
    def of(cls, data: dict[str, Any]) -> DeliveryJob:
        return cls(**{name: data[name] for name in cls.__dataclass_fields__})


def next_delay_s(attempt: int, first_attempt_at: datetime, now: datetime) -> int | None:
    """Seconds until the attempt after ``attempt`` (1-based), or None: the 24 hours are over."""
    remaining = (first_attempt_at + RETRY_FOR - now).total_seconds()
    if remaining <= 0:
        return None
    delay = RETRY_DELAYS_S[min(attempt, len(RETRY_DELAYS_S)) - 1]
    return max(1, int(min(delay, remaining)))


class TenantWebhooks:
    """Each tenant's webhooks, listed once for as long as this object lives: an activity that
    publishes a run's start and its end (a capture's one activity) lists them once. A webhook
    registered in between hears neither event, as one registered a moment later would; one
    deleted in between gets a job that its attempt drops (:func:`attempt` looks it up)."""

    def __init__(self, storage: Storage) -> None:
        self._store = WebhookStore(storage)
        self._listed: dict[str, list[Webhook]] = {}

    async def of(self, tenant_id: str) -> list[Webhook]:
        if tenant_id not in self._listed:
            self._listed[tenant_id] = await self._store.list(tenant_id)
        return self._listed[tenant_id]


async def enqueue_event(storage: Storage, message: dict[str, Any], *,
                        webhooks: TenantWebhooks | None = None) -> int:
    """One delivery job for each of the tenant's webhooks subscribed to ``message``'s type;
    how many were queued. ``webhooks``: the tenant's webhooks as already listed (else they
    are listed now)."""
    kind = event_type(str(message["status"]))
    body = json.dumps({**message, "type": kind}, sort_keys=True, ensure_ascii=False)
    listed = await (webhooks or TenantWebhooks(storage)).of(str(message["tenant_id"]))
    hooks = [w for w in listed if kind in w.events]
    if not hooks:
        return 0
    queue = await storage.queue(DELIVERY_QUEUE)
    now = iso(utc_now())
    for hook in hooks:
        job = DeliveryJob(hook.tenant_id, hook.webhook_id, str(message["event_id"]), kind, body,
                          1, now)
        await send_message(queue, json.dumps(asdict(job)).encode())
    return len(hooks)


@dataclass(frozen=True)
class Attempted:
    """What :func:`attempt` did: the delivery row it wrote (None when the webhook is gone or
    no longer wants the event) and the job it scheduled next."""

    row: dict[str, Any] | None
    retry: DeliveryJob | None = None
    retry_in_s: int | None = None


async def attempt(storage: Storage, job: DeliveryJob, *, allowed_hosts: Collection[str],
                  now: datetime | None = None, resolver: Resolver = system_resolver,
                  transport: httpx.AsyncBaseTransport | None = None,
                  keys: TenantKeys | None = None) -> Attempted:
    """Make one attempt of ``job``, record it, and schedule the next when it may help."""
    now = now or utc_now()
    store = WebhookStore(storage, keys)
    endpoint = await store.endpoint(job.tenant_id, job.webhook_id)
    if endpoint is None or job.event_type not in endpoint.webhook.events:
        return Attempted(None)  # deleted, or re-registered without this event
    body = job.body.encode()
    timestamp = int(now.timestamp())
    headers = signing.headers(endpoint.secret, job.event_id, timestamp, body)
    try:
        target = parse_url(endpoint.url)
    except AddressRefused:
        outcome = sender.Outcome(False, False, error="address_refused")
    else:
        outcome = await sender.post(target, headers, body, allowed_hosts=allowed_hosts,
                                    resolver=resolver, transport=transport)
    delay = (next_delay_s(job.attempt, parse_iso(job.first_attempt_at), now)
             if outcome.retryable else None)
    retry = None if delay is None else DeliveryJob(**{**asdict(job), "attempt": job.attempt + 1})
    row = {
        "delivery_id": stable_id(job.webhook_id, job.event_id, str(job.attempt)),
        "webhook_id": job.webhook_id, "event_id": job.event_id, "event_type": job.event_type,
        "attempt": job.attempt, "attempted_at": iso(now),
        "outcome": "delivered" if outcome.delivered else "retrying" if retry else "failed",
        "status_code": outcome.status_code, "error": outcome.error,
        "duration_ms": outcome.duration_ms,
        "next_attempt_at": iso(now + timedelta(seconds=delay)) if delay is not None else None,
        "url": shown(endpoint.url),
    }
    await DeliveryLog(storage).record(job.tenant_id, delivery_row_key(
        job.webhook_id, inverted_time(now), job.event_id, job.attempt), row)
    if retry is not None:
        queue = await storage.queue(DELIVERY_QUEUE)
        await send_message(queue, json.dumps(asdict(retry)).encode(), visible_in_s=delay)
    log.info("webhook %s of tenant %s: event %s attempt %d %s (%s)", job.webhook_id,
             job.tenant_id, job.event_id, job.attempt, row["outcome"],
             outcome.status_code or outcome.error)
    return Attempted(row, retry, delay)


__all__ = ["DELIVERY_QUEUE", "RETRY_DELAYS_S", "RETRY_FOR", "Attempted", "DeliveryJob",
           "TenantWebhooks", "attempt", "enqueue_event", "event_type", "next_delay_s"]
