"""Customer tenants and who may act on them (DESIGN §3, §5).

Grants are stored twice in one table so both questions are one-partition queries:
``p:{principal}`` / tenant ("which tenants may I see") and ``t:{tenant}`` / principal
("who has access here"). Authorization itself is :func:`require_role`, the one place every
route goes through.

A tenant being offboarded (DESIGN §12) keeps its row, marked with the offboarding run, until
that run deletes it last: from the mark on, its routes answer 403 like an unknown tenant's,
and starts 409 ``tenant_offboarding``; :meth:`TenantStore.all` leaves it out (lists, the
scheduler).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import IntEnum
from typing import Any

from shared.platform import tables
from shared.platform.errors import Forbidden, TenantOffboarding, ValidationFailed
from shared.platform.storage import Storage
from shared.retention.settings import DEFAULT_KEEP_MIN_SETS, DEFAULT_RETENTION_DAYS
from shared.schedules.model import Schedules
from shared.tenants.auth import Principal

TENANTS, ACCESS = "tenants", "access"
# The partition of the MSP's own runs and audit events (offboardings): never a tenant id,
# which is a GUID, so no tenant's rows and the MSP's ever share a partition.
MSP_SCOPE = "msp"


class Role(IntEnum):
    READER = 1
    OPERATOR = 2
    ADMIN = 3

    @classmethod
    def parse(cls, name: object) -> Role:
        if not isinstance(name, str) or name.upper() not in cls.__members__:
            raise ValidationFailed("role must be one of reader, operator, admin")
        return cls[name.upper()]

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass
class Tenant:
    tenant_id: str
    display_name: str
    created_at: str  # registration: no schedule fires for an occurrence before it
    updated_at: str
    schedules: Schedules | None = None  # None: the defaults (DESIGN §10)
    # Retention (DESIGN §12): backup sets older than this many days are purged daily ...
    retention_days: int = DEFAULT_RETENTION_DAYS
    # ... except the newest this many (shared.retention.plan says what else is kept)
    keep_min_sets: int = DEFAULT_KEEP_MIN_SETS
    offboarding_run_id: str | None = None  # set once: the run that is offboarding it (§12)

    def __post_init__(self) -> None:
        if self.schedules is None:
            self.schedules = Schedules.defaults(self.tenant_id)

    @property
    def offboarding(self) -> bool:
        return self.offboarding_run_id is not None


@dataclass
class Grant:
    tenant_id: str
    principal_id: str
    role: str
    granted_by: str
    granted_at: str


def closed_to_new_work(tenant: Tenant | None) -> bool:
    """A tenant being offboarded, or no longer registered: its row is deleted when an
    offboarding ends, possibly between a caller's first look and its re-check (DESIGN §12)."""
    return tenant is None or tenant.offboarding


class TenantStore:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    async def get(self, tenant_id: str) -> Tenant | None:
        table = await self._storage.table(TENANTS)
        entity = await tables.get_or_none(table, "tenant", tenant_id)
        return None if entity is None else _tenant(entity)

    async def closed_to_new_work(self, tenant_id: str) -> bool:
        """Whether nothing new may start or be sealed for the tenant (read now, not cached):
        see :func:`closed_to_new_work`."""
        return closed_to_new_work(await self.get(tenant_id))

    async def put(self, tenant: Tenant) -> None:
        """Register or update; never touches the offboarding mark (a registration racing
        with :meth:`mark_offboarding` cannot clear it)."""
        table = await self._storage.table(TENANTS)
        assert tenant.schedules is not None
        await tables.upsert(table, {
            "PartitionKey": "tenant", "RowKey": tenant.tenant_id,
            **_without(asdict(tenant), "tenant_id", "schedules", "offboarding_run_id"),
            **tenant.schedules.properties()}, merge=True)

    async def mark_offboarding(self, tenant_id: str, run_id: str) -> bool:
        """Mark the tenant as being offboarded by ``run_id``; False when it is not registered."""
        table = await self._storage.table(TENANTS)
        return await tables.merge_if_present(table, {
            "PartitionKey": "tenant", "RowKey": tenant_id, "offboarding_run_id": run_id})

    async def all(self) -> list[Tenant]:
        """Every registered tenant not being offboarded, in one partition query (the
        scheduler's tick reads this)."""
        table = await self._storage.table(TENANTS)
        found = [_tenant(e) for e in await tables.query_all(table, "tenant")]
        return [t for t in found if not t.offboarding]

    async def grant(self, grant: Grant) -> None:
        table = await self._storage.table(ACCESS)
        body = asdict(grant)
        await tables.upsert(table, {"PartitionKey": f"t:{grant.tenant_id}",
                                    "RowKey": grant.principal_id, **body}, merge=True)
        await tables.upsert(table, {"PartitionKey": f"p:{grant.principal_id}",
                                    "RowKey": grant.tenant_id, **body}, merge=True)

    async def revoke(self, tenant_id: str, principal_id: str) -> bool:
        table = await self._storage.table(ACCESS)
        existed = await self.grant_of(principal_id, tenant_id) is not None
        await tables.delete(table, f"p:{principal_id}", tenant_id)
        await tables.delete(table, f"t:{tenant_id}", principal_id)
        return existed

    async def grant_of(self, principal_id: str, tenant_id: str) -> Grant | None:
        table = await self._storage.table(ACCESS)
        entity = await tables.get_or_none(table, f"p:{principal_id}", tenant_id)
        return None if entity is None else _grant(entity)

    async def grants_for_tenant(self, tenant_id: str) -> list[Grant]:
        return await self._grants(f"t:{tenant_id}")

    async def grants_for_principal(self, principal_id: str) -> list[Grant]:
        return await self._grants(f"p:{principal_id}")

    async def _grants(self, partition: str) -> list[Grant]:
        table = await self._storage.table(ACCESS)
        return [_grant(e) for e in await tables.query_all(table, partition)]


async def require_role(
    store: TenantStore, principal: Principal, tenant_id: str, role: Role, *,
    starting: bool = False,
) -> Tenant:
    """The tenant, if ``principal`` holds at least ``role`` on it; else 403 — also when the
    tenant does not exist, so a caller cannot probe which tenants are registered. A tenant
    being offboarded is unknown (403) to everyone, except that a caller who may start a job
    there (``starting``) learns why it cannot: 409 ``tenant_offboarding``."""
    tenant = await store.get(tenant_id)
    if tenant is not None and await _holds(store, principal, tenant_id, role):
        if not tenant.offboarding:
            return tenant
        if starting:
            raise TenantOffboarding("this tenant is being offboarded; nothing new starts")
    raise lacks_role(role)


def lacks_role(role: Role) -> Forbidden:
    """The 403 for a caller without ``role`` on a tenant — the same for a tenant that does
    not exist or is being offboarded."""
    return Forbidden(f"you need the {role.label} role on this tenant")


async def _holds(store: TenantStore, principal: Principal, tenant_id: str, role: Role) -> bool:
    if principal.platform_admin:
        return True
    grant = await store.grant_of(principal.oid, tenant_id)
    return grant is not None and Role.parse(grant.role) >= role


def _tenant(entity: dict[str, Any]) -> Tenant:
    tenant_id = entity["RowKey"]
    return Tenant(tenant_id, entity["display_name"], entity["created_at"], entity["updated_at"],
                  Schedules.from_properties(tenant_id, entity),
                  retention_days=int(entity.get("retention_days") or DEFAULT_RETENTION_DAYS),
                  keep_min_sets=int(entity.get("keep_min_sets") or DEFAULT_KEEP_MIN_SETS),
                  offboarding_run_id=entity.get("offboarding_run_id"))


def _grant(entity: dict[str, Any]) -> Grant:
    return Grant(entity["tenant_id"], entity["principal_id"], entity["role"],
                 entity["granted_by"], entity["granted_at"])


def _without(data: dict[str, Any], *names: str) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in names}
