"""What the target tenant holds, by reference kind, for a mapping plan (DESIGN §11).

One listing per catalog kind the plan needs (``id`` and display name only), so a plan costs
one paged read per kind, not one per reference. Users (a CA break-glass exclusion) are no
catalog type: an override naming one is checked with ``directoryObjects/getByIds``.
Applications are named by ``appId``, the same in every tenant.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from shared.graph.catalog import BY_KEY
from shared.graph.client import get_graph_client
from shared.graph.entries.identity import APPLICATIONS, USERS
from shared.platform.errors import GraphBadResponse

_GUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
_GET_BY_IDS = "directoryObjects/getByIds"


@dataclass
class TargetIndex:
    """``{kind: {id: display name}}`` of the target, for the kinds read."""

    objects: dict[str, dict[str, str]] = field(default_factory=dict)
    users: set[str] = field(default_factory=set)  # lower-cased ids known to exist

    def named(self, kind: str, name: str) -> list[str]:
        return sorted(i for i, n in self.objects.get(kind, {}).items() if n == name)

    def exists(self, kind: str, target_id: str) -> bool:
        if kind == APPLICATIONS:
            return bool(_GUID.fullmatch(target_id))
        if kind == USERS:
            return target_id.lower() in self.users
        return target_id in self.objects.get(kind, {})


async def read_target(tenant_id: str, kinds: Iterable[str],
                      user_ids: Collection[str] = ()) -> TargetIndex:
    """The target's objects of every catalog kind in ``kinds``; of ``user_ids``, those that
    exist."""
    catalog_kinds = sorted({k for k in kinds if k in BY_KEY and not BY_KEY[k].singleton})
    listed = await asyncio.gather(*(_everything(tenant_id, k) for k in catalog_kinds))
    index = TargetIndex(dict(zip(catalog_kinds, listed, strict=True)))
    if user_ids:
        index.users = await _existing_users(tenant_id, user_ids)
    return index


async def _everything(tenant_id: str, kind: str) -> dict[str, str]:
    """Every object of the kind, built-ins included (a backup leaves those out, but a
    reference to one — a built-in authentication strength — names the same id everywhere)."""
    rtype = BY_KEY[kind]
    items = await get_graph_client().get_all(tenant_id, rtype.path, version=rtype.version,
                                             params={"$select": rtype.list_select})
    return {str(i["id"]): str(i.get(rtype.name_field) or "") for i in items
            if i.get("id") and rtype.supports(i.get("@odata.type"))}


async def _existing_users(tenant_id: str, ids: Collection[str]) -> set[str]:
    wanted = sorted({i.lower() for i in ids if _GUID.fullmatch(i)})
    if not wanted:
        return set()
    response = await get_graph_client().request(
        tenant_id, "POST", _GET_BY_IDS, version="v1.0", idempotent=True,
        json={"ids": wanted, "types": ["user"]})
    value = response.body.get("value") if isinstance(response.body, dict) else None
    if not isinstance(value, list):
        raise GraphBadResponse(f"POST {_GET_BY_IDS}: the answer is not a collection",
                               status=response.status, request_id=response.request_id)
    return {str(o["id"]).lower() for o in value if isinstance(o, dict) and o.get("id")}


async def initial_domain(tenant_id: str) -> str | None:
    """The tenant's ``*.onmicrosoft.com`` domain (``GET /organization``, a read)."""
    body = await get_graph_client().get_json(tenant_id, "organization", version="v1.0",
                                             params={"$select": "id,verifiedDomains"})
    for org in (body.get("value") or []) if isinstance(body, dict) else []:
        for domain in org.get("verifiedDomains") or []:
            name = str(domain.get("name") or "")
            if domain.get("isInitial") and name.lower().endswith(".onmicrosoft.com"):
                return name.lower()
    return None
