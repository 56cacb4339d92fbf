"""Restore activities (DESIGN §8): plan, preview, pre-restore capture, apply, audit.

Every activity gets references (run, tenant, backup set, item keys of one type) and loads the
snapshots itself; the tenant comes from the run the orchestrator started. Outcomes are run
item rows keyed by item, so a retried activity rewrites its own rows; an item whose row is
already final is not touched again. Graph faults that may pass (throttling, 5xx) are raised
so the orchestrator's retry policy runs the batch again; permanent ones are recorded on the
item and the run goes on. Inputs and outcomes: ``activities.contracts.restore``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection
from dataclasses import asdict, replace
from typing import Any

from activities.blueprint import ActivityBlueprint
from activities.contracts.restore import (
    ApplyItems,
    AuditRestoreFinished,
    BeginRestore,
    CaptureLiveItems,
    LiveCaptured,
    PlanRestore,
    PreviewItems,
    RestoreBatch,
    RestoreBegun,
    RestoreItems,
    RestorePlan,
    SealedSet,
    SealPreRestoreSet,
)
from activities.contracts.snapshots import TransientMode
from shared.backups.sets import BackupItem, BackupSet, BackupSetStore
from shared.backups.snapshots import SnapshotStore
from shared.backups.versions import VersionStore
from shared.deploy.batch import fit_batch
from shared.graph import assign_item, create_item, restore_levels, supported_type, update_item
from shared.graph.secrets import secret_warnings
from shared.platform.errors import GraphError, TenantMismatch
from shared.platform.keys import derived_ulid, parse_iso, stable_id
from shared.platform.storage import Storage, get_storage
from shared.restore.match import Assessment, Restored, assess_batch
from shared.restore.state import RestoreState, Step, StepState
from shared.restore.uncertain import UncertainCreate, look_before_recreate, refused_before_commit
from shared.runs.model import (
    Counts,
    ItemAction,
    ItemStatus,
    ItemTally,
    RunItem,
    RunStatus,
    item_key,
)
from shared.runs.scope import RunScope, run_scope
from shared.runs.store import RunStore
from shared.tenants import gate
from shared.tenants.audit import AuditEvent, AuditLog

bp = ActivityBlueprint()
log = logging.getLogger(__name__)

BATCH_SIZE = 20
NEW_ID = "new:"  # preview: the stand-in id of an object the restore would create
ITEM_CONCURRENCY = 4  # items of one batch written at once (the Graph client gates the tenant)
PREVIEW_ACTIONS = {"create": ItemAction.WOULD_CREATE, "update": ItemAction.WOULD_UPDATE,
                   "no_change": ItemAction.NO_CHANGE, "skip": ItemAction.WOULD_SKIP,
                   "fail": ItemAction.FAILED}
_WRITES = (ItemAction.CREATED, ItemAction.UPDATED, ItemAction.WOULD_CREATE,
           ItemAction.WOULD_UPDATE)
_AUDIT_ITEM_IDS = 100  # item ids listed in an audit event (the count is always there)


def _tally(actions: list[ItemAction]) -> dict:
    return asdict(ItemTally.of(a.status for a in actions))


async def _load(storage: Storage, scope: RunScope, backup_set_id: str, item_ids: list[str]
                ) -> tuple[list[tuple[BackupItem, dict[str, Any]]], list[BackupItem]]:
    """The batch's backup items and snapshot documents, read inside the run's (source)
    tenant; items whose blob is not under that tenant are handed back apart, unread."""
    sets = BackupSetStore(storage)
    source = scope.source_tenant_id
    if await sets.get(source, backup_set_id) is None:
        raise TenantMismatch("the backup set is not in this run's tenant")
    items = await asyncio.gather(*(sets.item(backup_set_id, i) for i in item_ids))
    found = [i for i in items if i is not None]
    owned = [i for i in found if scope.owns_blob(i.blob_path, source)]
    foreign = [i for i in found if not scope.owns_blob(i.blob_path, source)]
    snapshots = SnapshotStore(storage)
    documents = await asyncio.gather(*(snapshots.get(i.blob_path, tenant_id=source)
                                       for i in owned))
    return list(zip(owned, documents, strict=True)), foreign


def _same_source(source_tenant_id: str | None, scope: RunScope) -> None:
    """A cross-tenant step reads only the source its run recorded (issue 19, finding 2)."""
    if (source_tenant_id or scope.tenant_id) != scope.source_tenant_id:
        raise TenantMismatch("the step's source tenant is not the one its run recorded")


def _mismatch(item: BackupItem) -> Assessment:
    """A backup item whose snapshot lies outside the run's tenant: failed, never read."""
    return Assessment(item_id=item.item_id, policy_id=item.policy_id,
                      display_name=item.display_name, desired={}, action="fail",
                      error=TenantMismatch("the item's snapshot is not in this run's "
                                           "tenant").to_dict())


async def _assess(storage: Storage, job: RestoreItems,
                  id_map: dict[str, dict[str, str]] | None = None,
                  restored: Restored | None = None
                  ) -> tuple[list[BackupItem], list[Assessment]]:
    scope = await run_scope(storage, job.run_id, job.tenant_id)
    _same_source(job.source_tenant_id, scope)
    loaded, foreign = await _load(storage, scope, job.backup_set_id, job.item_ids)
    rtype = supported_type(job.policy_type)
    snapshots = [(item.item_id, doc) for item, doc in loaded]
    fitted = None
    if job.source_tenant_id is not None:  # a cross-tenant deployment (shared.deploy)
        fitted = await fit_batch(storage, run_id=job.run_id, tenant_id=job.tenant_id,
                                 policy_type=job.policy_type, loaded=snapshots, id_map=id_map)
        snapshots = [(i, doc) for (i, _), doc in zip(snapshots, fitted.documents, strict=True)]
        id_map = fitted.id_map
    assessments = await assess_batch(
        scope.tenant_id, rtype, snapshots,
        include_assignments=job.include_assignments, ca_state=job.ca_state, id_map=id_map,
        create_missing_groups=job.create_missing_groups, restored=restored,
        by_name_only=job.source_tenant_id is not None,
        transient_fails=job.mode is TransientMode.RECORD_FAILED)
    if fitted is not None:
        for a in assessments:
            a.warnings.extend(fitted.warnings.get(a.item_id, []))
    return ([item for item, _ in loaded] + foreign,
            assessments + [_mismatch(item) for item in foreign])


def _restored(storage: Storage, job: PreviewItems, asking: frozenset[str] = frozenset(),
              answers: dict[tuple[str, str], str | None] | None = None) -> Restored:
    """For a preview, which missing groups, filters or scope tags (``CHECKED_TARGETS``) the
    restore itself would bring back, and under which id. A live run writes them first (its
    lower levels) and rewrites references to them through its id map, so its dependents find
    them; a preview writes nothing, so it asks the objects of its own selection what their
    restore would do — with the same lookup, as a filter may name a scope tag the restore
    brings back too (``asking``: the types already being asked, so a cycle ends; ``answers``:
    what the batch has asked already, by ``(type, id)``). An object it would create gets a
    stand-in id (the new one is Graph's to choose), so the dependent's diff shows the
    reference changing, as the live run will change it."""
    known = {} if answers is None else answers

    async def restored(policy_type: str, missing: Collection[str]) -> dict[str, str]:
        if policy_type in asking:
            return {}
        todo = sorted(oid for oid in missing if (policy_type, oid) not in known)
        if todo:
            run = await RunStore(storage).get(job.tenant_id, job.run_id)
            selection = run.parameters.get("item_ids") if run is not None else None
            chosen = None if selection is None else set(selection)
            keys = [k for k in (item_key(policy_type, oid) for oid in todo)
                    if chosen is None or k in chosen]
            known.update({(policy_type, oid): None for oid in todo})
            if keys:
                objects = replace(job, policy_type=policy_type, item_ids=keys)
                _, assessments = await _assess(storage, objects, restored=_restored(
                    storage, job, asking | {policy_type}, known))
                known.update({(policy_type, a.policy_id): a.target_id or f"{NEW_ID}{a.policy_id}"
                              for a in assessments
                              if a.action in ("create", "update", "no_change")})
        return {oid: new for oid in missing if (new := known.get((policy_type, oid)))}

    return restored


def _row(item: BackupItem, a: Assessment, action: ItemAction,
         error: dict[str, str] | None = None) -> RunItem:
    """The item's outcome; its warnings add the secrets its snapshot does not hold (a
    restore leaves those as they are live)."""
    unheld = secret_warnings(supported_type(item.policy_type), a.desired) \
        if action in _WRITES else []
    return RunItem(item_id=item.item_id, policy_type=item.policy_type, policy_id=item.policy_id,
                   display_name=item.display_name or a.display_name, action=action.value,
                   error=error if error is not None else a.error, diff=a.diff,
                   warnings=[*a.warnings, *unheld])


@bp.activity_trigger(input_name="payload")
async def plan_restore(payload: dict) -> dict:
    """The backup set's items (or the requested ones), in batches of one type, each tagged
    with its dependency level (DESIGN §8: what others refer to is written first)."""
    job = PlanRestore.from_payload(payload)
    storage = get_storage()
    scope = await run_scope(storage, job.run_id, job.tenant_id)
    sets = BackupSetStore(storage)
    _same_source(job.source_tenant_id, scope)
    if await sets.get(scope.source_tenant_id, job.backup_set_id) is None:
        raise TenantMismatch("the backup set is not in this run's tenant")
    items = await sets.items(job.backup_set_id)
    if job.item_ids is not None:
        keep = set(job.item_ids)
        items = [i for i in items if i.item_id in keep]
    level_of = {key: n for n, level in enumerate(restore_levels()) for key in level}
    by_type: dict[str, list[str]] = {}
    for item in sorted(items, key=lambda i: (level_of[i.policy_type], i.item_id)):
        by_type.setdefault(item.policy_type, []).append(item.item_id)
    batches = [
        RestoreBatch(policy_type, level_of[policy_type], ids[start:start + BATCH_SIZE])
        for policy_type, ids in by_type.items()
        for start in range(0, len(ids), BATCH_SIZE)
    ]
    return asdict(RestorePlan(batches=batches, total=len(items)))


@bp.activity_trigger(input_name="payload")
async def preview_items(payload: dict) -> dict:
    """Dry run: read live state, record the planned action and diff per item. No Graph
    writes (DESIGN §6)."""
    job = PreviewItems.from_payload(payload)
    storage = get_storage()
    runs = RunStore(storage)
    items, assessments = await _assess(storage, job,
                                       restored=_restored(storage, job))
    actions = [PREVIEW_ACTIONS[a.action] for a in assessments]
    await asyncio.gather(*(runs.put_item(job.run_id, _row(item, a, action))
                           for item, a, action in zip(items, assessments, actions, strict=True)))
    return _tally(actions)


@bp.activity_trigger(input_name="payload")
async def begin_restore(payload: dict) -> dict:
    """Give the run its pre-restore backup set id (once) and audit the start."""
    step = BeginRestore.from_payload(payload)
    storage = get_storage()
    runs = RunStore(storage)
    run = (await run_scope(storage, step.run_id, step.tenant_id)).run
    if run.pre_restore_backup_set_id is None:
        # Derived from the run, not drawn: a duplicate run of this activity writes the same
        # id, never repointing the run at another (empty) set (issue 19, finding 9).
        run = await runs.update(run.tenant_id, run.run_id, pre_restore_backup_set_id=(
            derived_ulid(run.run_id, "pre_restore")))
    await _audit(storage, run.run_id, run.tenant_id, run.requested_by, "restore.started",
                 run.backup_set_id or "", "started", step.at, {
                     "backup_set_id": run.backup_set_id, **_item_ids(run.parameters),
                     "include_assignments": run.parameters.get("include_assignments"),
                     "ca_state": run.parameters.get("ca_state"),
                     "create_missing_groups": run.parameters.get("create_missing_groups",
                                                                 False),
                     "pre_restore_backup_set_id": run.pre_restore_backup_set_id,
                     **_tenants(run.tenant_id, run.parameters),
                 })
    return asdict(RestoreBegun(pre_restore_backup_set_id=run.pre_restore_backup_set_id))


@bp.activity_trigger(input_name="payload")
async def capture_live_items(payload: dict) -> dict:
    """Before any write: the live state of every object the batch may touch goes into the
    pre-restore backup set, so the restore itself can be undone."""
    job = CaptureLiveItems.from_payload(payload)
    storage = get_storage()
    tenant_id, pre_id = job.tenant_id, job.pre_restore_backup_set_id
    run = (await run_scope(storage, job.run_id, tenant_id)).run
    if pre_id != run.pre_restore_backup_set_id:
        raise TenantMismatch("the pre-restore set is not this run's")
    _, assessments = await _assess(storage, job)
    snapshots, sets, versions = SnapshotStore(storage), BackupSetStore(storage), VersionStore(
        storage)
    rtype = supported_type(job.policy_type)
    at = parse_iso(job.at)

    async def keep(live_id: str, document: dict[str, Any]) -> None:
        sha, path, _ = await snapshots.put(tenant_id, rtype.key, live_id, document)
        item = BackupItem(item_id=item_key(rtype.key, live_id), policy_type=rtype.key,
                          policy_id=live_id,
                          display_name=str(document.get(rtype.name_field) or ""),
                          sha256=sha, blob_path=path)
        await sets.put_item(pre_id, item)
        await versions.record(tenant_id, item, pre_id, at)

    touched = [(a.target_id, a.live) for a in assessments
               if a.live is not None and a.target_id is not None]
    await asyncio.gather(*(keep(live_id, document) for live_id, document in touched))
    return asdict(LiveCaptured(captured=len(touched)))


@bp.activity_trigger(input_name="payload")
async def seal_pre_restore_set(payload: dict) -> dict:
    """Publish the pre-restore backup set once every batch is captured (before any write)."""
    step = SealPreRestoreSet.from_payload(payload)
    storage = get_storage()
    sets = BackupSetStore(storage)
    pre_id = step.pre_restore_backup_set_id
    run = (await run_scope(storage, step.run_id, step.tenant_id)).run
    if pre_id != run.pre_restore_backup_set_id:
        raise TenantMismatch("the pre-restore set is not this run's")
    count = len(await sets.items(pre_id))
    await gate.require_open(storage, step.tenant_id, refusal="nothing more is restored")
    await sets.put(BackupSet(
        backup_set_id=pre_id, tenant_id=step.tenant_id, label=f"before restore {step.run_id}",
        run_id=step.run_id, created_at=step.at, item_count=count, kind="pre_restore"))
    return asdict(SealedSet(item_count=count))


@bp.activity_trigger(input_name="payload")
async def apply_items(payload: dict) -> dict:
    """Live restore of one batch: create, update and assign what differs; leave equal
    objects untouched; record the outcome per item."""
    job = ApplyItems.from_payload(payload)
    storage = get_storage()
    runs, state = RunStore(storage), RestoreState(storage)
    run_id = job.run_id
    done: dict[str, ItemAction] = {}
    rows = await asyncio.gather(*(runs.get_item(run_id, i) for i in job.item_ids))
    for item_id, row in zip(job.item_ids, rows, strict=True):
        if row is not None and row.status != ItemStatus.FAILED.value:
            done[item_id] = ItemAction(row.action)  # finished: never written again
    pending = [i for i in job.item_ids if i not in done]
    if not pending:
        return _tally(list(done.values()))
    id_map = await state.id_map(run_id)
    steps = dict(zip(pending, await asyncio.gather(*(state.step(run_id, i) for i in pending)),
                     strict=True))
    own = id_map.setdefault(job.policy_type, {})
    for item_id, step in steps.items():
        if step is not None and step.target_id:  # written by an earlier attempt
            own.setdefault(item_id.split(".", 1)[1], step.target_id)
    items, assessments = await _assess(storage, replace(job, item_ids=pending), id_map)
    semaphore = asyncio.Semaphore(ITEM_CONCURRENCY)

    async def one(item: BackupItem, a: Assessment) -> ItemAction:
        async with semaphore:
            return await _apply(storage, job, item, a, steps.get(item.item_id))

    results = await asyncio.gather(*(one(i, a) for i, a in zip(items, assessments,
                                                               strict=True)),
                                   return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result  # retryable: the batch runs again; finished items are kept
            # (on its last try, RECORD_FAILED, only a failure that is not Graph's gets here)
    return _tally([*done.values(), *results])


async def _apply(storage: Storage, job: ApplyItems, item: BackupItem,
                 a: Assessment, step: Step | None) -> ItemAction:
    run_id, tenant_id = job.run_id, job.tenant_id
    policy_type, ca_state = job.policy_type, job.ca_state
    runs, state = RunStore(storage), RestoreState(storage)
    await _still_open(storage, job)
    if a.action in ("skip", "fail"):
        action = ItemAction.SKIPPED if a.action == "skip" else ItemAction.FAILED
        await runs.put_item(run_id, _row(item, a, action))
        return action
    created_before = step is not None and step.state in (StepState.CREATING, StepState.CREATED)
    try:
        found = None
        if a.action == "create" and step is not None and step.state == StepState.CREATING:
            # An earlier POST got no answer: look again (bounded) before creating anew.
            found = await look_before_recreate(tenant_id, supported_type(policy_type),
                                               a.display_name)
        if found is not None:  # the earlier POST made it: finish it as that attempt would
            await _still_open(storage, job)
            await state.put_step(run_id, item.item_id, Step(StepState.CREATED, found))
            await state.map_id(run_id, policy_type, a.policy_id, found)
            await update_item(tenant_id, policy_type, found, a.desired, ca_state=ca_state)
            if a.write_assignments:
                await assign_item(tenant_id, policy_type, found,
                                  a.desired.get("assignments") or [], document=a.desired)
            action = ItemAction.CREATED
        elif a.action == "create":
            await state.put_step(run_id, item.item_id, Step(StepState.CREATING))

            async def created(new_id: str) -> None:  # recorded before any follow-up write
                await _still_open(storage, job)
                await state.put_step(run_id, item.item_id, Step(StepState.CREATED, new_id))
                await state.map_id(run_id, policy_type, a.policy_id, new_id)

            try:
                new = await create_item(tenant_id, policy_type, a.desired, ca_state=ca_state,
                                        on_created=created)
            except GraphError as exc:
                if refused_before_commit(exc) and (
                        await state.step(run_id, item.item_id) or Step("")).state == (
                        StepState.CREATING):
                    await state.put_step(run_id, item.item_id, Step(StepState.REFUSED))
                raise
            if a.write_assignments:
                await assign_item(tenant_id, policy_type, new.id,
                                  a.desired.get("assignments") or [], document=a.desired)
            action = ItemAction.CREATED
        else:
            assert a.target_id is not None
            if a.target_id != a.policy_id:
                await state.map_id(run_id, policy_type, a.policy_id, a.target_id)
            if a.action == "update":
                if not created_before:
                    await state.put_step(run_id, item.item_id,
                                         Step(StepState.WRITING, a.target_id))
                if a.write_body:
                    await update_item(tenant_id, policy_type, a.target_id, a.desired,
                                      ca_state=ca_state)
                if a.write_assignments:
                    await assign_item(tenant_id, policy_type, a.target_id,
                                      a.desired.get("assignments") or [], document=a.desired)
            if created_before:
                action = ItemAction.CREATED
            elif a.action == "update" or step is not None:
                action = ItemAction.UPDATED
            else:
                action = ItemAction.NO_CHANGE
    except (GraphError, UncertainCreate) as exc:
        if exc.retryable and job.mode is not TransientMode.RECORD_FAILED:
            raise
        log.warning("run %s: %s not restored (%s)", run_id, item.item_id, exc.code)
        await _still_open(storage, job)
        await runs.put_item(run_id, _row(item, a, ItemAction.FAILED, exc.to_dict()))
        return ItemAction.FAILED
    await _still_open(storage, job)
    await runs.put_item(run_id, _row(item, a, action, error=None))
    return action


async def _still_open(storage: Storage, job: ApplyItems) -> None:
    """Before each write of an item, to Graph or a row after a Graph call (which may take
    minutes while throttled): a batch outliving its terminated orchestration writes nothing
    more once the tenant, or a deployment's source, is being offboarded (DESIGN §12), so the
    offboarding's last sweep finds all it wrote."""
    await gate.require_open(storage, job.tenant_id, job.source_tenant_id or job.tenant_id,
                            refusal="nothing more is restored")


@bp.activity_trigger(input_name="payload")
async def audit_restore_finished(payload: dict) -> None:
    """The closing audit event, written before the run turns terminal (so whoever sees the
    run finished finds it audited): outcome, counts, and the objects the restore created (an
    undo lists them; it never deletes them)."""
    step = AuditRestoreFinished.from_payload(payload)
    storage = get_storage()
    run = (await run_scope(storage, step.run_id, step.tenant_id)).run
    id_map = await RestoreState(storage).id_map(run.run_id)
    items = await RunStore(storage).all_items(run.run_id)
    counts = Counts.of([i.status for i in items])
    error = step.error
    outcome = RunStatus.FAILED if error or not items else counts.final_status()
    created = [{"item_id": i.item_id, "policy_type": i.policy_type, "old_id": i.policy_id,
                "new_id": id_map.get(i.policy_type, {}).get(i.policy_id)}
               for i in items if i.action == ItemAction.CREATED.value]
    await _audit(storage, run.run_id, run.tenant_id, run.requested_by, "restore.finished",
                 run.backup_set_id or "", outcome.value, step.at, {
                     "backup_set_id": run.backup_set_id, **_item_ids(run.parameters),
                     "pre_restore_backup_set_id": run.pre_restore_backup_set_id,
                     "counts": asdict(counts), "error": error,
                     "created": created[:_AUDIT_ITEM_IDS], "created_count": len(created),
                     **_tenants(run.tenant_id, run.parameters),
                 })


def _tenants(tenant_id: str, parameters: dict[str, Any]) -> dict[str, Any]:
    """A cross-tenant run's audit names both tenants (DESIGN §11)."""
    source = parameters.get("source_tenant_id")
    return {} if not source else {"source_tenant_id": source, "target_tenant_id": tenant_id}


def _item_ids(parameters: dict[str, Any]) -> dict[str, Any]:
    ids = parameters.get("item_ids")
    if ids is None:
        return {"item_ids": "*"}
    return {"item_ids": ids[:_AUDIT_ITEM_IDS], "item_count": len(ids)}


async def _audit(storage: Storage, run_id: str, tenant_id: str, actor: str, action: str,
                 target: str, outcome: str, at: str, details: dict[str, Any]) -> None:
    await AuditLog(storage).record(AuditEvent(
        event_id=stable_id(run_id, action), tenant_id=tenant_id, actor=actor, action=action,
        target=f"backup_set:{target}", outcome=outcome, created_at=at, run_id=run_id,
        details=details,
    ), parse_iso(at))
