"""Graph reading activities shared by capture and backup: list types, capture a batch.

Both write their outcomes as run item rows (deterministic keys, so a retried activity
rewrites the same rows) and hand the orchestrator only ids and counts. A permanent fault is
recorded on the item and the run goes on. A fault Graph may recover from (throttling, 5xx,
timeouts, after the client's own retries) is handled as the input's ``TransientMode``
says: a capture fails its activity so its retry policy runs it again; a backup gets those ids
back to try in a later batch, and records them as failed on the last try — so one bad item
never fails its batch. Inputs and outcomes: ``activities.contracts.snapshots``.
"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, replace
from typing import Any, Protocol, TypeVar

from activities.blueprint import ActivityBlueprint
from activities.capture_rows import Recorder, record_rows
from activities.contracts.runs import FinishRun, StartRun
from activities.contracts.snapshots import (
    CapturedBatch,
    CapturedType,
    CapturedTypes,
    CapturePolicies,
    CaptureRun,
    CaptureType,
    CaptureTypes,
    Listing,
    ListPolicies,
    PolicyGroup,
    RecordUnfetched,
    TransientMode,
    TypeListing,
)
from activities.runs import begin_run, settle_run
from shared.backups.latest import LatestContent, LatestContentStore
from shared.backups.sets import BackupItem
from shared.backups.snapshots import SnapshotStore
from shared.backups.versions import VersionStore
from shared.graph import (
    FetchResult,
    fetch_snapshots,
    list_items,
    read_collection,
    supported_type,
)
from shared.graph.licences import TenantLicences
from shared.graph.secrets import secret_warnings
from shared.platform.codes import ErrorCode
from shared.platform.concurrency import bounded
from shared.platform.errors import (
    MAX_MESSAGE_LENGTH,
    GraphBadRequest,
    GraphError,
    GraphForbidden,
    GraphNotFound,
    GraphTransient,
)
from shared.platform.keys import iso, parse_iso, utc_now
from shared.platform.storage import Storage, get_storage
from shared.runs.model import TYPE_LEVEL_ID, ItemAction, ItemTally, RunItem, item_key
from shared.runs.notifications import NotificationStore
from shared.runs.scope import own_run, require_own_set
from shared.runs.store import RunStore
from shared.webhooks.delivery import TenantWebhooks

bp = ActivityBlueprint()
log = logging.getLogger(__name__)
T = TypeVar("T")

# Items of one batch being stored at once (each: snapshot blob, then version row; the set
# and run item rows follow in one transaction per batch).
_STORE_CONCURRENCY = 8


def _retryable(exc: Exception) -> bool:
    return bool(getattr(exc, "retryable", False))


def _error(exc: GraphError) -> dict[str, str]:
    return exc.to_dict()


@bp.activity_trigger(input_name="payload")
async def list_policies(payload: dict) -> dict:
    """Every id of each requested type, listed concurrently. A type that cannot be listed
    becomes one type-level item (``skipped`` when Graph will not serve it, ``failed``
    otherwise: :func:`_type_refusal`) and no ids; one Graph keeps refusing transiently is
    handled as ``mode`` says. The tenant's licences are read at most once for the call."""
    job = ListPolicies.from_payload(payload)
    licences = TenantLicences(job.tenant_id)
    types = await asyncio.gather(*(_list_type(job, t, licences) for t in job.policy_types))
    return asdict(Listing(types=list(types)))


async def _list_type(job: ListPolicies, policy_type: str,
                     licences: TenantLicences) -> TypeListing:
    try:
        refs = await list_items(job.tenant_id, policy_type)
    except GraphError as exc:
        if _retryable(exc) and job.mode is TransientMode.RETURN_FOR_RETRY:
            return TypeListing(policy_type, retry=True)
        action = await _type_not_listed(job, policy_type, exc, licences)
        return TypeListing(policy_type, outcome=action.status.value)
    # A listing can repeat an id when objects change while it pages; keep each id once.
    return TypeListing(policy_type, ids=list(dict.fromkeys(ref.id for ref in refs)))


class ReadsType(Protocol):
    """What :func:`read_type` needs of its job: the run, the type, and the mode."""

    run_id: str
    tenant_id: str
    policy_type: str
    mode: TransientMode


async def _type_not_listed(job: ListPolicies | ReadsType, policy_type: str,
                           exc: GraphError, licences: TenantLicences, *,
                           served: bool = False) -> ItemAction:
    """A type Graph would not list: one type-level item (see :func:`_type_refusal`). A
    transient refusal with ``RAISE`` fails the activity instead (its retry lists again)."""
    if _retryable(exc) and job.mode is TransientMode.RAISE:
        raise exc
    licence = await _licence(licences, policy_type, exc, served=served)
    action, error = _type_refusal(exc, served=served, licence=licence)
    await RunStore(get_storage()).put_item(job.run_id, RunItem(
        item_id=item_key(policy_type, TYPE_LEVEL_ID), policy_type=policy_type,
        policy_id=TYPE_LEVEL_ID, display_name=policy_type, action=action.value, error=error,
    ))
    log.warning("run %s: %s not listed (%s, %s)", job.run_id, policy_type, exc.code,
                error["code"])
    return action


async def _licence(licences: TenantLicences, policy_type: str, exc: GraphError, *,
                   served: bool) -> bool | GraphError | None:
    """For a 403 on a type that names its licence (``licensed_by``): whether the tenant
    holds it, or the error that kept ``subscribedSkus`` from being read; None otherwise
    (nothing is read)."""
    rtype = supported_type(policy_type)
    if served or not isinstance(exc, GraphForbidden) or not rtype.licensed_by:
        return None
    try:
        return await licences.licensed(rtype)
    except GraphError as unread:
        log.warning("tenant %s: subscribedSkus not read (%s); %s stays consent_missing",
                    licences.tenant_id, unread.code, policy_type)
        return unread


def _type_refusal(exc: GraphError, *, served: bool, licence: bool | GraphError | None = None
                  ) -> tuple[ItemAction, dict[str, str]]:
    """What a refused listing makes of its type (DESIGN §7.1). Graph will not serve the
    collection: 400 or 404 (not licensed, not in this cloud — Intune answers an unlicensed
    tenant 400 "Request not applicable to target tenant.") → ``skipped`` with
    ``not_available``; 403 (the app may not read it) → ``skipped`` with ``consent_missing``,
    which leaves the run ``partial`` (``shared.runs.model.Outcome``) — unless ``licence`` is
    False: the type's workload answers a tenant without its licence 403 too, and this tenant
    holds none (→ ``not_available``). A ``licence`` that could not be checked (the error) keeps
    ``consent_missing`` and says so. Anything else — or any refusal once pages were
    ``served``: Graph does serve the type — is ``failed`` with the error's own code."""
    code = reason = None
    if not served and not _retryable(exc):
        if isinstance(exc, (GraphBadRequest, GraphNotFound)):
            code, reason = (ErrorCode.NOT_AVAILABLE,
                            "not available in this tenant (not licensed, or not in this cloud)")
        elif isinstance(exc, GraphForbidden) and licence is False:
            code, reason = (ErrorCode.NOT_AVAILABLE, "not licensed in this tenant (it holds no "
                            "service plan that licenses this type)")
        elif isinstance(exc, GraphForbidden):
            code, reason = (ErrorCode.CONSENT_MISSING, "the app may not read this type in "
                            "this tenant (consent or permission missing" + _licence_note(licence)
                            + ")")
    if code is None:
        return ItemAction.FAILED, _error(exc)
    message = f"{reason}: {_error(exc)['message']}"
    return ItemAction.SKIPPED, {"code": code.value, "message": message[:MAX_MESSAGE_LENGTH]}


def _licence_note(licence: bool | GraphError | None) -> str:
    if licence is True:
        return "; the tenant holds its licence"
    if isinstance(licence, GraphError):
        return ("; whether the tenant holds its licence could not be checked: reading "
                f"subscribedSkus failed with {licence.code}")
    return ""


async def _fetch_group(tenant_id: str, group: PolicyGroup, *, per_item: bool
                       ) -> list[FetchResult]:
    """One type's documents. A failure of the whole call becomes each item's error — a
    transient one only when ``per_item`` (else it fails the activity)."""
    try:
        return await fetch_snapshots(tenant_id, group.policy_type, group.policy_ids)
    except GraphError as exc:
        if _retryable(exc) and not per_item:
            raise
        return [FetchResult(policy_id, error=exc) for policy_id in group.policy_ids]


@bp.activity_trigger(input_name="payload")
async def capture_policies(payload: dict) -> dict:
    """Fetch complete snapshots of a batch (one type, or several small ones), store them
    content-addressed, and record backup items, versions and run items. Returns the batch's
    counts.

    Items Graph may still deliver (throttled, 5xx, deadline) after the client's retries, by
    ``mode``: ``RAISE`` (a capture) fails the activity so its retry policy runs it again;
    ``RETURN_FOR_RETRY`` (a backup) records the others and hands these back as ``retry``
    groups for a later batch — one bad item never holds back its batch-mates;
    ``RECORD_FAILED`` (a backup's last try) records them as failed with their codes.
    """
    job = CapturePolicies.from_payload(payload)
    await require_own_set(get_storage(), job.run_id, job.tenant_id, job.backup_set_id)
    batch, _ = await _capture_batch(job)
    return asdict(batch)


async def _capture_batch(job: CapturePolicies) -> tuple[CapturedBatch, list[RunItem]]:
    """Capture ``job``'s policies into its run's set; the caller has checked the scope.
    Also returns the run items written."""
    fetched = await asyncio.gather(*(
        _fetch_group(job.tenant_id, g, per_item=job.mode is not TransientMode.RAISE)
        for g in job.groups))
    pairs = [(g.policy_type, r) for g, results in zip(job.groups, fetched, strict=True)
             for r in results]
    recorder = Recorder(get_storage(), job)
    tally, later = await _settle(get_storage(), job, pairs, recorder)
    await recorder.flush()
    retry: dict[str, list[str]] = {}
    for policy_type, item_id in later:
        retry.setdefault(policy_type, []).append(item_id)
    batch = CapturedBatch(tally=tally, retry=[PolicyGroup(t, ids) for t, ids in retry.items()])
    return batch, recorder.recorded


@bp.activity_trigger(input_name="payload")
async def capture_run(payload: dict) -> dict:
    """A whole capture run in one activity (the orchestration's flow
    ``CAPTURE_IN_ONE_ACTIVITY``): start the run, capture its policy as
    :func:`capture_policies` does with ``RAISE``, settle the run. Each step is idempotent, so
    a retry (a fault Graph may recover from fails the activity) does them again; a run found
    finished is returned as it is. Saves the engine two activity round trips per capture.

    The run is read once, with its scope check: each step hands the next the run as it
    wrote it (a step whose write finds the run changed reads it again). The run's items are
    the ones this activity wrote (a capture's one policy, which a retry writes again under
    the same key), and the tenant's webhooks are listed once for the start and the end."""
    job = CaptureRun.from_payload(payload)
    storage = get_storage()
    seen = await own_run(storage, job.run_id, job.tenant_id)
    notices = NotificationStore(storage, webhooks=TenantWebhooks(storage))
    started, seen = await begin_run(StartRun.for_run(job, at=job.at), seen=seen,
                                    notices=notices)
    if started.terminal:
        return started.finished()
    # The set is the run's own: the batch is built from the run just written.
    _, items = await _capture_batch(CapturePolicies.of_capture(job, started, job.at))
    # The run's end is when it ended: the activity's clock (a retry settles a run once).
    return asdict(await settle_run(
        FinishRun.for_run(job, at=iso(utc_now()), backup_set_kind="capture"), seen=seen,
        items=items, notices=notices))


@bp.activity_trigger(input_name="payload")
async def capture_type(payload: dict) -> dict:
    """Read one type whole through its collection — the listing with the ``$expand`` Graph
    serves, item GETs only where the listing lacks something — and capture every object,
    one list page at a time (rows as :func:`capture_policies` writes them). Objects Graph
    refuses transiently are handled as ``mode`` says; a listing Graph refuses is one
    type-level item (``skipped`` / ``failed``), or with ``RETURN_FOR_RETRY`` and a transient
    refusal, ``retry_type`` (pages already captured are rewritten by the next read)."""
    job = CaptureType.from_payload(payload)
    storage = get_storage()
    await require_own_set(storage, job.run_id, job.tenant_id, job.backup_set_id)
    return asdict((await _capture_all(storage, job, [job]))[0])


@bp.activity_trigger(input_name="payload")
async def capture_types(payload: dict) -> dict:
    """Read several types at once, each as :func:`capture_type` reads one: a backup's small
    types share one activity (and one run-scope check) instead of paying one each."""
    job = CaptureTypes.from_payload(payload)
    storage = get_storage()
    await require_own_set(storage, job.run_id, job.tenant_id, job.backup_set_id)
    outcomes = await _capture_all(storage, job, [job.one(t) for t in job.policy_types])
    return asdict(CapturedTypes(outcomes))


async def _capture_all(storage: Storage, job: CaptureType | CaptureTypes,
                       types: list[CaptureType]) -> list[CapturedType]:
    """Capture each of ``types`` whole, at once, their rows through one :class:`Recorder`
    and their latest contents read in one go."""
    recorder = Recorder(storage, job, hints=True)
    known = await LatestContentStore(storage).of_types(job.tenant_id,
                                                       [t.policy_type for t in types])
    outcomes = await asyncio.gather(*(
        _capture_whole(storage, one, recorder, known[one.policy_type]) for one in types))
    await recorder.flush()
    return list(outcomes)


async def _capture_whole(storage: Storage, job: CaptureType, recorder: Recorder,
                         known: dict[str, LatestContent]) -> CapturedType:
    """Capture one type page by page, ``known`` its latest contents; its rows go through
    ``recorder`` (the caller flushes it)."""
    retry: list[str] = []

    async def capture(page: list[FetchResult]) -> ItemTally:
        tally, later = await _settle(
            storage, job, [(job.policy_type, r) for r in page], recorder, known)
        retry.extend(item_id for _, item_id in later)
        return tally

    read = await read_type(job, capture)
    return read.outcome if read.outcome.retry_type else replace(read.outcome, retry=retry)


@dataclass(frozen=True)
class TypeRead:
    """How :func:`read_type` went: ``outcome`` as a type's capture reports it, and whether
    every page was read (False: the listing was refused, and one type-level item recorded,
    or is to be read again: ``outcome.retry_type``)."""

    outcome: CapturedType
    complete: bool


async def read_type(job: ReadsType,
                    on_page: Callable[[list[FetchResult]], Awaitable[ItemTally]]) -> TypeRead:
    """Read ``job.policy_type`` whole through its collection — the backup's read path —
    handing each page to ``on_page`` (which records its objects and returns their tally).
    A listing Graph refuses is one type-level item (``skipped`` / ``failed``), or with
    ``RETURN_FOR_RETRY`` and a transient refusal, ``retry_type``. Drift checks read live
    state through this too (``activities.drift``)."""
    tally, listed, served = ItemTally(), 0, False
    try:
        # closed at once if on_page raises: its pages read ahead stop spending the budget
        async with contextlib.aclosing(read_collection(job.tenant_id, job.policy_type)) as pages:
            async for page in pages:
                served = True
                listed += len(page)
                tally = tally.plus(await on_page(page))
    except GraphError as exc:
        if _retryable(exc) and job.mode is TransientMode.RETURN_FOR_RETRY:
            return TypeRead(CapturedType(job.policy_type, retry_type=True), complete=False)
        action = await _type_not_listed(job, job.policy_type, exc,
                                        TenantLicences(job.tenant_id), served=served)
        tally, listed = tally.plus(ItemTally.of([action.status])), listed + 1
        return TypeRead(CapturedType(job.policy_type, listed=listed, tally=tally), False)
    return TypeRead(CapturedType(job.policy_type, listed=listed, tally=tally), complete=True)


async def _settle(storage: Storage, job: CapturePolicies | CaptureType,
                  pairs: list[tuple[str, FetchResult]], recorder: Recorder,
                  known: dict[str, LatestContent] | None = None
                  ) -> tuple[ItemTally, list[tuple[str, str]]]:
    """Store what was fetched and record the rest (through ``recorder``), as ``job.mode``
    says for what Graph refused transiently; returns the tally of the recorded items and the
    ``(type, id)`` handed back for a later try. With ``known`` (one type's latest contents),
    an object whose content is known costs no storage call."""
    transient = [(t, r) for t, r in pairs if r.error is not None and _retryable(r.error)]
    if transient and job.mode is TransientMode.RAISE:  # Graph may still recover
        raise next(r.error for _, r in transient if r.error is not None)
    later = transient if job.mode is TransientMode.RETURN_FOR_RETRY else []
    again = {id(result) for _, result in later}
    stored = await bounded(_STORE_CONCURRENCY, [
        _store(storage, job, policy_type, result, (known or {}).get(result.item_id))
        for policy_type, result in pairs if result.document is not None
    ])
    captured = [(item, run_item) for item, run_item, _ in stored]
    failed = [_failed(job.run_id, policy_type, result) for policy_type, result in pairs
              if result.document is None and id(result) not in again]
    fresh = [(item.policy_type, new) for item, _, new in stored if new is not None]
    await recorder.add(captured, failed, fresh)
    if later:
        log.info("run %s: %d items to fetch again later", job.run_id, len(later))
    tally = ItemTally.of(item.status for item in [run_item for _, run_item in captured] + failed)
    return tally, [(t, r.item_id) for t, r in later]


@bp.activity_trigger(input_name="payload")
async def record_unfetched(payload: dict) -> dict:
    """Record every item of a batch that kept failing after its retries as failed, so the
    run ends ``partial`` rather than failing as a whole."""
    job = RecordUnfetched.from_payload(payload)
    await require_own_set(get_storage(), job.run_id, job.tenant_id, job.backup_set_id)
    error = job.error or GraphTransient(
        "Graph kept failing for this item after every retry").to_dict()
    failed = [_failed_with(job.run_id, group.policy_type, policy_id, error)
              for group in job.groups for policy_id in group.policy_ids]
    await record_rows(get_storage(), job, [], failed)
    return asdict(ItemTally.of(item.status for item in failed))


async def _store(storage: Storage, job: CapturePolicies | CaptureType, policy_type: str,
                 result: FetchResult, latest: LatestContent | None = None
                 ) -> tuple[BackupItem, RunItem, LatestContent | None]:
    """Store one document (blob, then its version) and describe its set and run items — or,
    when ``latest`` says this content is already stored, only describe them. The third
    value is the latest-content row to write (None when ``latest`` is still right)."""
    document = result.document or {}
    snapshots = SnapshotStore(storage)
    addressed = await snapshots.address(job.tenant_id, policy_type, result.item_id, document)
    warnings = secret_warnings(supported_type(policy_type), document) or None
    item = BackupItem(
        item_id=item_key(policy_type, result.item_id), policy_type=policy_type,
        policy_id=result.item_id, display_name=_display_name(policy_type, document),
        sha256=addressed.sha256, blob_path=addressed.path, warnings=warnings,
    )
    fresh: LatestContent | None = None
    if latest is not None and latest.sha256 == addressed.sha256:
        first_set = latest.backup_set_id
    else:
        new = await snapshots.store(addressed)
        first_set = await VersionStore(storage).first_copy(
            job.tenant_id, item, job.backup_set_id, parse_iso(job.at), new_content=new)
        fresh = LatestContent(result.item_id, addressed.sha256, addressed.path, first_set)
    action = ItemAction.CAPTURED if first_set == job.backup_set_id else ItemAction.UNCHANGED
    return item, RunItem(item_id=item.item_id, policy_type=policy_type,
                         policy_id=result.item_id, display_name=item.display_name,
                         action=action.value, warnings=warnings), fresh


def _failed(run_id: str, policy_type: str, result: FetchResult) -> RunItem:
    error = result.error or GraphError("Graph returned no document")
    return _failed_with(run_id, policy_type, result.item_id, _error(error))


def _failed_with(run_id: str, policy_type: str, policy_id: str,
                 error: dict[str, str]) -> RunItem:
    log.warning("run %s: %s %s not captured (%s)", run_id, policy_type, policy_id,
                error.get("code"))
    return RunItem(item_id=item_key(policy_type, policy_id), policy_type=policy_type,
                   policy_id=policy_id, display_name="", action=ItemAction.FAILED.value,
                   error=error)


def _display_name(policy_type: str, document: dict[str, Any]) -> str:
    return str(document.get(supported_type(policy_type).name_field) or "")
