"""Drift check activities (DESIGN §10): check a type, record a type that kept failing,
attribute the changes, count the drift and alert. Inputs and outcomes:
``activities.contracts.drift``.

A type's check reads its live objects through the backup's read path
(``activities.snapshots.read_type`` → ``shared.graph.read_collection``: the same Graph
requests per object as a backup, none for matching) and stores no snapshot: an object whose
content hash equals its baseline item's is ``in_sync`` without even reading the baseline's
blob; any other is compared with the baseline document (a storage read). One run item per
object, keyed by the baseline's item id where there is a baseline item — so the ``drifted``
and ``removed`` items name exactly the items a restore of the baseline takes as
``item_ids`` — and by the live object's otherwise (``added``).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict, dataclass, replace
from typing import Any

from activities.blueprint import ActivityBlueprint
from activities.contracts.drift import (
    AttributeChanges,
    Attributed,
    CheckType,
    CheckTypes,
    DriftSettled,
    RecordUnchecked,
    SettleDrift,
)
from activities.contracts.snapshots import CapturedType, CapturedTypes, TransientMode
from activities.snapshots import read_type
from shared.backups.sets import BackupItem, BackupSetStore
from shared.backups.snapshots import SnapshotStore
from shared.drift.alerts import alert_recipients, drift_alert
from shared.drift.compare import (
    DriftCounts,
    drift_action,
    kind_of,
    match_objects,
    name_candidates,
)
from shared.graph import FetchResult, ResourceType, get_graph_client, supported_type
from shared.graph.audit_log import DIRECTORY, INTUNE, read_change_log
from shared.platform.codes import ErrorCode
from shared.platform.concurrency import bounded
from shared.platform.config import get_settings
from shared.platform.errors import GraphError, GraphNotFound, GraphTransient
from shared.platform.keys import parse_iso
from shared.platform.storage import Storage, get_storage
from shared.runs.model import TYPE_LEVEL_ID, ItemAction, ItemTally, Outcome, RunItem, item_key
from shared.runs.notifications import NotificationStore
from shared.runs.store import RunStore

bp = ActivityBlueprint()
log = logging.getLogger(__name__)

_READ_CONCURRENCY = 8  # baseline documents read at once
_NOT_IN_SYNC = frozenset({ItemAction.DRIFTED.value, ItemAction.ADDED.value,
                          ItemAction.REMOVED.value})


@dataclass(frozen=True)
class LiveObject:
    """A live object as the check keeps it: the document only when its content differs
    from its baseline item's (or it has none by id), so memory holds only what may drift."""

    policy_id: str
    display_name: str
    document: dict[str, Any] | None


@bp.activity_trigger(input_name="payload")
async def check_type(payload: dict) -> dict:
    """Read one type whole and record one item per live object and per baseline item:
    ``in_sync``, ``drifted`` (with its diff), ``added`` or ``removed``. An object Graph
    would not give is a ``failed`` item (and its baseline item is not called removed); one
    Graph refused transiently has the type read again (``retry_type``), or on the last try
    is failed too. A refused listing is one type-level item, as in a backup."""
    return asdict(await _check_whole(get_storage(), CheckType.from_payload(payload)))


@bp.activity_trigger(input_name="payload")
async def check_types(payload: dict) -> dict:
    """Check several types at once, each as :func:`check_type` checks one (a drift check's
    small types share one activity)."""
    job = CheckTypes.from_payload(payload)
    storage = get_storage()
    outcomes = await asyncio.gather(*(_check_whole(storage, job.one(policy_type))
                                      for policy_type in job.policy_types))
    return asdict(CapturedTypes(list(outcomes)))


async def _check_whole(storage: Storage, job: CheckType) -> CapturedType:
    rtype = supported_type(job.policy_type)
    baseline = await BackupSetStore(storage).items(job.baseline_backup_set_id, rtype.key)
    hashes = {item.policy_id: item.sha256 for item in baseline}
    live: list[LiveObject] = []
    unread: list[RunItem] = []

    snapshots = SnapshotStore(storage)

    async def collect(page: list[FetchResult]) -> ItemTally:
        for result in page:
            if result.document is not None:
                sha = (await snapshots.address(job.tenant_id, rtype.key, result.item_id,
                                               result.document)).sha256
                same = hashes.get(result.item_id) == sha
                live.append(LiveObject(result.item_id, _name(rtype, result.document),
                                       None if same else result.document))
            elif isinstance(result.error, GraphNotFound):
                continue  # deleted since it was listed: not live
            elif (result.error is not None and result.error.retryable
                  and job.mode is TransientMode.RETURN_FOR_RETRY):
                raise result.error  # the type is read again
            else:
                unread.append(_unread(rtype, result))
        return ItemTally()  # items are recorded once the whole type is matched

    read = await read_type(job, collect)
    if not read.complete:
        return read.outcome
    items = await _compare(storage, rtype, baseline, live, unread)
    await RunStore(storage).put_items(job.run_id, items)
    return CapturedType(rtype.key, listed=len(items),
                        tally=ItemTally.of(item.status for item in items))


async def _compare(storage: Storage, rtype: ResourceType, baseline: list[BackupItem],
                   live: list[LiveObject], unread: list[RunItem]) -> list[RunItem]:
    """One item per object: matched pairs, then what only the baseline or only the tenant
    has. Objects Graph would not give take part in no match."""
    skip = {item.policy_id for item in unread}
    checked = [b for b in baseline if b.policy_id not in skip]
    snapshots = SnapshotStore(storage)
    read: dict[str, dict[str, Any]] = {}  # baseline documents by item id

    async def documents(items: list[BackupItem]) -> list[dict[str, Any]]:
        wanted = [b for b in items if b.item_id not in read]
        found = await bounded(_READ_CONCURRENCY, [snapshots.get(b.blob_path) for b in wanted])
        read.update(zip((b.item_id for b in wanted), found, strict=True))
        return [read[b.item_id] for b in items]

    kinds: dict[str, str] = {}
    if not rtype.singleton:  # a name pairs only within one kind: read the few it may pair
        named_base, named_live = name_candidates(checked, live)
        kinds = {b.policy_id: kind_of(d)
                 for b, d in zip(named_base, await documents(named_base), strict=True)}
        kinds |= {o.policy_id: kind_of(o.document or {}) for o in named_live}
    matching = match_objects(checked, live, by_name=not rtype.singleton, kinds=kinds)
    differing = [(b, obj) for b, obj in matching.pairs if obj.document is not None]
    compared = {b.item_id: drift_action(rtype, obj.document or {}, document)
                for (b, obj), document in zip(
                    differing, await documents([b for b, _ in differing]), strict=True)}
    items = list(unread)
    for b, obj in matching.pairs:
        action, changes = compared.get(b.item_id, (ItemAction.IN_SYNC, []))
        items.append(RunItem(item_id=b.item_id, policy_type=rtype.key, policy_id=obj.policy_id,
                             display_name=obj.display_name or b.display_name,
                             action=action.value, diff=changes))
    ambiguous = {b.item_id for b in matching.ambiguous}
    for b in matching.removed:
        warnings = [{"code": ErrorCode.AMBIGUOUS_MATCH.value, "message": (
            f"several live objects of type {rtype.key} are named {b.display_name!r}; none "
            "was taken for this one")}] if b.item_id in ambiguous else None
        items.append(RunItem(item_id=b.item_id, policy_type=rtype.key, policy_id=b.policy_id,
                             display_name=b.display_name, action=ItemAction.REMOVED.value,
                             warnings=warnings))
    for obj in matching.added:
        items.append(RunItem(item_id=item_key(rtype.key, obj.policy_id), policy_type=rtype.key,
                             policy_id=obj.policy_id, display_name=obj.display_name,
                             action=ItemAction.ADDED.value))
    return items


def _name(rtype: ResourceType, document: dict[str, Any]) -> str:
    return str(document.get(rtype.name_field) or "")


def _unread(rtype: ResourceType, result: FetchResult) -> RunItem:
    error = result.error or GraphError("Graph returned no document")
    log.warning("drift check: %s %s not read (%s)", rtype.key, result.item_id, error.code)
    return RunItem(item_id=item_key(rtype.key, result.item_id), policy_type=rtype.key,
                   policy_id=result.item_id, display_name="", action=ItemAction.FAILED.value,
                   error=error.to_dict())


@bp.activity_trigger(input_name="payload")
async def record_unchecked(payload: dict) -> dict:
    """A type whose check kept failing after its retries: one failed type-level item, so
    the run ends ``partial`` rather than failing as a whole."""
    step = RecordUnchecked.from_payload(payload)
    error = step.error or GraphTransient(
        "Graph kept failing for this type after every retry").to_dict()
    item = RunItem(item_id=item_key(step.policy_type, TYPE_LEVEL_ID),
                   policy_type=step.policy_type, policy_id=TYPE_LEVEL_ID,
                   display_name=step.policy_type, action=ItemAction.FAILED.value,
                   error=error)
    await RunStore(get_storage()).put_item(step.run_id, item)
    return asdict(CapturedType(step.policy_type, listed=1, tally=ItemTally.of([item.status])))


@bp.activity_trigger(input_name="payload")
async def attribute_changes(payload: dict) -> dict:
    """Read the tenant's change log once (``shared.graph.audit_log``: paged, since the
    baseline run's start — never once per item) and put ``changed_by`` on every item that
    is not ``in_sync``; the live object's id first, then the baseline's. A log Graph will
    not serve leaves them null; a transient refusal fails the activity (its retry reads
    again). A check without drift reads nothing."""
    step = AttributeChanges.from_payload(payload)
    runs = RunStore(get_storage())
    items = [i for i in await runs.all_items(step.run_id) if i.action in _NOT_IN_SYNC]
    if not items or step.since is None:
        return asdict(Attributed(attributed=0))
    try:
        changes = await read_change_log(step.tenant_id, parse_iso(step.since),
                                        client=get_graph_client())
        unread = changes.unavailable
    except GraphError as exc:
        if exc.retryable:
            raise
        log.warning("run %s: change log not read (%s)", step.run_id, exc.code)
        changes, unread = None, [INTUNE, DIRECTORY]
    explained, unknown = [], []
    for item in items:
        baseline_id = item.item_id.removeprefix(f"{item.policy_type}.")
        who = changes and (changes.changed_by(item.policy_id) or changes.changed_by(baseline_id))
        if who:
            explained.append(replace(item, changed_by=dict(who)))
        elif unread:  # null would read as "no event explains it": say that none was read
            unknown.append(replace(item, warnings=[*(item.warnings or []), {
                "code": ErrorCode.AUDIT_LOG_UNAVAILABLE,
                "message": f"the {' and '.join(unread)} audit log could not be read (the app "
                           "may not, or the tenant is not licensed): who changed this is "
                           "not known"}]))
    await runs.put_items(step.run_id, explained + unknown)
    return asdict(Attributed(attributed=len(explained)))


@bp.activity_trigger(input_name="payload")
async def settle_drift(payload: dict) -> dict:
    """Count the items by action onto the run's ``drift``, and if anything differs from
    the baseline, alert (``shared.drift.alerts``) — both before the run turns terminal, so
    whoever sees it finished finds its alert. A check without drift writes no alert."""
    step = SettleDrift.from_payload(payload)
    storage = get_storage()
    runs = RunStore(storage)
    items = await runs.all_items(step.run_id)
    drift = DriftCounts.of(item.action for item in items)
    run = await runs.update(step.tenant_id, step.run_id, drift=asdict(drift))
    if not drift.found:
        return asdict(DriftSettled(drift=False))
    at = parse_iso(step.at)
    outcome = Outcome.of(items)  # the counts and warnings the run will finish with
    run.counts, run.warnings = outcome.counts, outcome.warnings
    recipients = await alert_recipients(storage, run)
    await NotificationStore(storage).publish_to(
        recipients, drift_alert(run, drift, at, get_settings().portal_base_url), at)
    log.info("run %s: drift found (%s); %d notified", run.run_id, drift, len(recipients))
    return asdict(DriftSettled(drift=True, notified=len(recipients)))
