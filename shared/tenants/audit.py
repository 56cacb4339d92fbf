"""Audit events: who did what to which tenant, newest first (DESIGN §3, §6, §8).

Rows are upserts on ``{inverted time}_{event id}`` with a deterministic event id, so an
activity that is retried rewrites its own event instead of adding a second one. A tenant's
events are its partition; the MSP's own (``tenant_offboarded``) are the
:data:`~shared.tenants.store.MSP_SCOPE` partition, which outlives every tenant.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from shared.platform import tables
from shared.platform.keys import inverted_time, iso
from shared.platform.paging import Page
from shared.platform.storage import Storage

AUDIT = "audit"


@dataclass
class AuditEvent:
    event_id: str
    tenant_id: str
    actor: str
    action: str
    target: str
    outcome: str
    created_at: str
    run_id: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


class AuditLog:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    async def record(self, event: AuditEvent, at: datetime, *, scope: str | None = None
                     ) -> None:
        """Record ``event`` in its tenant's audit, or in ``scope``'s (the MSP's)."""
        table = await self._storage.table(AUDIT)
        body = asdict(event)
        body["details"] = json.dumps(event.details, sort_keys=True)
        body["created_at"] = iso(at)
        await tables.upsert(table, {"PartitionKey": scope or event.tenant_id,
                                    "RowKey": f"{inverted_time(at)}_{event.event_id}", **body},
                            merge=True)

    async def list(self, scope: str, *, top: int, continuation: str | None) -> Page[dict]:
        """A tenant's events, or the MSP's (``scope``), newest first."""
        table = await self._storage.table(AUDIT)
        page = await tables.query_page(table, scope, top=top, continuation=continuation)
        return Page([_event(e) for e in page.value], page.continuation)


def _event(entity: dict[str, Any]) -> dict[str, Any]:
    names = AuditEvent.__dataclass_fields__
    body = {name: entity.get(name) for name in names}
    body["details"] = json.loads(body["details"] or "{}")
    return body
