"""Whether a tenant still takes new writes, as this process last saw it (DESIGN §12).

An activity can outlive its orchestration: an offboarding marks the tenant, terminates its
orchestrations, sweeps, waits a drain (``shared.offboarding.job.DRAIN_SECONDS``) and sweeps
again. Writes that ask here first (sealing a snapshot, a restore's next item) stop within
:data:`OPEN_RECHECK_S` of the mark, a third of the drain, so the last sweep finds everything
they wrote. A tenant found open is not read again for that long; one found closed (being
offboarded, or no longer registered) is read again each time.
"""

from __future__ import annotations

import threading
import time

from shared.platform.storage import Storage
from shared.tenants.store import TenantStore

OPEN_RECHECK_S = 5.0

_Ident = tuple[str, str, str]  # storage account, prefix, tenant


class OpenTenants:
    def __init__(self, open_s: float = OPEN_RECHECK_S, max_entries: int = 4096) -> None:
        self._open_s, self._max = open_s, max_entries
        self._until: dict[_Ident, float] = {}
        self._lock = threading.Lock()

    async def closed(self, storage: Storage, tenant_id: str) -> bool:
        """True when ``tenant_id`` takes nothing new: being offboarded, or gone."""
        ident = (storage.connection, storage.prefix, tenant_id)
        with self._lock:
            until = self._until.get(ident)
        if until is not None and time.monotonic() < until:
            return False
        if await TenantStore(storage).closed_to_new_work(tenant_id):
            return True
        with self._lock:
            now = time.monotonic()
            if len(self._until) >= self._max:
                self._until = {i: u for i, u in self._until.items() if u > now}
            self._until[ident] = now + self._open_s
        return False

    def forget(self, storage: Storage, tenant_id: str) -> None:
        with self._lock:
            self._until.pop((storage.connection, storage.prefix, tenant_id), None)


PROCESS_OPEN_TENANTS = OpenTenants()
