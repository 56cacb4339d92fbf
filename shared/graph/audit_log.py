"""Who changed what since a time: one read of Intune's audit log and one of Entra's (DESIGN §10).

    log = await read_change_log(tenant_id, baseline_started_at)
    log.changed_by(item_id)   # {"actor", "actor_type", "at", "activity"} or None

- One paged, time-filtered read per log and run (``$filter=activityDateTime ge …``), never one
  per item: ``deviceManagement/auditEvents`` (beta) for Intune types and, with ``entra``,
  ``auditLogs/directoryAudits`` (v1.0) for Entra types. Only successful changes count (not
  Intune's ``Get`` entries); each resource keeps its newest event at or after ``since``.
- Who: Intune's ``auditActorType`` — ``ItPro`` is a user (its UPN), ``Application`` an app
  (its display name), ``Partner`` (or a ``remoteTenantId``) a GDAP technician; the directory's
  ``initiatedBy`` — ``app`` (its display name) or ``user`` (its UPN), a ``partner`` when the
  user's ``homeTenantId`` is another tenant (v1.0 documents no partner marker; the wire carries
  it, beta's auditUserIdentity documents it).
- A log the app may not read (403: no ``DeviceManagementApps.Read.All`` /
  ``AuditLog.Read.All``, or no licence) does not fail the caller: its source is listed in
  :attr:`ChangeLog.unavailable` and :meth:`ChangeLog.changed_by` is None for what it covers.
  Other Graph errors (after the client's retries) are raised.
- Singletons: their item id is the catalog key while the logs name Graph's own id or type, so
  :meth:`ChangeLog.changed_by` also matches ``also`` ids and Intune ``resource_types``, and
  knows the catalog's singletons itself (:data:`SINGLETONS`); the others' Graph id is their key.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from shared.graph.client import GraphClient, get_graph_client
from shared.platform.errors import GraphForbidden

log = logging.getLogger("shared.graph.audit_log")

INTUNE = "intune"
DIRECTORY = "directory"
INTUNE_PATH = ("beta", "deviceManagement/auditEvents")
DIRECTORY_PATH = ("v1.0", "auditLogs/directoryAudits")

# A catalog singleton → what its audit events name instead of the key: ``ids`` (a fixed Graph
# id) and Intune ``types`` (auditResourceType; their id is the tenant's own GUID). Singletons
# whose Graph id is their key (authorizationPolicy, authenticationMethodsPolicy, …) need none.
SINGLETONS: dict[str, dict[str, tuple[str, ...]]] = {
    "identitySecurityDefaultsEnforcementPolicy": {
        "ids": ("00000000-0000-0000-0000-000000000005",)},
    "deviceManagementSettings": {"types": ("DeviceManagement",)},
    "applePushNotificationCertificate": {"types": ("ApplePushNotificationCertificate",)},
}

# One event → (resource ids, Intune resource types, the change), or None when it explains none.
Parse = Callable[[str, dict[str, Any]], "tuple[list[str], list[str], Change] | None"]
_DATETIME = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)?$")


@dataclass(frozen=True)
class Change:
    """The newest event explaining a change to one resource."""

    actor: str | None
    actor_type: str  # "user" | "app" | "partner"
    at: dt.datetime
    activity: str | None

    def to_dict(self) -> dict[str, Any]:
        """The ``changed_by`` shape of a drift item (DESIGN §10)."""
        return {"actor": self.actor, "actor_type": self.actor_type, "at": _iso(self.at),
                "activity": self.activity}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Change:
        at = _parse(data["at"])
        if at is None:
            raise ValueError(f"not a timestamp: {data['at']!r}")
        return cls(data.get("actor"), data["actor_type"], at, data.get("activity"))


@dataclass
class ChangeLog:
    """What the audit logs say changed since ``since``: the newest change per resource id
    (and per Intune resource type, for singletons)."""

    since: dt.datetime
    read: list[str] = field(default_factory=list)  # the sources read
    unavailable: list[str] = field(default_factory=list)  # the sources Graph refused (403)
    by_id: dict[str, Change] = field(default_factory=dict)  # lower-cased resource id
    by_type: dict[str, Change] = field(default_factory=dict)  # lower-cased Intune type

    def changed_by(self, policy_id: str, *, also: Iterable[str] = (),
                   resource_types: Iterable[str] = ()) -> dict[str, Any] | None:
        """``{"actor", "actor_type", "at", "activity"}`` of the newest event naming
        ``policy_id``, one of the ``also`` ids or one of the Intune ``resource_types`` (and a
        catalog singleton's :data:`SINGLETONS` markers); None when no event explains it."""
        known = SINGLETONS.get(policy_id, {})
        ids = [policy_id, *also, *known.get("ids", ())]
        types = [*resource_types, *known.get("types", ())]
        found = [c for c in (*(self.by_id.get(i.lower()) for i in ids),
                             *(self.by_type.get(t.lower()) for t in types)) if c is not None]
        return max(found, key=lambda c: c.at).to_dict() if found else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-plain, to pass between activities (rebuilt with :meth:`from_dict`)."""
        return {"since": _iso(self.since), "read": list(self.read),
                "unavailable": list(self.unavailable),
                "by_id": {k: c.to_dict() for k, c in self.by_id.items()},
                "by_type": {k: c.to_dict() for k, c in self.by_type.items()}}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChangeLog:
        since = _parse(data["since"])
        if since is None:
            raise ValueError(f"not a timestamp: {data['since']!r}")
        return cls(since, list(data.get("read") or []), list(data.get("unavailable") or []),
                   {k: Change.from_dict(v) for k, v in (data.get("by_id") or {}).items()},
                   {k: Change.from_dict(v) for k, v in (data.get("by_type") or {}).items()})

    def add(self, resource_ids: Iterable[str], resource_types: Iterable[str],
            change: Change) -> None:
        for index, keys in ((self.by_id, resource_ids), (self.by_type, resource_types)):
            for key in {k.lower() for k in keys if k}:
                current = index.get(key)
                if current is None or change.at > current.at:
                    index[key] = change


async def read_change_log(tenant_id: str, since: dt.datetime, *, entra: bool = True,
                          client: GraphClient | None = None) -> ChangeLog:
    """One paged read of Intune's audit log (and of the directory's when ``entra``), filtered
    to events at or after ``since`` (a naive datetime is UTC)."""
    client = client or get_graph_client()
    since = since.replace(tzinfo=dt.UTC) if since.tzinfo is None else since.astimezone(dt.UTC)
    changes = ChangeLog(since)
    sources = [(INTUNE, INTUNE_PATH, _intune_change)]
    if entra:
        sources.append((DIRECTORY, DIRECTORY_PATH, _directory_change))
    await asyncio.gather(*(_read(client, tenant_id, changes, *source) for source in sources))
    changes.read.sort()
    changes.unavailable.sort()
    return changes


async def _read(client: GraphClient, tenant_id: str, changes: ChangeLog, source: str,
                where: tuple[str, str], parse: Parse) -> None:
    version, path = where
    params = {"$filter": f"activityDateTime ge {_iso(changes.since)}"}
    try:
        async for page in client.iter_pages(tenant_id, path, version=version, params=params):
            for event in page:
                found = parse(tenant_id, event)
                if found is not None and found[2].at >= changes.since:
                    changes.add(*found)
    except GraphForbidden as exc:
        log.warning("audit log %s of tenant %s unreadable (%s): changes there stay "
                    "unattributed", source, tenant_id, exc.code)
        changes.unavailable.append(source)
        return
    changes.read.append(source)


def _intune_change(tenant_id: str, event: dict[str, Any]
                   ) -> tuple[list[str], list[str], Change] | None:
    if str(event.get("activityResult") or "").lower() != "success" or \
            str(event.get("activityOperationType") or "").lower() == "get":
        return None
    at = _parse(event.get("activityDateTime"))
    actor = event.get("actor") if isinstance(event.get("actor"), dict) else {}
    resources = [r for r in event.get("resources") or [] if isinstance(r, dict)]
    if at is None or not resources:
        return None
    kind = str(actor.get("auditActorType") or actor.get("type") or "").lower()
    upn, app = actor.get("userPrincipalName"), actor.get("applicationDisplayName")
    if kind == "partner" or actor.get("remoteTenantId"):
        who, actor_type = upn or actor.get("remoteUserId"), "partner"
    elif kind == "itpro" or (kind != "application" and upn):
        who, actor_type = upn or actor.get("userId"), "user"
    else:
        who, actor_type = app or actor.get("applicationId"), "app"
    activity = event.get("displayName") or event.get("activityType") or event.get("activity")
    return ([str(r.get("resourceId") or "") for r in resources],
            [str(r.get("auditResourceType") or r.get("type") or "") for r in resources],
            Change(who, actor_type, at, activity))


def _directory_change(tenant_id: str, event: dict[str, Any]
                      ) -> tuple[list[str], list[str], Change] | None:
    if str(event.get("result") or "").lower() != "success":
        return None
    at = _parse(event.get("activityDateTime"))
    targets = [t for t in event.get("targetResources") or [] if isinstance(t, dict)]
    initiated = event.get("initiatedBy") if isinstance(event.get("initiatedBy"), dict) else {}
    user, app = initiated.get("user"), initiated.get("app")
    if at is None or not targets:
        return None
    if isinstance(user, dict) and (user.get("userPrincipalName") or user.get("id")):
        home = str(user.get("homeTenantId") or "").lower()
        who = user.get("userPrincipalName") or user.get("displayName") or user.get("id")
        actor_type = "partner" if home and home != tenant_id.lower() else "user"
    elif isinstance(app, dict):
        who, actor_type = app.get("displayName") or app.get("appId"), "app"
    else:
        return None
    return ([str(t.get("id") or "") for t in targets], [],
            Change(who, actor_type, at, event.get("activityDisplayName")))


def _parse(value: Any) -> dt.datetime | None:
    """Graph's DateTimeOffset (up to 7 fractional digits) as an aware UTC datetime."""
    m = _DATETIME.fullmatch(value) if isinstance(value, str) else None
    if m is None:
        return None
    fraction = (m.group(2) or ".0")[1:]
    zone = m.group(3) or "Z"
    parsed = dt.datetime.fromisoformat(f"{m.group(1)}.{(fraction + '000000')[:6]}"
                                       f"{'+00:00' if zone == 'Z' else zone}")
    return parsed.astimezone(dt.UTC)


def _iso(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
