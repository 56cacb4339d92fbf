"""The idempotency record: one per tenant and key, ETag-guarded (DESIGN §4).

The protocol (claim a new generation, or find the run that holds the key) lives in
:class:`IdempotencyStore`; Azure Table calls are the primitives of
:mod:`shared.platform.tables` underneath, in the spirit of Powertools' persistence layer.
Expiry is derived from ``expires_at``, never stored as a state.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared.platform import tables
from shared.platform.keys import iso, parse_iso
from shared.platform.storage import Storage

IDEMPOTENCY = "idempotency"
CLIENT_KEY_TTL = timedelta(hours=24)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def instance_id_for(key: str, generation: int) -> str:
    """`pv-{sha256(key)[:32]}-{generation}`: a key never has two live instances."""
    return f"pv-{key_hash(key)[:32]}-{generation}"


def fingerprint(method: str, path: str, body: dict[str, Any]) -> str:
    """Method + path + canonical JSON body (after defaults are applied)."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{method.upper()} {path}\n{canonical}".encode()).hexdigest()


@dataclass
class IdempotencyRecord:
    tenant_id: str
    key: str
    generation: int
    run_id: str
    fingerprint: str
    created_at: str
    expires_at: str | None = None
    etag: str | None = None

    @property
    def instance_id(self) -> str:
        return instance_id_for(self.key, self.generation)

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and parse_iso(self.expires_at) <= now


class LostRace(Exception):
    """Raised when another request claimed the key between our read and our write."""


class IdempotencyStore:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    async def get(self, tenant_id: str, key: str) -> IdempotencyRecord | None:
        table = await self._storage.table(IDEMPOTENCY)
        entity = await tables.get_or_none(table, tenant_id, key_hash(key))
        if entity is None:
            return None
        return IdempotencyRecord(
            tenant_id=tenant_id,
            key=entity["key"],
            generation=entity["generation"],
            run_id=entity["run_id"],
            fingerprint=entity["fingerprint"],
            created_at=entity["created_at"],
            expires_at=entity.get("expires_at"),
            etag=tables.etag(entity),
        )

    async def claim(
        self,
        previous: IdempotencyRecord | None,
        *,
        tenant_id: str,
        key: str,
        run_id: str,
        fingerprint: str,
        now: datetime,
        client_key: bool,
    ) -> IdempotencyRecord:
        """Take the next generation of ``key`` for ``run_id``; raises :class:`LostRace`."""
        record = IdempotencyRecord(
            tenant_id=tenant_id,
            key=key,
            generation=previous.generation + 1 if previous else 1,
            run_id=run_id,
            fingerprint=fingerprint,
            created_at=iso(now),
            expires_at=iso(now + CLIENT_KEY_TTL) if client_key else None,
        )
        entity = {
            "PartitionKey": tenant_id,
            "RowKey": key_hash(key),
            "key": key,
            "generation": record.generation,
            "run_id": run_id,
            "fingerprint": fingerprint,
            "created_at": record.created_at,
            "expires_at": record.expires_at,
        }
        table = await self._storage.table(IDEMPOTENCY)
        if previous is None or previous.etag is None:
            won = await tables.insert_once(table, entity)
        else:
            won = await tables.replace_if_unchanged(table, entity, previous.etag)
        if not won:
            raise LostRace(key)
        return record
