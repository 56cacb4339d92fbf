"""Stopping a tenant's runs and purging their Durable instances before its data goes
(DESIGN §12).

A run's orchestration is its instance plus sub-orchestrations named ``{instance}:…``
(``orchestrators.backup_tenant``'s slices). Runs to stop are the tenant's own that are not
terminal and, anywhere, non-terminal runs that read from it (``source_tenant_id``: a
cross-tenant deployment, DESIGN §11) — those belong to their target and stay, ended
``failed`` with ``tenant_offboarding`` once their instances have stopped.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from shared.platform import tables
from shared.platform.codes import ErrorCode
from shared.platform.keys import iso, parse_iso
from shared.platform.storage import Storage
from shared.runs.model import Run, RunStatus
from shared.runs.store import RUNS, RunStore

ACTIVE = frozenset({"Running", "Pending", "ContinuedAsNew", "Suspended"})
# A queued run without an instance this old was never scheduled (its start stopped midway,
# or saw the offboarding mark): nothing will run it.
UNSCHEDULED_GRACE = timedelta(seconds=30)
PURGE_PAGE = 50
SOURCE_GONE = {"code": ErrorCode.TENANT_OFFBOARDING,
               "message": "the source tenant of this run was offboarded"}


class Instances(Protocol):
    """The Durable client, as offboarding uses it (``activities.offboarding`` adapts it)."""

    async def status(self, instance_id: str) -> str | None:
        """The runtime status ("Running", …); None when there is no such instance."""

    async def children(self, instance_id: str) -> list[tuple[str, str]]:
        """``(id, status)`` of the sub-orchestrations named ``{instance_id}:…``."""

    async def terminate(self, instance_id: str, reason: str) -> None:
        """Ask a running instance to stop (no error for one already terminal)."""

    async def purge(self, instance_id: str) -> None:
        """Delete a terminal instance's history (no error for an absent one)."""


async def stop_runs(storage: Storage, instances: Instances, tenant_id: str,
                    now: datetime) -> list[str]:
    """Terminate every orchestration of the runs to stop; the ones not stopped yet (the
    caller asks again until none is). Source runs whose instances have all stopped are
    settled here."""
    active: list[str] = []
    for run in await _runs_to_stop(storage, tenant_id):
        running = await _running(instances, run, now)
        for instance_id in running:
            await instances.terminate(instance_id, "the tenant is being offboarded")
        active += running
        if not running and run.tenant_id != tenant_id:
            await RunStore(storage).update(run.tenant_id, run.run_id,
                                           status=RunStatus.FAILED.value,
                                           finished_at=iso(now), error=dict(SOURCE_GONE))
    return active


async def purge_page(storage: Storage, instances: Instances, tenant_id: str,
                     after: str | None) -> str | None:
    """Purge the instances of up to :data:`PURGE_PAGE` of the tenant's runs, those after
    row key ``after``; the last row key done, or None when no run is left."""
    table = await storage.table(RUNS)
    where, params = ("RowKey gt @after", {"after": after}) if after else ("", {})
    page = await tables.query_page(table, tenant_id, top=PURGE_PAGE, continuation=None,
                                   where=where, parameters=params)
    for row in page.value:
        instance_id = str(row["instance_id"])
        for child, _ in await instances.children(instance_id):
            await instances.purge(child)
        await instances.purge(instance_id)
    return str(page.value[-1]["RowKey"]) if page.value else None


async def _running(instances: Instances, run: Run, now: datetime) -> list[str]:
    """The run's instances that still run (the ones to terminate, or wait for)."""
    found = [(run.instance_id, await instances.status(run.instance_id)),
             *await instances.children(run.instance_id)]
    running = [instance_id for instance_id, status in found if status in ACTIVE]
    never_scheduled = found[0][1] is None
    if never_scheduled and now - parse_iso(run.created_at) < UNSCHEDULED_GRACE:
        running.append(run.instance_id)  # its start may still schedule it: wait for it
    return running


async def _runs_to_stop(storage: Storage, tenant_id: str) -> list[Run]:
    runs = RunStore(storage)
    return [*await runs.in_flight(tenant_id), *await runs.reading_from(tenant_id)]


__all__ = ["ACTIVE", "Instances", "purge_page", "stop_runs"]
