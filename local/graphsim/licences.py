"""The simulated tenants' licences: ``GET /v1.0/subscribedSkus`` (the ``subscribedSkus``
collection, seeded here) and the workloads that refuse a tenant without their service plan
(``TypeSpec.requires_plan``).

SKU part numbers, SKU ids and service plan names and ids are Microsoft's ("Product names and
service plan identifiers for licensing", the CSV learn.microsoft.com publishes); each SKU
keeps only a few of its plans. Every tenant holds Microsoft 365 E3 (Intune, Entra ID P1,
Windows Update for Business deployment service); all but every fourth tenant (index 3, 7, …)
also hold Windows 365 Enterprise, so the default three tenants hold everything.

A type with ``requires_plan`` (a ``servicePlanName`` prefix) answers every request 403 in a
tenant without such a plan, as Graph answers that workload: Intune's wrapped error, or the
type's ``unlicensed_message`` (Windows 365: ``Access is denied to the requested resource.``).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from .odata import GraphError, intune_message

if TYPE_CHECKING:
    from .spec import TypeSpec
    from .store import Tenant

KEY = "subscribedSkus"
G = "#microsoft.graph."
# skuPartNumber → (skuId, ((servicePlanName, servicePlanId), …)), abridged.
SKUS: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "SPE_E3": ("05e9a617-0261-4cee-bb44-138d3ef5d965", (  # Microsoft 365 E3
        ("INTUNE_A", "c1ec4a95-1f05-45b3-a911-aa3fa01094f5"),
        ("AAD_PREMIUM", "41781fb2-bc02-4b7c-bd55-b576c07bb09d"),
        ("MFA_PREMIUM", "8a256a2b-b617-496d-b51b-e76466e88db0"),
        ("WINDOWSUPDATEFORBUSINESS_DEPLOYMENTSERVICE", "7bf960f6-2cd9-443a-8046-5dbff9558365"),
        ("Windows_Autopatch", "9a6eeb79-0b4b-4bf0-9808-39d99a2cd5a3"),
        ("WIN10_PRO_ENT_SUB", "21b439ba-a0ca-424f-a6cc-52f954a5b111"),
        ("EXCHANGE_S_ENTERPRISE", "efb87545-963c-4e0d-99df-69c6916d9eb0"),
        ("OFFICESUBSCRIPTION", "43de0ff5-c92c-492b-9116-175376d08c38"),
        ("TEAMS1", "57ff2da0-773e-42df-b2af-ffb7a2317929"),
        ("INTUNE_O365", "882e1d05-acd1-4ccb-8708-6ee03664b117"),
    )),
    "EMS": ("efccb6f7-5641-4e0e-bd10-b4976e1bf68e", (  # Enterprise Mobility + Security E3
        ("INTUNE_A", "c1ec4a95-1f05-45b3-a911-aa3fa01094f5"),
        ("AAD_PREMIUM", "41781fb2-bc02-4b7c-bd55-b576c07bb09d"),
        ("MFA_PREMIUM", "8a256a2b-b617-496d-b51b-e76466e88db0"),
        ("RMS_S_PREMIUM", "6c57d4b6-3b23-47a5-9bc9-69f17b4947b3"),
        ("EXCHANGE_S_FOUNDATION", "113feb6c-3fe4-4440-bddc-54d774bf0318"),
    )),
    "CPC_E_2C_8GB_128GB": ("e2aebe6c-897d-480f-9d62-fff1381581f7", (  # Windows 365 Enterprise
        ("CPC_2", "3efff3fe-528a-4fc5-b1ba-845802cc764f"),
        ("EXCHANGE_S_FOUNDATION", "113feb6c-3fe4-4440-bddc-54d774bf0318"),
    )),
}
WINDOWS_365 = "CPC_E_2C_8GB_128GB"
# How the Cloud PC API answers a tenant without Windows 365 (also a missing permission).
WINDOWS_365_DENIED = "Access is denied to the requested resource."
_COMPANY_PLANS = frozenset({"EXCHANGE_S_FOUNDATION", "INTUNE_O365"})


def sku(tenant_id: str, part_number: str, units: int = 25) -> dict[str, Any]:
    """One ``subscribedSku`` as Graph lists it (``id`` is ``{tenantId}_{skuId}``)."""
    sku_id, plans = SKUS[part_number]
    return {"@odata.type": G + "subscribedSku", "id": f"{tenant_id}_{sku_id}",
            "accountId": tenant_id, "accountName": "PolicyVault simulator",
            "appliesTo": "User", "capabilityStatus": "Enabled", "consumedUnits": units - 5,
            "prepaidUnits": {"enabled": units, "lockedOut": 0, "suspended": 0, "warning": 0},
            "servicePlans": [{"servicePlanId": plan_id, "servicePlanName": name,
                              "provisioningStatus": "Success",
                              "appliesTo": "Company" if name in _COMPANY_PLANS else "User"}
                             for name, plan_id in plans],
            "skuId": sku_id, "skuPartNumber": part_number,
            "subscriptionIds": [str(uuid.uuid5(uuid.NAMESPACE_URL, f"{tenant_id}/{sku_id}"))]}


def seed(tenant: Tenant, index: int) -> None:
    """The tenant's seeded SKUs (see the module docstring for who holds what)."""
    held = ["SPE_E3"] + ([WINDOWS_365] if index % 4 != 3 else [])
    tenant.data[KEY] = {obj["id"]: obj for obj in (sku(tenant.id, p) for p in held)}


def set_licence(tenant: Tenant, part_number: str, held: bool) -> None:
    """Give the tenant one of :data:`SKUS`, or take it away."""
    if part_number not in SKUS:
        raise ValueError(f"unknown SKU {part_number!r}; known: {', '.join(SKUS)}")
    skus = tenant.data.setdefault(KEY, {})
    obj = sku(tenant.id, part_number)
    if held:
        skus[obj["id"]] = obj
    else:
        skus.pop(obj["id"], None)


def holds(tenant: Tenant, prefix: str) -> bool:
    """Whether a serving SKU of the tenant has an enabled plan named ``prefix…``."""
    return any(plan.get("servicePlanName", "").startswith(prefix)
               and plan.get("provisioningStatus") != "Disabled"
               for obj in tenant.data.get(KEY, {}).values()
               if (obj.get("prepaidUnits") or {}).get("enabled", 0) > 0
               for plan in obj.get("servicePlans") or [])


def refusal(tenant: Tenant, spec: TypeSpec) -> GraphError | None:
    """The 403 a type's workload answers in a tenant without its plan; None if licensed."""
    if spec.requires_plan is None or holds(tenant, spec.requires_plan):
        return None
    return GraphError(403, "Forbidden", spec.unlicensed_message or intune_message(spec.path))
