"""`purge_tenant`: one tenant's daily retention purge (DESIGN §12).

Plan (which sets go: ``shared.retention.plan``), delete them in chunks, sweep what no
remaining set refers to (versions, hints, blobs: ``shared.retention.sweep``), delete run
items and aged rows, and audit the counts. The plan is an activity result, so a replay after
a crash deletes exactly the planned sets; every step is idempotent, so an activity that
stopped midway is simply run again. The logical time is the input's ``at``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict

import azure.durable_functions as df

from activities.contracts.purge import AuditPurge, PurgeSets, PurgeTenant
from activities.purge import (
    audit_tenant_purge,
    plan_tenant_purge,
    purge_backup_sets,
    purge_tenant_records,
    sweep_tenant_snapshots,
)
from orchestrators.retry import BOOKKEEPING

bp = df.Blueprint()
SETS_PER_CALL = 10  # each set: one item query and a few delete transactions


@bp.orchestration_trigger(context_name="context")
def purge_tenant(context: df.DurableOrchestrationContext):
    job = PurgeTenant.from_payload(context.get_input())
    try:
        return (yield from _purge(context, job))
    except Exception:  # a step exhausted its retries; the next day's purge finishes the job
        return {"tenant_id": job.tenant_id, "failed": True}


def _purge(context: df.DurableOrchestrationContext, job: PurgeTenant):
    plan = yield context.call_activity_with_retry(plan_tenant_purge, BOOKKEEPING, asdict(job))
    doomed: list[str] = plan["purge"]
    purged: list[str] = []
    for start in range(0, len(doomed), SETS_PER_CALL):
        purged += yield context.call_activity_with_retry(purge_backup_sets, BOOKKEEPING, asdict(
            PurgeSets(job.tenant_id, doomed[start:start + SETS_PER_CALL])))
    counts: Counter[str] = Counter(sets_deleted=len(purged), sets_kept_old=len(plan["kept"]))
    counts.update((yield context.call_activity_with_retry(
        sweep_tenant_snapshots, BOOKKEEPING, asdict(job))))
    counts.update((yield context.call_activity_with_retry(
        purge_tenant_records, BOOKKEEPING, asdict(job))))
    summary = dict(sorted(counts.items()))
    yield context.call_activity_with_retry(audit_tenant_purge, BOOKKEEPING, asdict(
        AuditPurge(job.tenant_id, job.at, summary)))
    return {"tenant_id": job.tenant_id, "purged": purged, "kept": plan["kept"],
            "counts": summary}
