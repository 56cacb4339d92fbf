"""Registering tenants as ``PUT /api/tenants/{id}`` does, for tests below the API: a job
starts, and a tenant's data key is made, only while the tenant is registered (DESIGN §12)."""

from __future__ import annotations

from shared.platform.keys import iso, utc_now
from shared.platform.storage import Storage
from shared.tenants.store import Tenant, TenantStore


async def register(storage: Storage, *tenant_ids: str) -> None:
    now = iso(utc_now())
    for tenant_id in tenant_ids:
        await TenantStore(storage).put(Tenant(tenant_id, f"Customer {tenant_id[:8]}", now, now))
