"""Which tenants an activity may touch: the run's, read from the run (DESIGN §6).

An activity's input names its run and tenant; :func:`run_scope` checks that the run exists
under that tenant and that the run index agrees, so a hand-started activity (issue 19,
finding 1–2) cannot point a run at another tenant. What the activity then reads must be in
the scope: the run's own tenant, or — for a cross-tenant deployment — the source tenant the
run recorded when it was started (``source_tenant_id``, as an attribute or a run parameter).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from shared.platform.errors import RunFinished, TenantMismatch
from shared.platform.storage import Storage
from shared.runs.model import Run
from shared.runs.store import RunStore, SeenRun


@dataclass(frozen=True)
class RunScope:
    run: Run

    @property
    def tenant_id(self) -> str:
        """Where the run writes: Graph, its sets, its items."""
        return self.run.tenant_id

    @property
    def source_tenant_id(self) -> str:
        """Where the run reads backup sets and snapshots from: its own tenant unless it
        recorded another (a cross-tenant deployment)."""
        recorded = getattr(self.run, "source_tenant_id", None) or self.run.parameters.get(
            "source_tenant_id")
        return str(recorded) if recorded else self.run.tenant_id

    def readable(self, tenant_id: str) -> bool:
        return tenant_id in (self.tenant_id, self.source_tenant_id)

    def owns_blob(self, blob_path: str, tenant_id: str | None = None) -> bool:
        """A snapshot path (``{tenant}/{type}/{id}/{sha}.json``) under ``tenant_id`` (default:
        the source tenant)."""
        owner = tenant_id or self.source_tenant_id
        return self.readable(owner) and blob_path.startswith(f"{owner}/")


async def run_scope(storage: Storage, run_id: str, tenant_id: str) -> RunScope:
    """The scope of ``run_id``; raises :class:`TenantMismatch` unless it is ``tenant_id``'s,
    and :class:`RunFinished` once the run is finished (terminal runs never change: an activity
    of a run started again by hand does nothing, issue 19 finding 3)."""
    run = (await own_run(storage, run_id, tenant_id)).run
    if run.terminal:
        raise RunFinished("the run is already finished")
    return RunScope(run)


async def own_run(storage: Storage, run_id: str, tenant_id: str) -> SeenRun:
    """``run_id`` as read now, finished or not; raises :class:`TenantMismatch` unless it is
    ``tenant_id``'s (its row in the tenant's partition, and the run index agrees)."""
    runs = RunStore(storage)
    seen, indexed = await asyncio.gather(runs.get_seen(tenant_id, run_id),
                                         runs.tenant_of(run_id))
    if seen is None or indexed not in (None, tenant_id):
        raise TenantMismatch("the run is not this tenant's")
    return seen


async def require_own_set(storage: Storage, run_id: str, tenant_id: str,
                          backup_set_id: str) -> RunScope:
    """The scope of a run that writes ``backup_set_id``: it must be the set the run was
    recorded with (a capture or backup writes its own set, nobody else's)."""
    scope = await run_scope(storage, run_id, tenant_id)
    if backup_set_id != scope.run.backup_set_id:
        raise TenantMismatch("the backup set is not this run's")
    return scope
