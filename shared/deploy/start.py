"""Checking a cross-tenant start (DESIGN §11) before any run exists.

The target's role (operator for a preview, admin for a live run) is checked by the restore
endpoint as for any restore. Here, in §11's order: source = target → 400;
``ca_state: as_snapshot`` → 400; no ``reader`` on the source → 403 (also for a source nobody
registered); a set that is not the source's → 404; then the plan is built: an override that
names nothing valid → 422 ``mapping_invalid``, and a live run while references are ambiguous
or missing → 422 ``mapping_unresolved`` listing them. Secrets cross only for an admin of
the source (a run parameter).
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.deploy.build import Deployment, build_plan
from shared.deploy.plan import unresolved_summary
from shared.platform.errors import Forbidden, MappingInvalid, MappingUnresolved, ValidationFailed
from shared.platform.storage import Storage
from shared.tenants.auth import Principal
from shared.tenants.store import Role, TenantStore, require_role

_SHOWN = 5
_LISTED = 100  # unresolved references a 422 lists (the message counts them all)


@dataclass(frozen=True)
class CheckedDeployment:
    source_tenant_id: str
    copy_secrets: bool


async def check_source(storage: Storage, principal: Principal, target_tenant_id: str,
                       source_tenant_id: str, ca_state: str) -> CheckedDeployment:
    """The request's source, if the caller may deploy from it into the target."""
    if source_tenant_id == target_tenant_id:
        raise ValidationFailed("source_tenant_id is the target tenant: use a restore")
    if ca_state == "as_snapshot":
        raise ValidationFailed("ca_state as_snapshot cannot be used across tenants: "
                               "Conditional Access is always created report-only there")
    store = TenantStore(storage)
    await require_role(store, principal, source_tenant_id, Role.READER)
    try:
        await require_role(store, principal, source_tenant_id, Role.ADMIN)
        copy_secrets = True
    except Forbidden:
        copy_secrets = False
    return CheckedDeployment(source_tenant_id, copy_secrets)


async def check_plan(storage: Storage, deployment: Deployment, *, live: bool) -> None:
    """Refuse bad overrides, and a live run whose plan is not complete."""
    resolution = await build_plan(storage, deployment, tenant_values=False)
    if resolution.invalid:
        shown = "; ".join(resolution.invalid[:_SHOWN])
        more = (f" (and {len(resolution.invalid) - _SHOWN} more)"
                if len(resolution.invalid) > _SHOWN else "")
        raise MappingInvalid(f"mappings refused: {shown}{more}")
    unresolved = unresolved_summary(resolution.rows)
    if live and unresolved:
        raise MappingUnresolved(
            f"{len(unresolved)} reference(s) are ambiguous or missing in the target; map "
            "them in mappings (or preview the deployment to see its plan)",
            unresolved[:_LISTED])
