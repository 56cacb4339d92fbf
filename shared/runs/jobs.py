"""One definition per run type: what a start asks for, and under which key (DESIGN §4).

A :class:`Job` is everything a start is determined by — its derived idempotency key, the
canonical request body the fingerprint hashes (defaults applied), the run's parameters, the
orchestrator that runs it and whether it produces a backup set. The HTTP start endpoints and
the scheduler (``shared.schedules.jobs``) build their jobs with the same functions here, so a
scheduled full backup has the key of ``POST …/backups`` with no body. Who asked, and whether
the client sent its own ``Idempotency-Key``, turn a job into a :class:`JobRequest` for
``shared.runs.starter``.

The orchestrator names are the orchestrator functions' names in ``orchestrators/`` (the
Durable client starts orchestrations by name); ``tests/shared/test_jobs.py`` holds each one
to a registered orchestration function.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from shared.graph.catalog import SUPPORTED_KEYS
from shared.runs.idempotency import IdempotencyRecord, fingerprint
from shared.runs.model import Run, RunStatus, RunType

# A backup run's ``read`` parameter: read each type whole through its collection
# (orchestrators.backup_tenant); runs recorded without it replay the by-id flow.
READ_BY_COLLECTION = "by_collection"
# Types of one tenant a backup reads at once (a run parameter, so replays keep their own):
# most types are a few objects, so their reads are round trips more than budget.
TYPES_AT_ONCE = 16
# Types read in one activity (a run parameter too): an activity costs the engine about a
# dozen storage operations and a replay whatever it reads, and most types hold a few objects.
# Two activities of eight (56 types: seven activities) against four of four before: a
# 1,038-object tenant 7.1-7.5 s -> 6.3 s, half the history per item; estates unchanged.
TYPES_PER_ACTIVITY = 8
# Finished read activities between two progress writes (a run parameter too; runs recorded
# before TYPES_PER_ACTIVITY read one type per activity): with 56 types read one per activity,
# one progress activity per type was a third of a backup's activities.
PROGRESS_EVERY = 2
_FANOUT = {"types_at_once": TYPES_AT_ONCE, "types_per_activity": TYPES_PER_ACTIVITY,
           "progress_every": PROGRESS_EVERY}


@dataclass(frozen=True)
class Job:
    tenant_id: str
    run_type: RunType
    orchestrator: str
    key: str  # the idempotency key derived from what is asked (DESIGN §4)
    route: str  # the path of the HTTP start that asks for this job
    body: dict[str, Any]  # the canonical request body, defaults applied: fingerprinted
    parameters: dict[str, Any] = field(default_factory=dict)  # stored on the run
    # Captures and backups produce a backup set; its id is the run id (one set per run).
    produces_backup_set: bool = False
    backup_set_id: str | None = None  # the set a restore reads (a drift check: its baseline)
    dry_run: bool = False

    def request(self, requested_by: str, *, client_key: str | None = None,
                path: str | None = None) -> JobRequest:
        """This job started by ``requested_by``. ``client_key``: the client's
        ``Idempotency-Key`` (already validated), which replaces the derived key. ``path``: the
        HTTP request's path as sent (the fingerprint is method + path + body); a start
        without a request, such as the scheduler's, fingerprints as if sent to ``route``."""
        return JobRequest(
            job=self,
            requested_by=requested_by,
            key=self.key if client_key is None else f"{self.tenant_id}|client|{client_key}",
            client_key=client_key is not None,
            fingerprint=fingerprint("POST", path or self.route, self.body),
        )


@dataclass(frozen=True)
class JobRequest:
    """One start of a job: who asked, and the key and fingerprint the start is decided on."""

    job: Job
    requested_by: str
    key: str
    client_key: bool
    fingerprint: str

    def new_run(self, record: IdempotencyRecord) -> Run:
        job = self.job
        return Run(
            run_id=record.run_id,
            tenant_id=job.tenant_id,
            run_type=str(job.run_type),
            status=RunStatus.QUEUED.value,
            requested_by=self.requested_by,
            idempotency_key=self.key,
            created_at=record.created_at,
            instance_id=record.instance_id,
            dry_run=job.dry_run,
            backup_set_id=record.run_id if job.produces_backup_set else job.backup_set_id,
            parameters=dict(job.parameters),
        )


def capture_job(tenant_id: str, policy_type: str, policy_id: str) -> Job:
    """Capture one policy: ``{tenant}|capture|{type}|{policy_id}``; the request has no body."""
    return Job(
        tenant_id=tenant_id, run_type=RunType.CAPTURE_SNAPSHOT, orchestrator="capture_snapshot",
        key=f"{tenant_id}|capture|{policy_type}|{policy_id}",
        route=f"/api/tenants/{tenant_id}/policies/{policy_type}/{policy_id}/snapshot",
        body={}, parameters={"policy_type": policy_type, "policy_id": policy_id},
        produces_backup_set=True,
    )


def backup_job(tenant_id: str, policy_types: list[str] | None = None,
               label: str | None = None) -> Job:
    """Back up the given catalog keys, or every type (``None``):
    ``{tenant}|backup|{sorted types or *}``."""
    types = sorted(set(policy_types)) if policy_types else None
    return Job(
        tenant_id=tenant_id, run_type=RunType.BACKUP, orchestrator="backup_tenant",
        key=f"{tenant_id}|backup|{','.join(types) if types else '*'}",
        route=f"/api/tenants/{tenant_id}/backups",
        body={"policy_types": types, "label": label},
        parameters={"policy_types": types or list(SUPPORTED_KEYS), "label": label,
                    "read": READ_BY_COLLECTION, **_FANOUT},
        produces_backup_set=True,
    )


def backs_up_every_type(run: Run) -> bool:
    """Whether a backup run read every type: its derived key says it asked for all
    (``POST …/backups`` without ``policy_types``, also when the catalog has grown since), or
    its types cover the catalog (a client's ``Idempotency-Key`` hides what was asked)."""
    types = run.parameters.get("policy_types") or []
    return run.idempotency_key.endswith("|backup|*") or set(types) >= set(SUPPORTED_KEYS)


def drift_job(tenant_id: str, baseline_backup_set_id: str, policy_types: list[str], *,
              requested_baseline: str | None = None,
              requested_types: list[str] | None = None, since: str | None = None) -> Job:
    """Compare the live tenant with a baseline set, for ``policy_types`` (already resolved:
    the request's types, else the baseline's): ``{tenant}|drift|{baseline}|{types or *}``
    (``*`` when the request named no types). ``requested_*``: the body as sent, which the
    fingerprint hashes; ``since``: the baseline run's ``started_at`` (DESIGN §10).
    ``shared.drift.start.drift_check_job`` resolves the baseline and builds this."""
    asked = sorted(set(requested_types)) if requested_types else None
    return Job(
        tenant_id=tenant_id, run_type=RunType.DRIFT_CHECK, orchestrator="check_drift",
        key=f"{tenant_id}|drift|{baseline_backup_set_id}|{','.join(asked) if asked else '*'}",
        route=f"/api/tenants/{tenant_id}/drift-checks",
        body={"baseline_backup_set_id": requested_baseline, "policy_types": asked},
        parameters={"policy_types": sorted(set(policy_types)), "since": since,
                    **_FANOUT},
        backup_set_id=baseline_backup_set_id,
    )


def restore_job(tenant_id: str, backup_set_id: str, *, item_ids: list[str] | None = None,
                dry_run: bool = True, include_assignments: bool = True,
                ca_state: str = "report_only", create_missing_groups: bool = False,
                source_tenant_id: str | None = None,
                mappings: dict[str, str | None] | None = None,
                copy_secrets: bool = False) -> Job:
    """Preview (``dry_run``) or restore a backup set, or the given items of it:
    ``{tenant}|restore|{set}|{dry_run}|{hash of sorted item ids}|{assignments}|{ca_state}``,
    plus ``|groups`` with ``create_missing_groups`` (only then: a restore without it keeps
    the key it had before the option existed). A cross-tenant deployment (DESIGN §11) reads
    ``source_tenant_id``'s set: ``|from:{source}|{hash of mappings}`` (and ``|secrets`` when
    the caller may copy them, so a run that copies secrets is never handed to one who may
    not)."""
    ids = sorted(set(item_ids)) if item_ids is not None else None
    ids_hash = hashlib.sha256("\n".join(ids).encode()).hexdigest()[:16] if ids else "*"
    key = (f"{tenant_id}|restore|{backup_set_id}|{_flag(dry_run)}|{ids_hash}"
           f"|{_flag(include_assignments)}|{ca_state}"
           f"{'|groups' if create_missing_groups else ''}")
    body: dict[str, Any] = {"backup_set_id": backup_set_id, "item_ids": ids,
                            "dry_run": dry_run, "include_assignments": include_assignments,
                            "ca_state": ca_state, "create_missing_groups": create_missing_groups}
    parameters: dict[str, Any] = {"item_ids": ids, "include_assignments": include_assignments,
                                  "ca_state": ca_state,
                                  "create_missing_groups": create_missing_groups}
    if source_tenant_id is not None:
        chosen = dict(sorted((mappings or {}).items()))
        mappings_hash = (hashlib.sha256(json.dumps(chosen, sort_keys=True).encode())
                         .hexdigest()[:16] if chosen else "*")
        key += f"|from:{source_tenant_id}|{mappings_hash}{'|secrets' if copy_secrets else ''}"
        body.update(source_tenant_id=source_tenant_id, mappings=chosen or None)
        parameters.update(source_tenant_id=source_tenant_id, mappings=chosen,
                          copy_secrets=copy_secrets)
    return Job(
        tenant_id=tenant_id, run_type=RunType.RESTORE, orchestrator="restore", key=key,
        route=f"/api/tenants/{tenant_id}/restores", body=body, parameters=parameters,
        backup_set_id=backup_set_id, dry_run=dry_run,
    )


def report_job(tenant_id: str, backup_set_id: str, compare_to: str | None,
               report_format: str) -> Job:
    """Render a set, or what changed from ``compare_to`` to it (DESIGN §14):
    ``{tenant}|report|{set}|{compare_to or -}|{format}``."""
    return Job(
        tenant_id=tenant_id, run_type=RunType.REPORT, orchestrator="render_report",
        key=f"{tenant_id}|report|{backup_set_id}|{compare_to or '-'}|{report_format}",
        route=f"/api/tenants/{tenant_id}/reports",
        body={"backup_set_id": backup_set_id, "compare_to": compare_to,
              "format": report_format},
        parameters={"compare_to": compare_to, "format": report_format},
        backup_set_id=backup_set_id,
    )


def _flag(value: bool) -> str:
    return str(value).lower()


__all__ = ["Job", "JobRequest", "backs_up_every_type", "backup_job", "capture_job", "drift_job",
           "report_job", "restore_job"]
