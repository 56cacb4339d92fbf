"""The alert of a drift check that found drift (DESIGN §10).

One notification with status ``drift_detected`` (id derived from the run, so a retried
activity rewrites it) linking to the run, for the requester — or, for a check a system
principal started (the scheduler: ``requested_by`` ``system:…``), for each of the tenant's
admins — and one ``drift_detected`` event on ``run-events``. A check without drift raises
none: only the run's own status notifications are written.
"""

from __future__ import annotations

from dataclasses import asdict, replace
from datetime import datetime

from shared.drift.compare import DriftCounts
from shared.platform.keys import stable_id
from shared.platform.storage import Storage
from shared.runs.model import Run
from shared.runs.notifications import Notification, notification_for
from shared.tenants.store import Role, TenantStore

DRIFT_DETECTED = "drift_detected"
SYSTEM_PREFIX = "system:"  # requested_by of runs no engineer asked for (the scheduler's)


def drift_alert(run: Run, drift: DriftCounts, at: datetime,
                portal_base_url: str = "") -> Notification:
    """The ``drift_detected`` notification of ``run``: its link, counts and drift."""
    note = notification_for(run, at, portal_base_url)
    return replace(note, notification_id=stable_id(run.run_id, DRIFT_DETECTED),
                   status=DRIFT_DETECTED, drift=asdict(drift))


async def alert_recipients(storage: Storage, run: Run) -> list[str]:
    """Who is told: the requester, or for a scheduled check the tenant's admins."""
    if not run.requested_by.startswith(SYSTEM_PREFIX):
        return [run.requested_by]
    grants = await TenantStore(storage).grants_for_tenant(run.tenant_id)
    return sorted(g.principal_id for g in grants if Role.parse(g.role) is Role.ADMIN)


__all__ = ["DRIFT_DETECTED", "SYSTEM_PREFIX", "alert_recipients", "drift_alert"]
