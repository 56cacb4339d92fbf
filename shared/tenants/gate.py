"""Whether a tenant still takes new writes, as this process last saw it (DESIGN §12).

An activity can outlive its orchestration: an offboarding marks the tenant, terminates its
orchestrations, sweeps, waits a drain (``shared.offboarding.job.DRAIN_SECONDS``) and sweeps
again. Writes that ask here first (sealing a snapshot, a restore's rows) stop within
:data:`OPEN_RECHECK_S` of the mark, a third of the drain, so the last sweep finds everything
they wrote. A tenant found open is not read again for that long; one found closed (being
offboarded, or no longer registered) is read again each time. Concurrent looks (a page of
objects sealed at once) share one read.

What is remembered of an open tenant is its registration (the row's ``created_at``): a tenant
offboarded and registered again is another registration, with another data key, so a cache
keyed by it never hands the new registration the old one's key.
"""

from __future__ import annotations

import threading
import time

from shared.platform.errors import TenantOffboarding
from shared.platform.loop_local import SharedLoads
from shared.platform.storage import Storage
from shared.tenants.store import Tenant, TenantStore, closed_to_new_work

OPEN_RECHECK_S = 5.0

_Ident = tuple[str, str, str]  # storage account, prefix, tenant


class OpenTenants:
    def __init__(self, open_s: float = OPEN_RECHECK_S, max_entries: int = 4096) -> None:
        self._open_s, self._max = open_s, max_entries
        self._open: dict[_Ident, tuple[float, str]] = {}  # until, registration
        self._lock = threading.Lock()
        self._reading: SharedLoads[_Ident, Tenant | None] = SharedLoads()

    async def closed(self, storage: Storage, tenant_id: str) -> bool:
        """True when ``tenant_id`` takes nothing new: being offboarded, or gone."""
        return await self.registration(storage, tenant_id) is None

    async def registration(self, storage: Storage, tenant_id: str) -> str | None:
        """When the open tenant was registered (its row's ``created_at``); None when it
        takes nothing new."""
        ident = (storage.connection, storage.prefix, tenant_id)
        with self._lock:
            held = self._open.get(ident)
        if held is not None and time.monotonic() < held[0]:
            return held[1]
        tenant = await self._reading.load(ident, lambda: TenantStore(storage).get(tenant_id))
        if tenant is None or closed_to_new_work(tenant):
            return None
        with self._lock:
            now = time.monotonic()
            if len(self._open) >= self._max:
                self._open = {i: h for i, h in self._open.items() if h[0] > now}
            self._open[ident] = (now + self._open_s, tenant.created_at)
        return tenant.created_at

    def forget(self, storage: Storage, tenant_id: str) -> None:
        with self._lock:
            self._open.pop((storage.connection, storage.prefix, tenant_id), None)


PROCESS_OPEN_TENANTS = OpenTenants()


async def require_open(storage: Storage, *tenant_ids: str, refusal: str) -> None:
    """Before a write: raise :class:`TenantOffboarding` when any of ``tenant_ids`` takes
    nothing new, as this process sees it; ``refusal`` says what stops."""
    for tenant_id in dict.fromkeys(tenant_ids):
        if await PROCESS_OPEN_TENANTS.closed(storage, tenant_id):
            raise TenantOffboarding(f"tenant {tenant_id} is being offboarded: {refusal}")
