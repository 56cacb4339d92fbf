"""Which service plans a tenant holds — to tell "not licensed" from "not allowed".

Some workloads answer a tenant without their licence exactly as they answer an app without
the permission: 403 (Windows 365: ``Access is denied to the requested resource.``; Windows
driver updates: Intune's wrapped 403). A catalog entry names the service plans that license
it (``ResourceType.licensed_by``: prefixes of ``servicePlanName``); :class:`TenantLicences`
reads the tenant's ``GET /v1.0/subscribedSkus`` once — when a refusal first needs it — and
answers whether the tenant holds one of them. Plans, not ``skuPartNumber``s: the same
licence is sold under many SKUs (Intune in Microsoft 365 E3, EMS E3, Business Premium…)
and a live tenant may report a descriptive part number instead of the catalogue one.

A plan counts when its ``provisioningStatus`` is not ``Disabled`` (as CIPP's
``Get-CIPPTenantCapabilities`` reads them) and its SKU still has units that serve:
``prepaidUnits.enabled`` or ``warning`` (the grace period); units that are only
``suspended`` or ``lockedOut`` belong to a cancelled subscription. Reading needs
Organization.Read.All (or Directory.Read.All); without it the read raises the
:class:`GraphError`, and the caller says the licence could not be checked.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from typing import Any

from shared.graph.client import GraphClient, get_graph_client
from shared.graph.resource import ResourceType
from shared.platform.errors import GraphError

SUBSCRIBED_SKUS = "subscribedSkus"  # v1.0; it takes $select, not $filter
# Windows 365 Enterprise (CPC_E_*, and the first CPC_1 / CPC_2) and Frontline, sold as "Shared
# Use" (CPC_S_*): the plans whose tenants manage Cloud PCs in Intune (provisioning policies,
# user settings). Business plans (CPC_B_*, CPC_SS_2) are not among them: Business Cloud PCs
# are set up per user, without Intune's Windows 365 node (MicrosoftDocs/memdocs #1842,
# #3131). Names from Microsoft's licensing service plan reference.
WINDOWS_365: tuple[str, ...] = ("CPC_E_", "CPC_S_", "CPC_1", "CPC_2")
_SELECT = "skuPartNumber,prepaidUnits,servicePlans"


def active_plans(skus: Iterable[dict[str, Any]]) -> frozenset[str]:
    """The names of the service plans the tenant may use, from its ``subscribedSkus``."""
    return frozenset(
        str(plan["servicePlanName"])
        for sku in skus if _serves(sku)
        for plan in sku.get("servicePlans") or []
        if isinstance(plan, dict) and plan.get("servicePlanName")
        and str(plan.get("provisioningStatus") or "").lower() != "disabled")


def _serves(sku: dict[str, Any]) -> bool:
    units = sku.get("prepaidUnits")
    if not isinstance(units, dict):
        return True  # nothing says the subscription lapsed
    return any(isinstance(units.get(k), int) and units[k] > 0 for k in ("enabled", "warning"))


def holds(plans: Iterable[str], licensed_by: Sequence[str]) -> bool:
    """Whether one of ``plans`` starts with one of the ``licensed_by`` prefixes (any case)."""
    prefixes = tuple(p.upper() for p in licensed_by)
    return any(plan.upper().startswith(prefixes) for plan in plans)


class TenantLicences:
    """One tenant's active service plans, read from Graph at most once per instance (one
    instance per activity call), however many types ask and however concurrently. A failed
    read is remembered too: every caller gets the same :class:`GraphError`."""

    def __init__(self, tenant_id: str, *, client: GraphClient | None = None) -> None:
        self.tenant_id = tenant_id
        self._client = client
        self._lock = asyncio.Lock()
        self._plans: frozenset[str] | None = None
        self._error: GraphError | None = None

    async def plans(self) -> frozenset[str]:
        async with self._lock:
            if self._plans is None and self._error is None:
                client = self._client or get_graph_client()
                try:
                    skus = await client.get_all(self.tenant_id, SUBSCRIBED_SKUS,
                                                params={"$select": _SELECT})
                except GraphError as exc:
                    self._error = exc
                else:
                    self._plans = active_plans(skus)
        if self._error is not None:
            raise self._error
        assert self._plans is not None
        return self._plans

    async def licensed(self, rtype: ResourceType) -> bool:
        """Whether the tenant holds a plan that licenses ``rtype`` (True, without reading,
        for a type that names none). Raises the read's :class:`GraphError`."""
        if not rtype.licensed_by:
            return True
        return holds(await self.plans(), rtype.licensed_by)
