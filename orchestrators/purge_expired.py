"""`purge_expired`: the daily retention purge of every tenant (DESIGN §12), started by
``timers/purge_tick.py`` under one instance id per day (``shared.retention.start``).

Each tenant is a ``purge_tenant`` sub-orchestration whose instance id is this one's plus
the tenant, ``TENANTS_AT_ONCE`` at a time; a tenant whose purge fails (it says so instead
of raising) is reported and left for the next day's run, which finds what is left.
Notifications (kept per principal, not per tenant) go in one sweep at the end. The logical
time is the input's ``at``.
"""

from __future__ import annotations

from dataclasses import asdict

import azure.durable_functions as df

from activities.contracts.purge import PurgeDay, PurgeNotifications, PurgeTenant
from activities.purge import list_retention, purge_old_notifications
from orchestrators.purge_tenant import purge_tenant
from orchestrators.retry import BOOKKEEPING
from orchestrators.run_steps import call_orchestrator

bp = df.Blueprint()
TENANTS_AT_ONCE = 8


@bp.orchestration_trigger(context_name="context")
def purge_expired(context: df.DurableOrchestrationContext):
    day = PurgeDay.from_payload(context.get_input())
    retention: dict[str, int] = yield context.call_activity_with_retry(
        list_retention, BOOKKEEPING, asdict(day))
    tenant_ids = sorted(retention)
    purged: dict[str, dict] = {}
    for start in range(0, len(tenant_ids), TENANTS_AT_ONCE):
        chunk = tenant_ids[start:start + TENANTS_AT_ONCE]
        results = yield context.task_all([call_orchestrator(
            context, purge_tenant, asdict(PurgeTenant(tenant_id, day.at, day.grace_s)),
            f"{context.instance_id}-{tenant_id}") for tenant_id in chunk])
        purged.update(zip(chunk, results, strict=True))
    failed = [t for t, result in purged.items() if result.get("failed")]
    notifications = yield context.call_activity_with_retry(
        purge_old_notifications, BOOKKEEPING, asdict(PurgeNotifications(day.at, retention)))
    return {"at": day.at, "tenants": purged, "failed": failed,
            "notifications_deleted": notifications}
