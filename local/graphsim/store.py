"""In-memory tenants and their objects. Only the event loop thread touches a Store."""

from __future__ import annotations

import copy
import random
from dataclasses import dataclass, field
from typing import Any

from . import audit, catalog, licences, seed
from .catalog import SubSpec, TypeSpec
from .entra import APP_ROLES


@dataclass
class Tenant:
    id: str
    display_name: str
    domain: str
    consented: bool = True
    app_roles: tuple[str, ...] = APP_ROLES  # the application permissions consented to
    data: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    audit: audit.AuditTrail = field(default_factory=audit.AuditTrail)

    def collection(self, spec: TypeSpec) -> dict[str, dict[str, Any]]:
        """The writable dict behind a collection (union views are read via `items`)."""
        return self.data.setdefault(spec.key, {})

    def items(self, spec: TypeSpec, version: str | None = None) -> list[dict[str, Any]]:
        """The collection's objects; a union view's only from members served in ``version``
        (every member when None)."""
        return [obj for key in _members(spec, version)
                for obj in self.data.get(key, {}).values()]

    def find(self, spec: TypeSpec, item_id: str,
             version: str | None = None) -> dict[str, Any] | None:
        for key in _members(spec, version):
            obj = self.data.get(key, {}).get(item_id)
            if obj is not None:
                return obj
        return None

    def ids(self, key: str) -> set[str]:
        return set(self.data.get(key, {}))

    def linked(self, sub: SubSpec, obj: dict[str, Any]) -> list[dict[str, Any]]:
        """The objects a `$ref` navigation links to, as they are now (links to objects that
        were deleted are gone, as in Graph)."""
        pool = self.data.get(sub.ref_target or "", {})
        return [pool[link["id"]] for link in obj.get(sub.name) or []
                if isinstance(link, dict) and link.get("id") in pool]

    def with_links(self, spec: TypeSpec, obj: dict[str, Any]) -> dict[str, Any]:
        """A deep copy of `obj` with its `$ref` navigations read as the linked objects."""
        out = copy.deepcopy(obj)
        for sub in spec.subs:
            if sub.ref_target:
                out[sub.name] = copy.deepcopy(self.linked(sub, obj))
        return out


def organization(tenant_id: str, display_name: str, domain: str) -> dict[str, Any]:
    """``GET /organization``'s one object: the tenant's id, name and initial domain."""
    return {"@odata.type": "#microsoft.graph.organization", "id": tenant_id,
            "displayName": display_name, "tenantType": "AAD",
            "verifiedDomains": [{"name": domain, "isInitial": True, "isDefault": True,
                                 "type": "Managed",
                                 "capabilities": "Email, OfficeCommunicationsOnline"}]}


def _members(spec: TypeSpec, version: str | None) -> list[str]:
    keys = spec.union_of or (spec.key,)
    return [k for k in keys if version is None or version in catalog.BY_KEY[k].versions]


@dataclass
class Store:
    seed: int
    tenant_count: int
    counts: dict[str, int] = field(default_factory=dict)
    tenants: dict[str, Tenant] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.regenerate()

    def regenerate(self) -> None:
        self.tenants = {}
        for index, tenant_id in enumerate(seed.tenant_ids(self.seed, self.tenant_count)):
            self.tenants[tenant_id] = Tenant(
                id=tenant_id, display_name=f"Contoso {index + 1}",
                domain=f"contoso{index + 1}.onmicrosoft.com",
                data=seed.seed_tenant(self.seed, index, self.counts))
            licences.seed(self.tenants[tenant_id], index)
            self.tenants[tenant_id].data["organization"] = {tenant_id: organization(
                tenant_id, f"Contoso {index + 1}", f"contoso{index + 1}.onmicrosoft.com")}

    def lookup(self, name: str) -> Tenant | None:
        """A tenant by GUID (any case) or by its `*.onmicrosoft.com` domain."""
        lowered = name.lower()
        tenant = self.tenants.get(lowered)
        if tenant is not None:
            return tenant
        for candidate in self.tenants.values():
            if candidate.domain == lowered:
                return candidate
        return None

    def snapshot(self, tenant_id: str, key_or_path: str) -> list[dict[str, Any]]:
        """Stored objects with every navigation inline (for test comparisons)."""
        tenant = self.lookup(tenant_id)
        spec = catalog.spec_for(key_or_path)
        if tenant is None or spec is None:
            raise KeyError(f"unknown tenant or collection: {tenant_id} {key_or_path}")
        return [tenant.with_links(spec, obj) for obj in tenant.items(spec)]

    def drift(self, tenant_id: str, key_or_path: str, item_id: str, op: str,
              patch: dict[str, Any] | None = None,
              actor: dict[str, Any] | None = None) -> dict[str, Any] | None:
        """Change an object out of band, as an admin in the portal would; the audit log names
        ``actor`` (``{"upn", "type": "user"|"partner"}``; default: the tenant's admin)."""
        tenant = self.lookup(tenant_id)
        spec = catalog.spec_for(key_or_path)
        if tenant is None or spec is None:
            raise KeyError(f"unknown tenant or collection: {tenant_id} {key_or_path}")
        obj = tenant.find(spec, item_id)
        if obj is None:
            raise KeyError(f"unknown object: {item_id}")
        if op not in ("modify", "delete", "reassign"):
            raise ValueError(f"unknown drift op: {op}")
        if op == "modify":
            patch = copy.deepcopy(patch or {spec.name_prop: f"{obj.get(spec.name_prop)} (drift)"})
        audit.record_drift(tenant, spec, obj, op, patch,
                           audit.Actor.from_control(tenant, actor))
        if op == "delete":
            for key in spec.union_of or (spec.key,):
                tenant.data.get(key, {}).pop(item_id, None)
            return None
        if op == "modify":
            obj.update(copy.deepcopy(patch or {}))
        elif op == "reassign":
            if patch and "assignments" in patch:
                obj["assignments"] = copy.deepcopy(patch["assignments"])
            else:
                groups = sorted(tenant.ids("groups"))
                rng = random.Random(f"drift:{item_id}:{len(obj.get('assignments', []))}")
                group = rng.choice(groups) if groups else None
                target = ({"@odata.type": "#microsoft.graph.groupAssignmentTarget",
                           "groupId": group,
                           "deviceAndAppManagementAssignmentFilterId": None,
                           "deviceAndAppManagementAssignmentFilterType": "none"}
                          if group else
                          {"@odata.type": "#microsoft.graph.allDevicesAssignmentTarget"})
                sub = spec.sub("assignments")
                obj["assignments"] = [{"@odata.type": sub.odata_type if sub else None,
                                       "id": f"{item_id}_{group}", "target": target}]
        else:
            raise ValueError(f"unknown drift op: {op}")
        touch(spec, obj)
        return copy.deepcopy(obj)


def touch(spec: TypeSpec, obj: dict[str, Any]) -> None:
    """Bump the server-managed modification markers after any change."""
    if spec.modified_prop:
        obj[spec.modified_prop] = seed.now_iso()
    if spec.version_kind == "int":
        obj["version"] = int(obj.get("version") or 0) + 1
    elif spec.version_kind == "str":
        obj["version"] = f'"{random.getrandbits(32):08x}"'
    if "settingCount" in obj and "settings" in obj:
        obj["settingCount"] = len(obj["settings"])
    if "isAssigned" in obj and "assignments" in obj:
        obj["isAssigned"] = bool(obj["assignments"])
