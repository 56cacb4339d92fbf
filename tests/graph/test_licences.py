"""``shared.graph.licences`` against the simulator: a tenant's service plans from one
``subscribedSkus`` read per :class:`TenantLicences`, however many types ask; a type licensed
by a plan the tenant holds, or lacks; a read the app may not make raises for every caller;
lapsed subscriptions and disabled plans license nothing."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from local.graphsim.licences import WINDOWS_365 as WINDOWS_365_SKU
from shared.graph import supported_type
from shared.graph.licences import (
    SUBSCRIBED_SKUS,
    WINDOWS_365,
    TenantLicences,
    active_plans,
    holds,
)
from shared.platform.errors import GraphForbidden
from tests.graph.conftest import graph_requests

pytestmark = pytest.mark.anyio
DRIVERS = supported_type("windowsDriverUpdateProfiles")  # licensed_by the WUfB DS plan
# A type licensed as the cloudPC types are (the tenant's Windows 365 SKU holds CPC_2).
CLOUD_PC = replace(supported_type("assignmentFilters"), licensed_by=WINDOWS_365)


def _sku_reads(graphsim, tenant_id: str) -> list[dict]:
    return graph_requests(graphsim, tenant=tenant_id, method="GET",
                          path=f"/v1.0/{SUBSCRIBED_SKUS}")


async def test_licences_tenant_holding_the_plans_is_licensed_for_both_types(
        client, tenants, graphsim):
    licences = TenantLicences(tenants[0], client=client)

    assert await licences.licensed(DRIVERS) is True
    assert await licences.licensed(CLOUD_PC) is True
    assert {"INTUNE_A", "WINDOWSUPDATEFORBUSINESS_DEPLOYMENTSERVICE", "CPC_2"} <= \
        await licences.plans()
    assert len(_sku_reads(graphsim, tenants[0])) == 1


async def test_licences_tenant_without_the_plan_is_not_licensed(client, tenants, graphsim):
    graphsim.set_licence(tenants[1], WINDOWS_365_SKU, held=False)
    graphsim.set_licence(tenants[1], "SPE_E3", held=False)
    graphsim.set_licence(tenants[1], "EMS", held=True)  # Intune without WUfB DS

    licences = TenantLicences(tenants[1], client=client)

    assert await licences.licensed(CLOUD_PC) is False
    assert await licences.licensed(DRIVERS) is False
    assert "INTUNE_A" in await licences.plans()


async def test_licences_are_read_once_however_many_types_ask_at_once(client, tenants,
                                                                     graphsim):
    licences = TenantLicences(tenants[0], client=client)

    answers = await asyncio.gather(*(licences.licensed(t) for t in [DRIVERS, CLOUD_PC] * 5))

    assert answers == [True] * 10
    assert len(_sku_reads(graphsim, tenants[0])) == 1
    assert len(_sku_reads(graphsim, tenants[1])) == 0


async def test_licences_a_type_that_names_no_plan_is_licensed_without_a_read(
        client, tenants, graphsim):
    licences = TenantLicences(tenants[0], client=client)

    assert await licences.licensed(supported_type("assignmentFilters")) is True
    assert _sku_reads(graphsim, tenants[0]) == []


async def test_licences_unreadable_skus_raise_the_same_error_for_every_caller(
        client, tenants, graphsim):
    # The app lacks Organization.Read.All: subscribedSkus answers 403.
    graphsim.add_fault("status", status=403, tenant=tenants[0], path_prefix="/v1.0/subscribedSkus")
    licences = TenantLicences(tenants[0], client=client)

    with pytest.raises(GraphForbidden) as first:
        await licences.licensed(DRIVERS)
    with pytest.raises(GraphForbidden) as second:
        await licences.licensed(CLOUD_PC)

    assert second.value is first.value
    assert len(_sku_reads(graphsim, tenants[0])) == 1


def test_licences_lapsed_subscriptions_and_disabled_plans_license_nothing():
    def sku(status: str, enabled: int, warning: int = 0, suspended: int = 0) -> dict:
        return {"capabilityStatus": "Enabled",
                "prepaidUnits": {"enabled": enabled, "warning": warning,
                                 "suspended": suspended, "lockedOut": 0},
                "servicePlans": [{"servicePlanName": "CPC_2", "provisioningStatus": status}]}

    assert active_plans([sku("Success", 2)]) == {"CPC_2"}
    assert active_plans([sku("PendingActivation", 2)]) == {"CPC_2"}
    assert active_plans([sku("Success", 0, warning=3)]) == {"CPC_2"}  # grace period
    assert active_plans([sku("Disabled", 2)]) == frozenset()
    assert active_plans([sku("Success", 0, suspended=3)]) == frozenset()  # cancelled
    assert holds({"cpc_2"}, CLOUD_PC.licensed_by)  # names compare in any case
    assert not holds({"CPC_B_2C_4RAM_128GB"}, CLOUD_PC.licensed_by)  # Business: no policies
