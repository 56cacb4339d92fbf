"""Audit logs: every write the simulator takes leaves one event, in the log Graph keeps for it.

- Intune types (``deviceManagement…``, ``deviceAppManagement/…``) → an ``auditEvent`` at
  ``deviceManagement/auditEvents`` (beta and v1.0; Graph's auditEvent, auditActor and
  auditResource pages); the Entra types (``identity/…``, ``policies/…``, ``groups``,
  ``identityGovernance/…``: every other path) → a ``directoryAudit`` at
  ``auditLogs/directoryAudits`` (v1.0 and beta).
- The caller is who Graph would name: a token-authenticated write is the app's
  (``auditActorType`` ``Application``; ``initiatedBy.app``); a change through the control API
  (``sim.drift``) is a named user's, as if made in the portal (``ItPro``, with the Intune
  portal's application; ``initiatedBy.user``) or a GDAP partner technician's: Intune marks
  them ``Partner`` with ``remoteTenantId`` / ``remoteUserId`` (the delegated partner's tenant
  and user, as Graph's cloudPcAuditActor documents for the same service); the directory log
  documents no partner marker in v1.0 — its wire carries ``homeTenantId`` /
  ``homeTenantName`` on ``initiatedBy.user`` (beta's auditUserIdentity documents them), and
  Entra shows a GDAP technician as "{partner} Technician", username ``user_{object id}``.
- Only writes that succeed are logged. Timestamps have Graph's 7 fractional digits.
- Both lists page (``@odata.nextLink``; ``$top``), newest first unless ``$orderby=
  activityDateTime asc``, and take ``$filter`` clauses joined by ``and``: ``activityDateTime``
  compared (``eq ne gt ge lt le``) with an unquoted DateTimeOffset (a quoted one is Graph's
  400), ``eq`` / ``ne`` on string properties (``initiatedBy/user/userPrincipalName`` paths
  too) and ``resources/any(r:r/resourceId eq '…')`` / ``targetResources/any(t:t/id eq '…')``.
- Each tenant keeps its events in memory, at most ``max_events`` per log and for Graph's
  retention (``retention_days``: 365 for Intune, 30 for the directory).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import catalog
from .odata import GraphError, bad_request, parse_query

if TYPE_CHECKING:
    from .graph import GraphEngine, GraphRequest, GraphResponse
    from .spec import TypeSpec
    from .store import Tenant

INTUNE, DIRECTORY = "intune", "directory"
RETENTION_DAYS = {INTUNE: 365.0, DIRECTORY: 30.0}
MAX_EVENTS = 20_000
APP_NAME = "PolicyVault"
# The application Intune names on a change made in its admin center (a live auditEvent).
PORTAL_APP = ("5926fc8e-304e-4f59-8bed-58ca97cc39a4", "Microsoft Intune portal extension")
_PATHS = {("devicemanagement", "auditevents"): (INTUNE, "deviceManagement/auditEvents"),
          ("auditlogs", "directoryaudits"): (DIRECTORY, "auditLogs/directoryAudits")}
_NS = uuid.UUID("6b1e2f0a-3c4d-4e5f-8a9b-0c1d2e3f4a5b")
_VALUE_LIMIT = 200


# ---- who ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Actor:
    """Who made a change: ``kind`` is ``app``, ``user`` (a tenant admin) or ``partner``."""

    kind: str
    app_id: str | None = None
    app_name: str | None = None
    upn: str | None = None
    user_id: str | None = None
    display_name: str | None = None
    home_tenant_id: str | None = None  # a partner's own tenant
    home_tenant_name: str | None = None

    @classmethod
    def app(cls, app_id: str) -> Actor:
        return cls("app", app_id=app_id, app_name=APP_NAME)

    @classmethod
    def from_control(cls, tenant: Tenant, params: dict[str, Any] | None) -> Actor:
        """``{"upn", "type": "user"|"partner", "display_name"?, "tenant_id"?,
        "tenant_name"?}`` from the control API; none: the tenant's portal admin."""
        params = dict(params or {"upn": f"admin@{tenant.domain}"})
        upn, kind = params.get("upn"), params.get("type", "user")
        if not isinstance(upn, str) or "@" not in upn:
            raise ValueError("actor.upn must be a user principal name")
        if kind not in ("user", "partner"):
            raise ValueError("actor.type must be 'user' or 'partner'")
        user_id = str(uuid.uuid5(_NS, f"user:{upn.lower()}"))
        name = params.get("display_name") or upn.split("@", 1)[0].replace(".", " ").title()
        if kind == "user":
            return cls("user", upn=upn, user_id=user_id, display_name=name,
                       home_tenant_id=tenant.id, home_tenant_name=tenant.display_name)
        domain = upn.split("@", 1)[1].lower()
        return cls("partner", upn=upn, user_id=user_id, display_name=name,
                   home_tenant_id=params.get("tenant_id") or str(uuid.uuid5(_NS, domain)),
                   home_tenant_name=params.get("tenant_name") or domain)


def _intune_actor(tenant: Tenant, actor: Actor) -> dict[str, Any]:
    kind = {"app": "Application", "user": "ItPro", "partner": "Partner"}[actor.kind]
    app_id, app_name = (actor.app_id, actor.app_name) if actor.kind == "app" else PORTAL_APP
    partner = actor.kind == "partner"
    return {"type": kind, "auditActorType": kind,
            "userPermissions": [] if actor.kind == "app" else ["*"],
            "applicationId": app_id, "applicationDisplayName": app_name,
            "userPrincipalName": actor.upn, "servicePrincipalName": None, "ipAddress": None,
            "userId": actor.user_id, "userRoleScopeTags": [],
            "remoteTenantId": actor.home_tenant_id if partner else None,
            "remoteUserId": actor.user_id if partner else None}


def _initiated_by(tenant: Tenant, actor: Actor) -> dict[str, Any]:
    if actor.kind == "app":
        return {"user": None, "app": {
            "appId": actor.app_id, "displayName": actor.app_name,
            "servicePrincipalId": str(uuid.uuid5(_NS, f"sp:{tenant.id}:{actor.app_id}")),
            "servicePrincipalName": actor.app_name}}
    user = {"id": actor.user_id, "displayName": actor.display_name,
            "userPrincipalName": actor.upn, "ipAddress": None, "userType": "Member",
            "homeTenantId": actor.home_tenant_id, "homeTenantName": actor.home_tenant_name}
    if actor.kind == "partner":  # how Entra shows a GDAP technician in the customer tenant
        user.update(displayName=f"{actor.home_tenant_name} Technician",
                    userPrincipalName=f"user_{(actor.user_id or '').replace('-', '')}")
    return {"user": user, "app": None}


# ---- what -----------------------------------------------------------------------------------

@dataclass
class Change:
    """One successful write: ``verb`` in Intune's words (Create, Patch, Put, Delete, Action)."""

    spec: TypeSpec
    verb: str
    resource_id: str
    name: str | None
    odata_type: str | None
    action: str | None = None
    properties: list[tuple[str, Any, Any]] = field(default_factory=list)  # name, old, new


def log_of(spec: TypeSpec) -> str:
    return INTUNE if spec.path.split("/", 1)[0] in ("deviceManagement", "deviceAppManagement") \
        else DIRECTORY


def _entity(odata_type: str | None, spec: TypeSpec) -> str:
    name = (odata_type or spec.odata_types[0]).rsplit(".", 1)[-1]
    return name[:1].upper() + name[1:]


_COMPONENTS = (("deviceAppManagement/", "Application"), ("deviceManagement/role", "Role"),
               ("deviceManagement/deviceCompliance", "Compliance"),
               ("deviceManagement/compliancePolicies", "Compliance"),
               ("deviceManagement/deviceEnrollment", "Enrollment"),
               ("deviceManagement/windowsAutopilot", "Enrollment"),
               ("deviceManagement/intents", "DeviceIntent"),
               ("deviceManagement/virtualEndpoint", "CloudPC"))
# Entra: (loggedByService, category, noun, target type) per key; others are Core Directory
# policies named after their key.
_DIRECTORY = {
    "conditionalAccessPolicies": ("Conditional Access", "Policy", "conditional access policy"),
    "namedLocations": ("Conditional Access", "Policy", "named location"),
    "authenticationStrengthPolicies": ("Conditional Access", "Policy",
                                       "authentication strength policy"),
    "authenticationContextClassReferences": ("Conditional Access", "Policy",
                                             "authentication context"),
    "groups": ("Core Directory", "GroupManagement", "group"),
    "termsOfUseAgreements": ("Terms Of Use", "Policy", "terms of use"),
    "authenticationMethodsPolicy": ("Authentication Methods", "Policy",
                                    "authentication methods policy"),
    "crossTenantAccessPolicy": ("Core Directory", "CrossTenantAccessSettings",
                                "cross-tenant access setting"),
}
_DIRECTORY_VERBS = {"Create": "Add", "Patch": "Update", "Put": "Update", "Delete": "Delete",
                    "Action": "Update"}


def _value(value: Any, *, as_json: bool) -> str | None:
    """A modified property's value as the logs show it: text, cut short (a big navigation is
    summarized rather than serialized on every write)."""
    if value is None and not as_json:
        return None
    if isinstance(value, (list, dict)) and len(value) > 20:
        return f"[{len(value)} entries]" if isinstance(value, list) else "{…}"
    text = value if isinstance(value, str) and not as_json else json.dumps(value)
    return text[:_VALUE_LIMIT]


def _intune_event(tenant: Tenant, actor: Actor, change: Change, now: str) -> dict[str, Any]:
    entity = _entity(change.odata_type, change.spec)
    path = change.spec.path + "/"
    component = next((c for prefix, c in _COMPONENTS if path.startswith(prefix)),
                     "DeviceConfiguration")
    activity = f"{change.action or change.verb} {entity}"
    return {"id": str(uuid.uuid4()), "displayName": activity, "componentName": component,
            "actor": _intune_actor(tenant, actor), "activity": None, "activityDateTime": now,
            "activityType": activity, "activityOperationType": change.verb,
            "activityResult": "Success", "correlationId": str(uuid.uuid4()),
            "resources": [{"displayName": change.name, "type": entity,
                           "auditResourceType": entity, "resourceId": change.resource_id,
                           "modifiedProperties": [
                               {"displayName": n, "oldValue": _value(o, as_json=False),
                                "newValue": _value(v, as_json=False)}
                               for n, o, v in change.properties]}],
            "category": component}


def _directory_event(tenant: Tenant, actor: Actor, change: Change, now: str) -> dict[str, Any]:
    spec = change.spec
    words = re.sub(r"(?<!^)([A-Z])", r" \1", spec.key).lower().removesuffix("s")
    service, category, noun = _DIRECTORY.get(spec.key, ("Core Directory", "Policy", words))
    verb = _DIRECTORY_VERBS[change.verb]
    correlation = str(uuid.uuid4())
    return {"id": f"Directory_{correlation}_{uuid.uuid4().hex[:8]}", "category": category,
            "correlationId": correlation, "result": "success", "resultReason": "",
            "activityDisplayName": f"{verb} {noun}", "activityDateTime": now,
            "loggedByService": service, "operationType": verb,
            "initiatedBy": _initiated_by(tenant, actor),
            "targetResources": [{"id": change.resource_id, "displayName": change.name,
                                 "type": "Group" if spec.key == "groups" else "Policy",
                                 "userPrincipalName": None, "groupType": None,
                                 "modifiedProperties": [
                                     {"displayName": n, "oldValue": _value(o, as_json=True),
                                      "newValue": _value(v, as_json=True)}
                                     for n, o, v in change.properties]}],
            "additionalDetails": []}


# ---- the logs -------------------------------------------------------------------------------

def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _stamp(at: dt.datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"  # Graph's 7 fractional digits


@dataclass
class AuditTrail:
    """One tenant's two logs, oldest first, bounded by count and by retention."""

    retention_days: dict[str, float] = field(default_factory=lambda: dict(RETENTION_DAYS))
    max_events: int = MAX_EVENTS
    logs: dict[str, deque[tuple[dt.datetime, dict[str, Any]]]] = field(
        default_factory=lambda: {INTUNE: deque(), DIRECTORY: deque()})

    def record(self, tenant: Tenant, actor: Actor, change: Change,
               at: dt.datetime | None = None) -> dict[str, Any]:
        at = at or _now()
        log = log_of(change.spec)
        build = _intune_event if log == INTUNE else _directory_event
        event = build(tenant, actor, change, _stamp(at))
        entries = self.logs[log]
        entries.append((at, event))
        while len(entries) > self.max_events:
            entries.popleft()
        self._prune(log, at)
        return event

    def events(self, log: str, now: dt.datetime | None = None) -> list[dict[str, Any]]:
        """The log's retained events, newest first."""
        self._prune(log, now or _now())
        return [event for _, event in reversed(self.logs[log])]

    def _prune(self, log: str, now: dt.datetime) -> None:
        entries = self.logs[log]
        oldest = now - dt.timedelta(days=self.retention_days[log])
        while entries and entries[0][0] < oldest:
            entries.popleft()


# ---- recording writes -----------------------------------------------------------------------

def handle(engine: GraphEngine, tenant: Tenant, req: GraphRequest, actor: Actor, *,
           write: bool) -> GraphResponse:
    """``engine.handle(req)``, the audit lists served first; a ``write`` that succeeds leaves
    its event, with ``actor`` as the caller."""
    segments = [s for s in req.path.split("/") if s]
    served = _PATHS.get(tuple(s.lower() for s in segments[:2]))
    if served is not None:
        return _serve(engine, tenant, req, *served, segments[2:])
    resolved = catalog.resolve(segments) if write else None
    if resolved is None:
        return engine.handle(tenant, req)
    spec = resolved.spec
    item_id = spec.key if spec.singleton else resolved.item_id
    rest = [s for s in (resolved.item_id, *resolved.rest) if s] if spec.singleton \
        else resolved.rest
    collection_action = item_id is not None and not rest and \
        item_id in dict(spec.collection_handlers)
    before = tenant.find(spec, item_id, req.version) \
        if item_id is not None and not collection_action else None
    body = req.body if isinstance(req.body, dict) else {}
    # A write replaces the values it names (never changes them in place): no copy needed.
    old = {k: before.get(k) for k in body} if before is not None else {}
    result = engine.handle(tenant, req)
    change = _change(tenant, spec, req.method.upper(), before, item_id, rest, result)
    if change is not None:
        if change.verb in ("Create", "Patch", "Put") and not rest:
            change.properties = [(k, old.get(k), v) for k, v in body.items()
                                 if not k.startswith("@")]
        tenant.audit.record(tenant, actor, change)
    return result


def _change(tenant: Tenant, spec: TypeSpec, method: str, before: dict[str, Any] | None,
            item_id: str | None, rest: list[str], result: GraphResponse) -> Change | None:
    created = result.body.get("id") if result.status == 201 and isinstance(result.body, dict) \
        else None
    if before is None and method == "PATCH":  # an upsert: the client chose the id
        created = item_id
    made = _locate(tenant, spec, created) \
        if created and (before is None or created != item_id) else None
    if made is not None:  # a POST that made an object (an item action may make another type)
        new_spec, obj = made
        return Change(new_spec, "Create", str(obj.get("id") or created),
                      obj.get(new_spec.name_prop), obj.get("@odata.type"))
    if before is None:
        return None
    name, odata_type = before.get(spec.name_prop), before.get("@odata.type")
    resource_id = str(before.get("id") or item_id)
    if not rest:
        verb = {"DELETE": "Delete", "PUT": "Put"}.get(method, "Patch")
        return Change(spec, verb, resource_id, name, odata_type)
    handlers = dict(spec.handlers)
    if rest[0] == "assign" or "/".join(rest) in handlers or rest[0] in handlers:
        return Change(spec, "Action", resource_id, name, odata_type, action=rest[-1])
    verb = {"POST": "Create", "DELETE": "Delete"}.get(method, "Patch")  # a navigation entry
    return Change(spec, verb, resource_id, name, odata_type)


def _locate(tenant: Tenant, spec: TypeSpec, item_id: str
            ) -> tuple[TypeSpec, dict[str, Any]] | None:
    """The object ``item_id`` names: in ``spec``'s collection, else wherever it was made (an
    item action such as ``createInstance`` makes an object of another type)."""
    for candidate in (spec, *catalog.TYPES):
        obj = tenant.find(candidate, item_id)
        if obj is not None and not candidate.union_of:
            return candidate, obj
    return None


def record_drift(tenant: Tenant, spec: TypeSpec, obj: dict[str, Any], op: str,
                 patch: dict[str, Any] | None, actor: Actor) -> None:
    """The event an out-of-band change (``Store.drift``) leaves, ``obj`` as before it."""
    verb = {"delete": "Delete", "reassign": "Action"}.get(op, "Patch")
    properties = [(k, obj.get(k), v) for k, v in (patch or {}).items()] if op == "modify" else []
    tenant.audit.record(tenant, actor, Change(
        spec, verb, str(obj.get("id") or spec.key), obj.get(spec.name_prop),
        obj.get("@odata.type"), action="assign" if op == "reassign" else None,
        properties=properties))


# ---- serving the logs -----------------------------------------------------------------------

_DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$")
_COMPARE = re.compile(r"^\s*activityDateTime\s+(eq|ne|gt|ge|lt|le)\s+(\S+)\s*$", re.I)
_STRING = re.compile(r"^\s*([A-Za-z][\w/]*)\s+(eq|ne)\s+'((?:[^']|'')*)'\s*$")
_ANY = re.compile(r"^\s*(resources|targetResources)/any\(\s*(\w+)\s*:\s*\2/(resourceId|id)\s+"
                  r"eq\s+'((?:[^']|'')*)'\s*\)\s*$")
_OPERATORS = {"eq": "Equal", "ne": "NotEqual", "gt": "GreaterThan", "ge": "GreaterThanOrEqual",
              "lt": "LessThan", "le": "LessThanOrEqual"}


def parse_time(text: str) -> dt.datetime:
    """An OData DateTimeOffset (any number of fractional digits) as an aware datetime."""
    if not _DATETIME.match(text):
        raise ValueError(text)
    head, zone = (text[:-1], "+00:00") if text.endswith("Z") else (text[:-6], text[-6:])
    if "." in head:
        head, fraction = head.split(".", 1)
        head = f"{head}.{(fraction + '000000')[:6]}"
    return dt.datetime.fromisoformat(head + zone)


def _clause(text: str) -> Any:
    if m := _COMPARE.match(text):
        op, literal = m.group(1).lower(), m.group(2)
        if literal.startswith("'"):
            raise bad_request("A binary operator with incompatible types was detected. Found "
                              "operand types 'Edm.DateTimeOffset' and 'Edm.String' for operator "
                              f"kind '{_OPERATORS[op]}'.")
        try:
            at = parse_time(literal)
        except ValueError:
            raise bad_request(f"Invalid filter clause: '{literal}' is not a valid "
                              "DateTimeOffset.") from None
        return ("time", op, at)
    if m := _ANY.match(text):
        return ("any", m.group(1), m.group(3), m.group(4).replace("''", "'"))
    if m := _STRING.match(text):
        return ("string", m.group(1).split("/"), m.group(2), m.group(3).replace("''", "'"))
    raise bad_request(f"Invalid filter clause: syntax error or unsupported expression in "
                      f"'{text.strip()}'.")


def _matches(event: dict[str, Any], clauses: list[Any]) -> bool:
    for clause in clauses:
        if clause[0] == "time":
            at, wanted = parse_time(event["activityDateTime"]), clause[2]
            ok = {"eq": at == wanted, "ne": at != wanted, "gt": at > wanted,
                  "ge": at >= wanted, "lt": at < wanted, "le": at <= wanted}[clause[1]]
        elif clause[0] == "any":
            _, nav, prop, wanted = clause
            ok = any(r.get(prop) == wanted for r in event.get(nav) or [])
        else:
            _, path, op, wanted = clause
            value: Any = event
            for part in path:
                value = value.get(part) if isinstance(value, dict) else None
            ok = (value == wanted) == (op == "eq")
        if not ok:
            return False
    return True


def _serve(engine: GraphEngine, tenant: Tenant, req: GraphRequest, log: str, path: str,
           rest: list[str]) -> GraphResponse:
    from .graph import GraphResponse

    if req.method.upper() != "GET":
        raise GraphError(405, "BadRequest", f"The HTTP method '{req.method.upper()}' is not "
                                            "supported on this resource.")
    events = tenant.audit.events(log)
    ctx = f"{engine.base_url}/{req.version}/$metadata#{path}"
    if rest:
        found = next((e for e in events if e["id"] == rest[0]), None) if len(rest) == 1 \
            else None
        if found is None:
            raise GraphError(404, "ResourceNotFound", f"Resource '{'/'.join(rest)}' does not "
                                                      "exist.")
        return GraphResponse(200, {"@odata.context": f"{ctx}/$entity", **copy.deepcopy(found)})
    special: dict[str, list[tuple[str, str]]] = {"$filter": [], "$orderby": []}
    plain: list[tuple[str, str]] = []
    for name, value in req.query:
        special.get(name, plain).append((name, value))
    q = parse_query(plain)
    if q.expand:
        raise bad_request(f"Expanding navigation properties is not supported on '{path}'.")
    clauses = [_clause(part) for _, text in special["$filter"]
               for part in re.split(r"\s+and\s+", text.strip(), flags=re.I)]
    for _, order in special["$orderby"]:
        if not re.fullmatch(r"\s*activityDateTime(\s+(asc|desc))?\s*", order, re.I):
            raise bad_request(f"Ordering by '{order}' is not supported.")
        if order.strip().lower().endswith("asc"):
            events.reverse()
    items = [e for e in events if _matches(e, clauses)]
    if q.select:
        items = [{k: v for k, v in e.items() if k in q.select or k == "id"} for e in items]
    q.passthrough += [*special["$filter"], *special["$orderby"]]
    url = f"{engine.base_url}/{req.version}/{path}"
    return GraphResponse(200, copy.deepcopy(engine.page(items, q, engine.page_size, url, ctx)))
