"""Graph reading activities shared by capture and backup: list a type, capture a batch.

Both write their outcomes as run item rows (deterministic keys, so a retried activity
rewrites the same rows) and hand the orchestrator only ids and counts. A fault Graph may
recover from (throttling, 5xx, timeouts) is raised so the orchestrator's retry policy runs
the activity again; a permanent one is recorded on the item and the run goes on.
"""

import logging
from typing import Any

import azure.durable_functions as df

from shared.backup_sets import BackupItem, BackupSetStore, VersionStore
from shared.errors import GraphBadRequest, GraphError, GraphForbidden
from shared.graph import fetch_snapshots, list_items, supported_type
from shared.keys import parse_iso
from shared.run_store import RunStore
from shared.runs import TYPE_LEVEL_ID, Counts, ItemAction, RunItem, item_key
from shared.snapshots import SnapshotStore
from shared.storage import get_storage

bp = df.Blueprint()
log = logging.getLogger(__name__)

# A type the tenant cannot list (not licensed, not consented for it): skipped, the run goes on.
_UNREADABLE = (GraphForbidden, GraphBadRequest)


def _retryable(exc: Exception) -> bool:
    return bool(getattr(exc, "retryable", False))


def _error(exc: GraphError) -> dict[str, str]:
    return {"code": exc.code, "message": str(exc)}


@bp.activity_trigger(input_name="payload")
async def list_policies(payload: dict[str, Any]) -> dict[str, Any]:
    """Every id of one type in the tenant. A type that cannot be listed becomes one
    type-level item (``skipped`` when unreadable, ``failed`` otherwise) and no ids."""
    tenant_id, policy_type = payload["tenant_id"], payload["policy_type"]
    try:
        refs = await list_items(tenant_id, policy_type)
    except GraphError as exc:
        if _retryable(exc):
            raise
        action = ItemAction.SKIPPED if isinstance(exc, _UNREADABLE) else ItemAction.FAILED
        await RunStore(get_storage()).put_item(payload["run_id"], RunItem(
            item_id=item_key(policy_type, TYPE_LEVEL_ID), policy_type=policy_type,
            policy_id=TYPE_LEVEL_ID, display_name=policy_type, action=action.value,
            error=_error(exc),
        ))
        log.warning("run %s: %s not listed (%s)", payload["run_id"], policy_type, exc.code)
        return {"policy_type": policy_type, "ids": [], "outcome": action.status.value}
    return {"policy_type": policy_type, "ids": [ref.id for ref in refs]}


@bp.activity_trigger(input_name="payload")
async def capture_policies(payload: dict[str, Any]) -> dict[str, int]:
    """Fetch complete snapshots of a batch of one type, store them content-addressed, and
    record backup items, versions and run items. Returns the batch's counts."""
    tenant_id, run_id = payload["tenant_id"], payload["run_id"]
    policy_type, backup_set_id = payload["policy_type"], payload["backup_set_id"]
    at = parse_iso(payload["at"])
    storage = get_storage()
    runs, snapshots = RunStore(storage), SnapshotStore(storage)
    sets, versions = BackupSetStore(storage), VersionStore(storage)
    try:
        results = await fetch_snapshots(tenant_id, policy_type, payload["policy_ids"])
    except GraphError as exc:
        if _retryable(exc):
            raise
        failures = {policy_id: exc for policy_id in payload["policy_ids"]}
        results = []
    else:
        failures = {r.item_id: r.error for r in results if r.error is not None}
    if any(_retryable(err) for err in failures.values()):
        raise next(err for err in failures.values() if _retryable(err))

    actions: list[ItemAction] = []
    for result in results:
        if result.document is None:
            continue
        document = result.document
        sha, path, _ = await snapshots.put(tenant_id, policy_type, result.item_id, document)
        item = BackupItem(
            item_id=item_key(policy_type, result.item_id), policy_type=policy_type,
            policy_id=result.item_id, display_name=_display_name(policy_type, document), sha256=sha,
            blob_path=path,
        )
        await sets.put_item(backup_set_id, item)
        first_copy = await versions.record(tenant_id, item, backup_set_id, at)
        action = ItemAction.CAPTURED if first_copy else ItemAction.UNCHANGED
        await runs.put_item(run_id, RunItem(
            item_id=item.item_id, policy_type=policy_type, policy_id=result.item_id,
            display_name=item.display_name, action=action.value,
        ))
        actions.append(action)
    for policy_id, exc in failures.items():
        await runs.put_item(run_id, RunItem(
            item_id=item_key(policy_type, policy_id), policy_type=policy_type,
            policy_id=policy_id, display_name="", action=ItemAction.FAILED.value,
            error=_error(exc),
        ))
        actions.append(ItemAction.FAILED)
        log.warning("run %s: %s %s not captured (%s)", run_id, policy_type, policy_id, exc.code)
    counts = Counts.of([action.status for action in actions])
    return {"succeeded": counts.succeeded, "failed": counts.failed, "skipped": counts.skipped}


def _display_name(policy_type: str, document: dict[str, Any]) -> str:
    return str(document.get(supported_type(policy_type).name_field) or "")
