"""The gate writes ask before they touch a tenant (DESIGN §12), on Azurite: a tenant being
offboarded or gone is closed; one found open stays so for the re-check interval only."""

from __future__ import annotations

import pytest

from shared.offboarding.job import DRAIN_SECONDS
from shared.platform import tables
from shared.platform.storage import Storage
from shared.tenants.gate import OPEN_RECHECK_S, OpenTenants
from shared.tenants.store import TENANTS, TenantStore
from tests.tenants import register

pytestmark = pytest.mark.anyio
TENANT = "0d3c1f52-0000-4000-8000-0000000000c7"


async def test_a_tenant_is_closed_once_marked_or_gone(storage: Storage) -> None:
    gate = OpenTenants(open_s=0)
    await register(storage, TENANT)
    assert not await gate.closed(storage, TENANT)
    await TenantStore(storage).mark_offboarding(TENANT, "01OFFBOARDINGRUN0000000000")
    assert await gate.closed(storage, TENANT)
    await tables.delete(await storage.table(TENANTS), "tenant", TENANT)
    assert await gate.closed(storage, TENANT)
    assert await gate.closed(storage, "0d3c1f52-0000-4000-8000-0000000000c8")  # never known


async def test_a_tenant_found_open_is_not_read_again_until_the_interval_passes(
        storage: Storage) -> None:
    """The window the interval leaves open, and :meth:`OpenTenants.forget` closing it (the
    offboarding's own process forgets the tenant when it sweeps)."""
    gate = OpenTenants(open_s=3600)
    await register(storage, TENANT)
    assert not await gate.closed(storage, TENANT)
    await TenantStore(storage).mark_offboarding(TENANT, "01OFFBOARDINGRUN0000000000")
    assert not await gate.closed(storage, TENANT)  # as seen within the interval
    gate.forget(storage, TENANT)
    assert await gate.closed(storage, TENANT)


def test_a_tenant_found_open_is_looked_at_again_well_inside_the_offboarding_drain() -> None:
    """An activity outliving its terminated orchestration must stop writing before the
    offboarding's last sweep: the re-check interval, plus the writes that follow the check,
    has to fit in the drain that comes before that sweep."""
    assert OPEN_RECHECK_S <= DRAIN_SECONDS / 3
