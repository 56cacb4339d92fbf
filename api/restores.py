"""`POST /api/tenants/{tenant_id}/restores`: preview or restore a backup set (DESIGN §3, §8).

Operators may preview (``dry_run: true``, the default); a live restore needs the tenant's
``admin`` role and the tenant's live-restore lock (409 ``restore_in_progress``). The backup set
is looked up inside the path's tenant (absent: 404); unknown item ids are a 400 naming them.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from api.handler import ApiCall, handle
from api.starts import job_key, start
from shared.backups.sets import BackupSetStore
from shared.graph.payloads import CA_STATES
from shared.platform.errors import NotFound, ValidationFailed
from shared.platform.keys import is_ulid, utc_now
from shared.restore.lock import claim_live_restore, release_live_restore
from shared.runs.model import RunStatus, RunType
from shared.tenants.store import Role, TenantStore, require_role

bp = df.Blueprint()
FIELDS = {"backup_set_id", "item_ids", "dry_run", "include_assignments", "ca_state"}
# The ids travel in the run's parameters (one Table property, 32K characters); a larger
# selection is a restore of the whole set or several requests.
MAX_ITEM_IDS = 500
MAX_ITEM_ID_CHARS = 25_000
_SHOWN_UNKNOWN = 20
TERMINAL = {s.value for s in RunStatus if s.terminal}


@bp.route(route="tenants/{tenant_id}/restores", methods=["POST"])
@bp.durable_client_input(client_name="client")
async def start_restore(req: func.HttpRequest, client: df.DurableOrchestrationClient
                        ) -> func.HttpResponse:
    async def endpoint(call: ApiCall) -> func.HttpResponse:
        request = _parse(call.json_body())
        if not request["dry_run"]:
            await require_role(TenantStore(call.storage), call.principal, call.tenant_id,
                               Role.ADMIN)
        store = BackupSetStore(call.storage)
        backup_set_id = request["backup_set_id"]
        if await store.get(call.tenant_id, backup_set_id) is None:
            raise NotFound("no such backup set in this tenant")
        item_ids = request["item_ids"]
        if item_ids is not None:
            known = {item.item_id for item in await store.items(backup_set_id)}
            unknown = [i for i in item_ids if i not in known]
            if unknown:
                shown = ", ".join(unknown[:_SHOWN_UNKNOWN])
                more = f" (and {len(unknown) - _SHOWN_UNKNOWN} more)" if len(
                    unknown) > _SHOWN_UNKNOWN else ""
                raise ValidationFailed(f"item_ids not in the backup set: {shown}{more}")
        derived = restore_key(call.tenant_id, request)
        claimed = False
        if not request["dry_run"]:
            key, _ = job_key(call, derived)
            claimed = await claim_live_restore(call.storage, call.tenant_id, key, utc_now())
        try:
            response = await start(
                call, client, run_type=RunType.RESTORE, orchestrator="restore",
                derived_key=derived, canonical_body=request, backup_set_id=backup_set_id,
                dry_run=request["dry_run"],
                parameters={"item_ids": item_ids,
                            "include_assignments": request["include_assignments"],
                            "ca_state": request["ca_state"]},
            )
        except Exception:
            if claimed:  # a refused start (e.g. 422) leaves the tenant unlocked
                await release_live_restore(call.storage, call.tenant_id, key)
            raise
        if claimed and json.loads(response.get_body())["status"] in TERMINAL:
            await release_live_restore(call.storage, call.tenant_id, key)
        return response

    return await handle(req, endpoint, role=Role.OPERATOR)


def _parse(body: dict[str, Any]) -> dict[str, Any]:
    """The request with defaults applied (also the idempotency fingerprint's body)."""
    unknown = set(body) - FIELDS
    if unknown:
        raise ValidationFailed(f"unknown fields: {', '.join(sorted(unknown))}")
    backup_set_id = body.get("backup_set_id")
    if not isinstance(backup_set_id, str) or not is_ulid(backup_set_id):
        raise ValidationFailed("backup_set_id must be a backup set id")
    item_ids = body.get("item_ids")
    if item_ids is not None:
        if (not isinstance(item_ids, list) or not item_ids or len(item_ids) > MAX_ITEM_IDS
                or not all(isinstance(i, str) and 0 < len(i) <= 200 for i in item_ids)
                or sum(len(i) + 4 for i in item_ids) > MAX_ITEM_ID_CHARS):
            raise ValidationFailed(
                f"item_ids must be a non-empty list of at most {MAX_ITEM_IDS} item ids")
        item_ids = sorted(set(item_ids))
    flags = {}
    for name in ("dry_run", "include_assignments"):
        value = body.get(name, True)
        if not isinstance(value, bool):
            raise ValidationFailed(f"{name} must be true or false")
        flags[name] = value
    ca_state = body.get("ca_state", "report_only")
    if ca_state not in CA_STATES:
        raise ValidationFailed(f"ca_state must be one of {', '.join(CA_STATES)}")
    return {"backup_set_id": backup_set_id.upper(), "item_ids": item_ids, **flags,
            "ca_state": ca_state}


def restore_key(tenant_id: str, request: dict[str, Any]) -> str:
    """DESIGN §4: ``{tenant}|restore|{set}|{dry_run}|{hash of item ids}|{assignments}|{ca}``."""
    ids = request["item_ids"]
    ids_hash = hashlib.sha256("\n".join(ids).encode()).hexdigest()[:16] if ids else "*"
    return (f"{tenant_id}|restore|{request['backup_set_id']}|{str(request['dry_run']).lower()}"
            f"|{ids_hash}|{str(request['include_assignments']).lower()}|{request['ca_state']}")
