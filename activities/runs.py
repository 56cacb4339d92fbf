"""Run bookkeeping activities: start, progress, finish (DESIGN §4).

Counters are computed here from the item rows on the orchestrator's request — never
incremented by concurrent activities — so a retried activity cannot count twice. Times come
from the orchestrator (``at``), so a retried activity rewrites the same rows; a capture's one
activity settles at its own clock, and the end's notification is keyed by the end the run
row keeps, so a second copy of the step rewrites that row too. Inputs and
outcomes: ``activities.contracts.runs``.
"""

import logging
from collections.abc import Sequence
from dataclasses import asdict

from activities.blueprint import ActivityBlueprint
from activities.contracts.runs import FinishedRun, FinishRun, RecordProgress, StartedRun, StartRun
from shared.backups.sets import BackupSet, BackupSetStore
from shared.platform.codes import ErrorCode
from shared.platform.config import get_settings
from shared.platform.errors import NotFound
from shared.platform.keys import parse_iso
from shared.platform.storage import get_storage
from shared.runs.jobs import backs_up_every_type
from shared.runs.model import Outcome, Run, RunItem, RunStatus
from shared.runs.notifications import NotificationStore, notification_for
from shared.runs.store import RunStore, SeenRun

bp = ActivityBlueprint()
log = logging.getLogger(__name__)


@bp.activity_trigger(input_name="payload")
async def start_run(payload: dict) -> dict:
    """Mark the run running and notify; returns the run's parameters for the orchestrator."""
    started, _ = await begin_run(StartRun.from_payload(payload))
    return asdict(started)


async def begin_run(step: StartRun, *, seen: SeenRun | None = None,
                    notices: NotificationStore | None = None) -> tuple[StartedRun, SeenRun]:
    """What :func:`start_run` does (a capture's one activity does it too); also returns the
    run as written, for a next step. ``seen``: the run as the caller has just read it;
    ``notices``: where to notify (one store across a caller's steps lists webhooks once)."""
    written = await RunStore(get_storage()).update_seen(
        step.tenant_id, step.run_id, seen=seen, status=RunStatus.RUNNING.value,
        started_at=step.at,
    )
    run = written.run
    if run.status == RunStatus.RUNNING.value:
        await _notify(run, step.at, notices)
    return StartedRun(status=run.status, parameters=run.parameters,
                      backup_set_id=run.backup_set_id, dry_run=run.dry_run,
                      requested_by=run.requested_by, counts=asdict(run.counts)), written


@bp.activity_trigger(input_name="payload")
async def record_progress(payload: dict) -> None:
    """Publish the orchestrator's counters so pollers see the run grow."""
    step = RecordProgress.from_payload(payload)
    await RunStore(get_storage()).update(step.tenant_id, step.run_id, counts=asdict(step.counts))


@bp.activity_trigger(input_name="payload")
async def finish_run(payload: dict) -> dict:
    """Count the item rows, settle the final status and warnings (``Outcome``), write the
    backup set (if the run made one), and notify. ``error`` overrides the status with
    ``failed`` (the run could not go on)."""
    return asdict(await settle_run(FinishRun.from_payload(payload)))


async def settle_run(step: FinishRun, *, seen: SeenRun | None = None,
                     items: Sequence[RunItem] | None = None,
                     notices: NotificationStore | None = None) -> FinishedRun:
    """What :func:`finish_run` does (a capture's one activity does it too). ``seen``: the
    run as the caller last read or wrote it (else it is read now); ``items``: every item of
    the run, when the caller wrote them all itself (else they are read now); ``notices`` as
    for :func:`begin_run`."""
    storage = get_storage()
    runs = RunStore(storage)
    tenant_id, run_id, at = step.tenant_id, step.run_id, step.at
    items = await runs.all_items(run_id) if items is None else items
    outcome = Outcome.of(items)
    counts, error, kind = outcome.counts, step.error, step.backup_set_kind
    # A capture must produce its item; a backup of a tenant with nothing to back up (a new
    # customer, or only types Graph does not serve there) succeeds with an empty set.
    empty = not items and kind != "backup" and not step.empty_ok
    status = RunStatus.FAILED if error or empty else outcome.status
    if error is None and status is not RunStatus.SUCCEEDED:
        error = outcome.error or {
            "code": ErrorCode.INTERNAL_ERROR, "message": "the run produced no items"}
    seen = seen or await runs.get_seen(tenant_id, run_id)
    if seen is None:
        raise NotFound("the run to settle does not exist")
    run = seen.run
    if kind and run.backup_set_id and (
            counts.succeeded or (kind == "backup" and status is not RunStatus.FAILED)):
        await BackupSetStore(storage).put(BackupSet(
            backup_set_id=run.backup_set_id, tenant_id=tenant_id,
            label=run.parameters.get("label"), run_id=run_id, created_at=at,
            item_count=counts.succeeded, kind=kind, run_status=status.value,
            all_types=kind == "backup" and backs_up_every_type(run),
        ))
    if not run.terminal:
        run = await runs.update(tenant_id, run_id, seen=seen, status=status.value,
                                finished_at=at, counts=asdict(counts), error=error,
                                warnings=outcome.warnings)
        # Keyed by the stored end, so a second copy of the step (a redelivered activity
        # that found the run settled by the first) rewrites the same notification row.
        await _notify(run, run.finished_at or at, notices)
    log.info("run %s finished %s (%s)", run_id, run.status, counts)
    return FinishedRun(status=run.status, counts=run.counts)


async def _notify(run: Run, at: str, notices: NotificationStore | None) -> None:
    note = notification_for(run, parse_iso(at), get_settings().portal_base_url)
    await (notices or NotificationStore(get_storage())).publish(run.requested_by, note,
                                                                parse_iso(at))


