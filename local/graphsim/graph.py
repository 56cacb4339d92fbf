"""Graph collection semantics, independent of HTTP: one engine for every TypeSpec.

Choices (documented because real Graph is not uniform):
- top-level collections page at `page_size` (default 100) unless the type's `ReadRules` say
  otherwise, navigation collections at 25; `$top` lowers or raises the page (capped at 999);
- a navigation included through `$expand` is returned whole, never paged (``expand_limit``
  cuts it silently, to test that clients detect truncation);
- per type, `ReadRules` (catalog.py) reproduce where Graph is not uniform: lists that refuse
  `$expand`, navigations expanded as `[]`, smaller pages when big navigations are expanded,
  navigations without a `GET {id}/{name}` route, properties only a single GET carries;
- POST answers 201 with the object; PATCH, PUT, DELETE and the write actions answer 204,
  `/assign` answers 200 with the new assignments;
- a singleton (one object at a path, not a collection) is served by `singleton.py`;
- navigations may be written inline only where Graph allows it (settings catalog `settings`
  on POST/PUT, compliance `scheduledActionsForRule` on POST); everything else goes through
  its action (`/assign`, `scheduleActionsForRules`, `updateDefinitionValues`);
- a navigation of links (`SubSpec.ref_target`) reads as the linked objects and is written
  through OData `$ref` (see `navigation.ref_route`).
"""

from __future__ import annotations

import copy
import re
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from . import catalog, secrets, seed, singleton, validate
from .catalog import SubSpec, TypeSpec
from .licences import refusal as unlicensed
from .odata import (
    GraphError,
    Query,
    bad_request,
    encode_skiptoken,
    intune_message,
    matches,
    parse_query,
)
from .store import Tenant, touch

MAX_TOP = 999
SUB_PAGE_SIZE = 25
_ANNOTATION = re.compile(r"^@odata\.(context|etag|id|editLink)$|@odata\.bind$")


@dataclass
class GraphRequest:
    method: str
    version: str
    path: str  # after the version, no leading slash
    query: list[tuple[str, str]] = field(default_factory=list)
    body: Any = None  # parsed JSON, or None when there was no body
    roles: tuple[str, ...] = ()  # the app token's roles (functions that need a permission)


@dataclass
class GraphResponse:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


def unknown_segment(segments: list[str]) -> GraphError:
    known = {p for t in catalog.TYPES for p in _prefixes(t.path)}
    for i in range(len(segments)):
        if "/".join(s.lower() for s in segments[: i + 1]) not in known:
            return bad_request(f"Resource not found for the segment '{segments[i]}'.")
    return bad_request(f"Resource not found for the segment '{segments[-1]}'.")


def _prefixes(path: str) -> list[str]:
    parts = path.lower().split("/")
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def not_found(spec: TypeSpec, item_id: str) -> GraphError:
    if spec.key == "groups":
        return GraphError(404, "Request_ResourceNotFound",
                          f"Resource '{item_id}' does not exist or one of its queried "
                          "reference-property objects are not present.")
    if spec.path.startswith("identity/"):
        return GraphError(404, "ResourceNotFound",
                          f"The resource with id '{item_id}' was not found in {spec.path}.")
    return GraphError(404, "ResourceNotFound", intune_message(f"{spec.path}('{item_id}')"))


class GraphEngine:
    def __init__(self, base_url: str, page_size: int = 100, sub_page_size: int = SUB_PAGE_SIZE):
        self.base_url = base_url
        self.page_size = page_size
        self.sub_page_size = sub_page_size
        self.expand_limit: int | None = None  # entries an expanded navigation keeps

    # ---- entry ---------------------------------------------------------------------------
    def handle(self, tenant: Tenant, req: GraphRequest) -> GraphResponse:
        segments = [s for s in req.path.split("/") if s]
        if not segments:
            raise bad_request("Invalid request: no resource segment.")
        resolved = catalog.resolve(segments)
        if resolved is None:
            raise unknown_segment(segments)
        spec = resolved.spec
        if req.version not in spec.versions:
            raise bad_request(f"Resource not found for the segment '{spec.path.split('/')[-1]}'.")
        refused = unlicensed(tenant, spec)  # the workload's own 403 without its licence
        if refused is not None:
            raise refused
        q = parse_query(req.query)
        method = req.method.upper()
        if spec.singleton:
            under = [s for s in (resolved.item_id, *resolved.rest) if s]
            return singleton.serve(self, tenant, spec, under, method, req, q)
        ctx = f"{self.base_url}/{req.version}/$metadata#{spec.path}"
        if resolved.item_id is None:
            if method == "GET":
                return self.list_collection(tenant, spec, req, q, ctx)
            if method == "POST" and spec.post_creates:
                return self.create(tenant, spec, req.body, ctx)
            raise _method_not_allowed(method)
        item_id = resolved.item_id
        collection_action = dict(spec.collection_handlers).get(item_id)
        if collection_action is not None and not resolved.rest:
            if method != "POST":
                raise _method_not_allowed(method)
            return collection_action(self, tenant, spec, None, req.body)
        obj = tenant.find(spec, item_id, req.version)
        if obj is None and spec.upsert_on_patch and method == "PATCH" and not resolved.rest:
            if spec.client_ids and not re.fullmatch(spec.client_ids, item_id):
                raise bad_request(f"Invalid id '{item_id}' for '{spec.path}'.")
            self.create(tenant, spec, req.body, ctx, item_id=item_id)
            return GraphResponse(204)  # an upsert answers like an update
        if obj is None:
            raise not_found(spec, item_id)
        if not resolved.rest:
            return self.item(tenant, spec, obj, method, req, q, ctx)
        head = resolved.rest[0]
        if head == "assign" and len(resolved.rest) == 1:
            return self.assign(tenant, spec, obj, method, req.body, ctx)
        function = secrets.parse_function(head) if len(resolved.rest) == 1 else None
        served_by = dict(spec.functions).get(function[0]) if function else None
        if function is not None and served_by is not None:
            if method != "GET":
                raise _method_not_allowed(method)
            return served_by(self, tenant, spec, obj, function[1], req)
        handler = dict(spec.handlers).get(head)
        if handler is not None and len(resolved.rest) == 1:  # it checks what it writes
            if method != "POST":
                raise _method_not_allowed(method)
            return handler(self, tenant, spec, obj, req.body)
        sub = spec.sub(head)
        if sub is None:
            raise bad_request(f"Resource not found for the segment '{head}'.")
        from . import navigation  # it serves through this engine: imported once it exists

        return navigation.sub_route(self, tenant, spec, obj, sub, resolved.rest[1:], method,
                                    req, q,
                              f"{ctx}('{item_id}')/{head}")

    # ---- reading -------------------------------------------------------------------------
    @staticmethod
    def served(tenant: Tenant, spec: TypeSpec, obj: dict[str, Any], q: Query
               ) -> dict[str, Any]:
        """The stored object as Graph reads it: references shown whole (``shown``) and
        links expanded when asked (``links``)."""
        return _linked(tenant, spec, _shown(tenant, spec, obj), q.expand)

    def present(self, spec: TypeSpec | None, obj: dict[str, Any], expand: dict[str, dict],
                select: list[str] | None, navs: frozenset[str] = frozenset(),
                singles: tuple[str, ...] = (), empty: frozenset[str] = frozenset(),
                omit: frozenset[str] = frozenset()) -> dict[str, Any]:
        """``obj`` as Graph shows it: navigations only where expanded (``empty`` ones as
        ``[]``), ``$select`` applied, ``omit`` properties as null."""
        nav_names = navs | (spec.nav_names if spec else frozenset()) | set(singles)
        hidden = spec.reads.select_only if spec else frozenset()
        unknown = set(expand) - nav_names
        if unknown:
            raise bad_request(f"Could not find a property named '{sorted(unknown)[0]}' on type "
                              f"'{(spec.odata_types[0][1:] if spec else 'entity')}'.")
        out: dict[str, Any] = {}
        for key, value in obj.items():
            if key in nav_names and key not in expand:
                continue
            if key in hidden and (select is None or key not in select):
                continue
            if select is not None and key not in select and key not in ("id", "@odata.type") \
                    and key not in expand:
                continue
            out[key] = None if key in omit else value  # shared, not copied: callers
            # serialize before any later write
        for name, nested in expand.items():
            sub = spec.sub(name) if spec else None
            value = obj.get(name)
            if name in empty:
                out[name] = []
            elif isinstance(value, list):
                inner = frozenset(sub.nested) if sub else frozenset()
                singles_inner = sub.single if sub else ()
                kept = value if self.expand_limit is None else value[:self.expand_limit]
                out[name] = [self.present(None, v, nested, None, inner, singles_inner)
                             for v in kept]
            elif isinstance(value, dict):
                out[name] = value
            else:
                out[name] = [] if sub is not None else None
        return out

    def page(self, items: list[dict[str, Any]], q: Query, default_size: int, req_url: str,
             ctx: str, cap: int | None = None) -> dict[str, Any]:
        """One page from ``$skiptoken``; ``cap`` bounds it whatever ``$top`` asks for."""
        if q.filter:
            items = [i for i in items if matches(i, q.filter)]
        size = min(q.top or default_size, MAX_TOP, cap or MAX_TOP)
        chunk = items[q.offset: q.offset + size]
        body: dict[str, Any] = {"@odata.context": ctx}
        if q.count:
            body["@odata.count"] = len(items)
        if q.offset + size < len(items):
            params = [*q.passthrough, ("$skiptoken", encode_skiptoken(q.offset + size))]
            if q.top is None:
                params.append(("$top", str(size)))
            body["@odata.nextLink"] = f"{req_url}?{urlencode(params, safe='$,()=')}"
        body["value"] = chunk
        return body

    def list_collection(self, tenant: Tenant, spec: TypeSpec, req: GraphRequest, q: Query,
                        ctx: str) -> GraphResponse:
        rules = spec.reads
        if q.expand and not rules.list_expand:
            raise bad_request("The query specified in the URI is not valid. Expanding "
                              f"navigation properties is not supported on '{spec.path}'.")
        presented = [self.present(spec, self.served(tenant, spec, o, q), q.expand, q.select,
                                  empty=rules.list_expand_empty, omit=rules.list_omits)
                     for o in tenant.items(spec, req.version)]
        url = f"{self.base_url}/{req.version}/{spec.path}"
        size = rules.page_size or self.page_size
        shrunk = [n for name, n in rules.expand_page_size if name in q.expand]
        return GraphResponse(200, self.page(presented, q, size, url, ctx,
                                            cap=min(shrunk) if shrunk else None))

    def item(self, tenant: Tenant, spec: TypeSpec, obj: dict[str, Any], method: str,
             req: GraphRequest, q: Query, ctx: str) -> GraphResponse:
        if method == "GET":
            body = {"@odata.context": f"{ctx}/$entity",
                    **self.present(spec, self.served(tenant, spec, obj, q), q.expand,
                                   q.select, empty=spec.reads.item_expand_empty)}
            return GraphResponse(200, body)
        _require_writable(spec)
        if method == "DELETE":
            if spec.key == "roleScopeTags" and obj.get("isBuiltIn"):
                raise bad_request("The built-in scope tag cannot be deleted.")
            tenant.collection(spec).pop(obj["id"], None)
            _unbind(tenant, spec, obj)
            return GraphResponse(204)
        if method == "PATCH":
            body = validate.write_body(tenant, spec, req.body, "patch", obj)
            obj.update(body)
            touch(spec, obj)
            return GraphResponse(204)
        if method == "PUT":
            if not spec.put_replace:
                raise _method_not_allowed(method)
            body = validate.write_body(tenant, spec, req.body, "put", obj)
            kept = {k: obj[k] for k in ("id", "@odata.type", spec.created_prop or "",
                                        "creationSource", "priorityMetaData", "assignments")
                    if k in obj}
            fresh = self.build(spec, body, kept)
            obj.clear()
            obj.update(fresh)
            touch(spec, obj)
            return GraphResponse(204)
        raise _method_not_allowed(method)

    # ---- writing -------------------------------------------------------------------------
    def build(self, spec: TypeSpec, body: dict[str, Any], kept: dict[str, Any]) -> dict:
        obj: dict[str, Any] = {"@odata.type": body.pop("@odata.type", None) or spec.odata_types[0]}
        obj.update(kept)
        obj.update(body)
        for sub in spec.subs:
            obj[sub.name] = _normalize_sub(sub, obj.get(sub.name) or [], obj["id"])
        if spec.key in ("configurationPolicies", "compliancePolicies"):
            obj["settingCount"] = len(obj["settings"])
        if spec.key == "configurationPolicies":
            obj.setdefault("creationSource", None)
            obj.setdefault("priorityMetaData", None)
            ref = obj.get("templateReference")
            ref = ref if isinstance(ref, dict) else {}
            obj["templateReference"] = catalog.template_reference(ref.get("templateId"))
        if "assignments" in obj and spec.key not in ("roleScopeTags",) and \
                spec.key in _IS_ASSIGNED_TYPES:
            obj["isAssigned"] = bool(obj["assignments"])
        return obj

    def create(self, tenant: Tenant, spec: TypeSpec, raw: Any, ctx: str,
               item_id: str | None = None) -> GraphResponse:
        """POST to the collection; or, with ``item_id``, a PATCH that creates the object under
        the id the client chose (``upsert_on_patch``; Graph then answers 204, see handle)."""
        _require_writable(spec)
        body = validate.write_body(tenant, spec, raw, "create")
        parent = validate.bound_parent(tenant, spec, body) if spec.bound_to else None
        now = seed.now_iso()
        kept: dict[str, Any] = {"id": item_id or _new_id(tenant, spec)}
        if spec.created_prop:
            kept[spec.created_prop] = now
        if spec.modified_prop:
            kept[spec.modified_prop] = now
        if spec.version_kind == "int":
            kept["version"] = 1
        elif spec.version_kind == "str":
            kept["version"] = f'"{uuid.uuid4().hex[:8]}"'
        if spec.scope_tag_prop and spec.scope_tag_prop not in body:
            kept[spec.scope_tag_prop] = ["0"]
        obj = self.build(spec, body, kept)
        tenant.collection(spec)[obj["id"]] = obj
        if parent is not None and spec.bound_to is not None:
            parent.setdefault(spec.bound_to.nav, []).append(obj)  # the same object, shown twice
        return GraphResponse(201, {"@odata.context": f"{ctx}/$entity",
                                   **self.present(spec, _shown(tenant, spec, obj), {}, None)})

    def assign(self, tenant: Tenant, spec: TypeSpec, obj: dict[str, Any], method: str,
               raw: Any, ctx: str) -> GraphResponse:
        if not spec.assign_keys:
            raise bad_request("Resource not found for the segment 'assign'.")
        if method != "POST":
            raise _method_not_allowed(method)
        _require_writable(spec)
        body = validate.require_object(raw)
        present = [k for k in spec.assign_keys if k in body]
        if not present:
            raise bad_request(f"The request body must contain '{spec.assign_keys[0]}'.")
        assignments: list[dict[str, Any]] = []
        for key in present:
            if not isinstance(body[key], list):
                raise bad_request(f"'{key}' must be an array.")
            for item in body[key]:
                validate.assignment(tenant, item)
                assignments.append(copy.deepcopy(item))
        sub = spec.sub("assignments")
        obj["assignments"] = _normalize_sub(sub, assignments, obj["id"]) if sub else assignments
        touch(spec, obj)
        return GraphResponse(200, {"@odata.context": f"{ctx}('{obj['id']}')/assignments",
                                   "value": copy.deepcopy(obj["assignments"])})

_IS_ASSIGNED_TYPES = {"configurationPolicies", "iosManagedAppProtections",
                      "androidManagedAppProtections", "windowsManagedAppProtections",
                      "targetedManagedAppConfigurations"}


def _method_not_allowed(method: str) -> GraphError:
    return GraphError(405, "BadRequest", f"The HTTP method '{method}' is not supported on this "
                                         "resource.")


def _shown(tenant: Tenant, spec: TypeSpec, obj: dict[str, Any]) -> dict[str, Any]:
    return spec.shown(tenant, obj) if spec.shown is not None else obj


def _require_writable(spec: TypeSpec) -> None:
    if not spec.writable:
        raise bad_request(f"Write requests are not supported on '{spec.path}'. Write to the "
                          "platform collection instead (e.g. iosManagedAppProtections).")


def _linked(tenant: Tenant, spec: TypeSpec, obj: dict[str, Any],
            expand: dict[str, dict]) -> dict[str, Any]:
    """``obj`` with each expanded link (stored as ``{"id"}``) replaced by the object it names
    (null once that is gone), and each expanded ``$ref`` navigation by the objects it links
    to (``Tenant.linked``)."""
    names = [(name, target) for name, target in spec.links if name in expand]
    refs = [sub for sub in spec.subs if sub.ref_target and sub.name in expand]
    if not names and not refs:
        return obj
    out = dict(obj)
    for name, target in names:
        link = obj.get(name)
        out[name] = tenant.data.get(target, {}).get(link.get("id")) \
            if isinstance(link, dict) else None
    for sub in refs:
        out[sub.name] = tenant.linked(sub, obj)
    return out


def _unbind(tenant: Tenant, spec: TypeSpec, obj: dict[str, Any]) -> None:
    """A deleted member of a bound collection leaves its parent's navigation; a deleted
    parent takes its members with it."""
    bound = spec.bound_to
    if bound is not None:
        for parent in tenant.data.get(bound.parent, {}).values():
            members = parent.get(bound.nav)
            if isinstance(members, list):
                parent[bound.nav] = [m for m in members if m.get("id") != obj["id"]]
    for child in catalog.TYPES:
        if child.bound_to is not None and child.bound_to.parent == spec.key:
            for member in obj.get(child.bound_to.nav) or []:
                tenant.collection(child).pop(member.get("id"), None)


def _new_id(tenant: Tenant, spec: TypeSpec) -> str:
    if spec.id_style == "int":
        numeric = [int(i) for i in tenant.collection(spec) if i.isdigit()]
        return str(max(numeric, default=0) + 1)
    return str(uuid.uuid4())


def _normalize_sub(sub: SubSpec | None, items: list[Any], parent_id: str,
                   keep_ids: bool = False) -> list[dict[str, Any]]:
    """Give sub-items server ids (client-sent ids are ignored) and their @odata.type."""
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        item = copy.deepcopy(item) if isinstance(item, dict) else {}
        for key in [k for k in item if _ANNOTATION.search(k)]:
            item.pop(key)
        if sub is not None:
            item.setdefault("@odata.type", sub.odata_type)
            if sub.id_style == "index":
                item["id"] = str(index)
            elif not keep_ids or "id" not in item:
                item["id"] = str(uuid.uuid4()) if sub.name != "assignments" else \
                    f"{parent_id}_{(item.get('target') or {}).get('groupId') or uuid.uuid4()}"
            if item["id"] in seen:
                item["id"] = f"{item['id']}_{index}"
            seen.add(item["id"])
            for nested in sub.nested:
                values = item.get(nested)
                item[nested] = [{**copy.deepcopy(n), "id": str(uuid.uuid4())}
                                for n in (values if isinstance(values, list) else [])
                                if isinstance(n, dict)]
        out.append(item)
    return out
