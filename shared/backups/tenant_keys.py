"""Each tenant's data key, stored only wrapped by the key-encryption key (DESIGN §12).

Table ``tenantkeys``: PartitionKey ``datakey``, RowKey ``{tenant}|{version}``; the row holds
the wrapped key and which KEK (``kek_id``, with its Key Vault version) wrapped it. A key is
created insert-if-absent and then read back, so concurrent first writers — activities of one
backup, two processes — all end up with the one key that was inserted first. Unwrapped keys
are kept per process for a few minutes (bounded), so a backup unwraps once, not per object,
under the tenant's registration as :mod:`shared.tenants.gate` last saw it: a tenant offboarded
and registered again has a new key of the same version, which a process must not mistake for
the one it still holds.

Nothing new is sealed for a tenant being offboarded or gone (DESIGN §12): :meth:`current` asks
:mod:`shared.tenants.gate` first, so an activity that outlives its terminated orchestration
stops sealing (and so capturing) within seconds of the offboarding's mark, even with the key
cached.

Rotation of the KEK (:meth:`TenantKeys.rewrap_all`, ``python -m shared.backups.rotate_kek``)
re-wraps rows and never touches a blob: the data keys themselves do not change.
"""

from __future__ import annotations

import base64
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from azure.data.tables import TableEntity
from azure.data.tables.aio import TableClient

from shared.crypto.envelope import DataKey
from shared.crypto.kek import Kek, WrappedKey, get_kek
from shared.platform import tables
from shared.platform.errors import KeyUnavailable, TenantOffboarding
from shared.platform.keys import iso, utc_now
from shared.platform.loop_local import SharedLoads
from shared.platform.storage import Storage
from shared.tenants import gate
from shared.tenants.gate import OpenTenants
from shared.tenants.store import TenantStore

TENANT_KEYS = "tenantkeys"
CURRENT_VERSION = 1
_PARTITION = "datakey"
_REWRAP_ATTEMPTS = 3

# storage account, prefix, tenant, key version, registration (the tenant row's created_at)
CacheKey = tuple[str, str, str, int, str]


class KeyCache:
    """Unwrapped data keys for ``ttl_s`` seconds, at most ``max_entries`` (least recently
    used go first). Concurrent misses of one key in one event loop share one load."""

    def __init__(self, ttl_s: float = 300.0, max_entries: int = 1024) -> None:
        self._ttl_s, self._max = ttl_s, max_entries
        self._keys: OrderedDict[CacheKey, tuple[float, DataKey]] = OrderedDict()
        self._lock = threading.Lock()
        self._loading: SharedLoads[CacheKey, DataKey] = SharedLoads()

    def get(self, ident: CacheKey) -> DataKey | None:
        with self._lock:
            held = self._keys.get(ident)
            if held is None or held[0] < time.monotonic():
                self._keys.pop(ident, None)
                return None
            self._keys.move_to_end(ident)
            return held[1]

    def put(self, ident: CacheKey, key: DataKey) -> None:
        with self._lock:
            self._keys[ident] = (time.monotonic() + self._ttl_s, key)
            self._keys.move_to_end(ident)
            while len(self._keys) > self._max:
                self._keys.popitem(last=False)

    def forget(self, account: str, prefix: str, tenant_id: str) -> None:
        with self._lock:
            for ident in [i for i in self._keys if i[:3] == (account, prefix, tenant_id)]:
                del self._keys[ident]

    async def load(self, ident: CacheKey, loader: Callable[[], Awaitable[DataKey]]
                   ) -> DataKey:
        key = self.get(ident)
        if key is not None:
            return key
        key = await self._loading.load(ident, loader)
        self.put(ident, key)
        return key


PROCESS_KEYS = KeyCache()


@dataclass(frozen=True)
class Rewrapped:
    """What a rotation did: rows re-wrapped by the new KEK, rows it already wrapped."""

    rewrapped: int
    already: int


class TenantKeys:
    def __init__(self, storage: Storage, kek: Kek | None = None,
                 cache: KeyCache | None = None, open_tenants: OpenTenants | None = None
                 ) -> None:
        self._storage = storage
        self._kek = kek
        self._cache = PROCESS_KEYS if cache is None else cache
        self._open = gate.PROCESS_OPEN_TENANTS if open_tenants is None else open_tenants

    async def current(self, tenant_id: str) -> DataKey:
        """The key new snapshots of the tenant are sealed with; created on first use.
        :class:`TenantOffboarding` for a tenant being offboarded or gone, as the gate sees
        it, even with the key cached."""
        registration = await self._open.registration(self._storage, tenant_id)
        if registration is None:
            raise _refused(tenant_id)
        return await self._cached(tenant_id, CURRENT_VERSION, registration, create=True)

    async def get(self, tenant_id: str, version: int) -> DataKey:
        """A key that sealed existing snapshots; :class:`KeyUnavailable` when it is gone
        (reading never makes a key: a new one would open nothing). Readable while the tenant
        is being offboarded, but then not kept: its registration is ending."""
        registration = await self._open.registration(self._storage, tenant_id)
        if registration is None:
            return await self._load(tenant_id, version, create=False)
        return await self._cached(tenant_id, version, registration, create=False)

    def forget(self, tenant_id: str) -> None:
        """Drop the tenant's unwrapped keys, and that it was found open, from this process."""
        self._cache.forget(self._storage.connection, self._storage.prefix, tenant_id)
        self._open.forget(self._storage, tenant_id)

    async def _cached(self, tenant_id: str, version: int, registration: str, *,
                      create: bool) -> DataKey:
        ident = (self._storage.connection, self._storage.prefix, tenant_id, version,
                 registration)
        return await self._cache.load(ident, lambda: self._load(tenant_id, version, create))

    async def _load(self, tenant_id: str, version: int, create: bool) -> DataKey:
        table = await self._storage.table(TENANT_KEYS)
        row_key = _row_key(tenant_id, version)
        row = await tables.get_or_none(table, _PARTITION, row_key)
        if row is None and create:  # current() found the tenant open just now
            fresh = DataKey.generate(tenant_id, version)
            wrapped = await self._kek_().wrap(fresh.raw)
            if await tables.insert_once(table, _entity(tenant_id, version, wrapped)):
                # Look again: an offboarding marked meanwhile sweeps the keys only after its
                # mark, so either it deletes this key or this look sees the mark.
                try:
                    await self._refuse_if_closed(tenant_id)
                except TenantOffboarding:
                    await tables.delete(table, _PARTITION, row_key)
                    raise
                return fresh
            row = await tables.get_or_none(table, _PARTITION, row_key)  # the first writer's
        if row is None:
            raise KeyUnavailable(f"tenant {tenant_id} has no data key (version {version})")
        return DataKey(tenant_id, version, await self._kek_().unwrap(_wrapped(row)))

    async def _refuse_if_closed(self, tenant_id: str) -> None:
        """No new key for a tenant being offboarded or already offboarded: a write that lands
        while (or after) its data is destroyed must not leave a fresh key, and what it sealed,
        behind. Read now, not through the gate."""
        if await TenantStore(self._storage).closed_to_new_work(tenant_id):
            raise _refused(tenant_id)

    async def rewrap_all(self, old: Kek, new: Kek) -> Rewrapped:
        """Re-wrap every tenant's data keys with ``new``: unwrap with whichever of ``old`` and
        ``new`` wrapped the row, wrap with ``new``, check it unwraps again, then replace the
        row only if nobody changed it meanwhile. Idempotent and resumable: rows ``new``
        already wrapped are counted, not rewritten."""
        table = await self._storage.table(TENANT_KEYS)
        outcomes = Counter([await _rewrap_row(table, row, old, new)
                            for row in await tables.query_all(table, _PARTITION)])
        return Rewrapped(outcomes["rewrapped"], outcomes["already"])

    def _kek_(self) -> Kek:
        if self._kek is None:
            self._kek = get_kek()
        return self._kek


def _refused(tenant_id: str) -> TenantOffboarding:
    return TenantOffboarding(f"tenant {tenant_id} is offboarded or being offboarded: "
                             "nothing new is sealed")


async def _rewrap_row(table: TableClient, row: TableEntity, old: Kek, new: Kek) -> str:
    """"rewrapped", "already", or "gone" (deleted meanwhile: an offboarded tenant)."""
    for _ in range(_REWRAP_ATTEMPTS):
        outcome = await _rewrap(table, row, old, new)
        if outcome is not None:
            return outcome
        fresh = await tables.get_or_none(table, _PARTITION, row["RowKey"])
        if fresh is None:
            return "gone"
        row = fresh
    raise KeyUnavailable(f"the data key row {row['RowKey']} kept changing during rotation")


async def _rewrap(table: TableClient, row: TableEntity, old: Kek, new: Kek) -> str | None:
    """"rewrapped", "already", or None when the row changed since it was read."""
    wrapped = _wrapped(row)
    source = old if old.owns(wrapped.kek_id) else new
    raw = await source.unwrap(wrapped)  # KeyUnavailable when neither KEK wrapped it
    again = await new.wrap(raw)
    if again.kek_id == wrapped.kek_id:
        return "already"
    if await new.unwrap(again) != raw:
        raise KeyUnavailable("the new key-encryption key does not unwrap what it wrapped")
    entity = {**_entity(str(row["tenant_id"]), int(row["version"]), again),
              "created_at": row.get("created_at"), "rewrapped_at": iso(utc_now())}
    return "rewrapped" if await tables.replace_if_unchanged(
        table, entity, tables.etag(row)) else None


def _row_key(tenant_id: str, version: int) -> str:
    return f"{tenant_id}|{version}"


def _entity(tenant_id: str, version: int, wrapped: WrappedKey) -> tables.Entity:
    return {"PartitionKey": _PARTITION, "RowKey": _row_key(tenant_id, version),
            "tenant_id": tenant_id, "version": version, "kek_id": wrapped.kek_id,
            "algorithm": wrapped.algorithm,
            "wrapped_key": base64.b64encode(wrapped.wrapped).decode(),
            "created_at": iso(utc_now())}


def _wrapped(row: TableEntity) -> WrappedKey:
    return WrappedKey(str(row["kek_id"]), str(row["algorithm"]),
                      base64.b64decode(str(row["wrapped_key"])))
