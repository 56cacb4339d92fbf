"""Graph singletons: one object at a path (``TypeSpec.singleton``), served as Graph does.

- ``GET {path}`` answers the object with a singleton's ``@odata.context`` (no ``value``);
  navigations only where expanded (``ReadRules.auto_expand`` ones always, as Graph expands
  the authentication methods policy's configurations by itself);
- ``PATCH`` changes the properties it names; a ``put_replace`` singleton takes only ``PUT``,
  which replaces them all and needs every ``required_on_create`` one (the device registration
  policy); ``POST`` and ``DELETE`` are refused (405);
- a write naming a property the object does not have, a read-only one, a navigation or a value
  of another JSON kind than the stored one is a 400 — nothing is stored;
- ``parts`` (single-valued navigations: ``…/default``) answer GET and PATCH;
- ``subs`` (navigation collections) page like any navigation and address entries by their
  ``key_prop``; ``fixed`` ones (one per authentication method) are only PATCHed, with their
  ``@odata.type``; the others also take POST (409 for a key that exists) and DELETE;
- ``handlers`` answer ``POST {path}/{their path}``.
"""

from __future__ import annotations

import copy
import re
from typing import TYPE_CHECKING, Any

from . import graph, validate
from .odata import GraphError, Query, bad_request
from .spec import SubSpec, TypeSpec
from .store import Tenant, touch

if TYPE_CHECKING:
    from .graph import GraphEngine, GraphRequest, GraphResponse

_ANNOTATION = re.compile(r"^@odata\.(context|etag|id|editLink)$")


def serve(engine: GraphEngine, tenant: Tenant, spec: TypeSpec, segments: list[str],
          method: str, req: GraphRequest, q: Query) -> GraphResponse:
    """Answer ``method`` on the singleton ``spec`` or on ``segments`` under it."""
    obj = tenant.find(spec, spec.key)
    if obj is None:
        raise GraphError(404, "ResourceNotFound",
                         f"Resource '{spec.path.rsplit('/', 1)[-1]}' does not exist.")
    ctx = f"{engine.base_url}/{req.version}/$metadata#{spec.path}"
    if not segments:
        return _root(engine, spec, obj, method, req.body, q, ctx)
    handler = dict(spec.handlers).get("/".join(segments))
    if handler is not None:
        if method != "POST":
            raise _not_allowed(method)
        return handler(engine, tenant, spec, obj, req.body)
    head, rest = segments[0], segments[1:]
    part = next((p for p in spec.parts if p.name == head), None)
    if part is not None and not rest:
        return _part(spec, obj, part, method, req.body, f"{ctx}/{head}")
    sub = spec.sub(head)
    if sub is not None and len(rest) <= 1:
        url = f"{engine.base_url}/{req.version}/{spec.path}/{head}"
        return _navigation(engine, spec, obj, sub, rest, method, req.body, q, url,
                           f"{ctx}/{head}")
    unknown = head if part is None and sub is None else rest[-1]
    raise bad_request(f"Resource not found for the segment '{unknown}'.")


def _root(engine: GraphEngine, spec: TypeSpec, obj: dict[str, Any], method: str, raw: Any,
          q: Query, ctx: str) -> GraphResponse:
    navs = _navigations(spec)
    if method == "GET":
        expand = {**{name: {} for name in spec.reads.auto_expand}, **q.expand}
        body = engine.present(spec, obj, expand, q.select,
                              navs=frozenset(p.name for p in spec.parts))
        selected = f"({','.join(q.select)})" if q.select else ""
        entity = "/$entity" if "/" in spec.path else ""  # a contained singleton
        return graph.GraphResponse(200, {"@odata.context": f"{ctx}{selected}{entity}",
                                         **copy.deepcopy(body)})
    if not spec.writable:
        raise bad_request(f"Write requests are not supported on '{spec.path}'.")
    if method == "PATCH" and not spec.put_replace:
        obj.update(_checked(obj, raw, spec.read_only | navs))
        touch(spec, obj)
        return graph.GraphResponse(204)
    if method == "PUT" and spec.put_replace:
        body = _checked(obj, raw, spec.read_only | navs)
        missing = [k for k in spec.required_on_create if k not in body]
        if missing:
            raise bad_request(f"The property '{missing[0]}' is required.")
        kept = {k: v for k, v in obj.items()
                if k in spec.read_only or k in navs or k in ("id", "@odata.type")}
        obj.clear()
        obj.update({**kept, **body})
        touch(spec, obj)
        return graph.GraphResponse(200, {"@odata.context": f"{ctx}/$entity",
                                         **engine.present(spec, obj, {}, None, navs=navs)})
    raise _not_allowed(method)


def _part(spec: TypeSpec, obj: dict[str, Any], part: SubSpec, method: str, raw: Any,
          ctx: str) -> GraphResponse:
    value = obj.setdefault(part.name, {"@odata.type": part.odata_type})
    if method == "GET":
        return graph.GraphResponse(200, {"@odata.context": f"{ctx}/$entity",
                                         **copy.deepcopy(value)})
    if method != "PATCH":
        raise _not_allowed(method)
    value.update(_checked(value, raw, part.read_only))
    if "isServiceDefault" in value:  # Graph: false once the default settings are customized
        value["isServiceDefault"] = False
    touch(spec, obj)
    return graph.GraphResponse(204)


def _navigation(engine: GraphEngine, spec: TypeSpec, obj: dict[str, Any], sub: SubSpec,
                rest: list[str], method: str, raw: Any, q: Query, url: str,
                ctx: str) -> GraphResponse:
    entries: list[dict[str, Any]] = obj.setdefault(sub.name, [])
    if not rest:
        if method == "GET":
            presented = [engine.present(None, e, q.expand, q.select) for e in entries]
            return graph.GraphResponse(200, engine.page(presented, q, engine.sub_page_size,
                                                        url, ctx))
        if method != "POST" or sub.fixed:
            raise _not_allowed(method)
        body = _checked(None, raw, sub.read_only)
        key = body.get(sub.key_prop)
        if not isinstance(key, str) or not key:
            raise bad_request(f"The property '{sub.key_prop}' is required.")
        if _find(entries, sub, key) is not None:
            raise GraphError(409, "Conflict", f"An entry with {sub.key_prop} '{key}' exists.")
        created = {**{k: None for k in sub.read_only}, **body}
        entries.append(created)
        touch(spec, obj)
        return graph.GraphResponse(201, {"@odata.context": f"{ctx}/$entity",
                                         **copy.deepcopy(created)})
    found = _find(entries, sub, rest[0])
    if found is None:
        raise GraphError(404, "ResourceNotFound",
                         f"No {sub.name} entry with {sub.key_prop} '{rest[0]}' exists.")
    if method == "GET":
        return graph.GraphResponse(200, {"@odata.context": f"{ctx}/$entity",
                                         **copy.deepcopy(found)})
    if method == "PATCH":
        found.update(_checked(found, raw, sub.read_only | {sub.key_prop},
                              require_type=sub.fixed))
    elif method == "DELETE" and not sub.fixed:
        entries.remove(found)
    else:
        raise _not_allowed(method)
    touch(spec, obj)
    return graph.GraphResponse(204)


# ---- validation ---------------------------------------------------------------------------------

def _checked(target: dict[str, Any] | None, raw: Any, read_only: frozenset[str] | set[str], *,
             require_type: bool = False) -> dict[str, Any]:
    """A write body Graph would accept for ``target`` (None: a new entry), without its
    annotations and ``id``; a 400 otherwise."""
    body = copy.deepcopy(validate.require_object(raw))
    for key in [k for k in body if _ANNOTATION.match(k)]:
        body.pop(key)
    validate.no_read_only(body, frozenset(read_only))
    body.pop("id", None)
    odata_type = body.pop("@odata.type", None)
    expected = (target or {}).get("@odata.type")
    if require_type and odata_type is None:
        raise bad_request("The '@odata.type' property is required in the request body.")
    if odata_type is not None and (not isinstance(odata_type, str)
                                   or (expected is not None and odata_type != expected)):
        raise bad_request(f"Invalid type '{odata_type}': expected '{expected}'.")
    for key, value in body.items():
        if target is None:
            continue
        if key not in target:
            raise bad_request(f"Could not find a property named '{key}' on type "
                              f"'{str(expected or 'entity').lstrip('#')}'.")
        if not _same_kind(target[key], value):
            raise bad_request(f"Cannot convert the value of property '{key}' to the expected "
                              "type.")
    return body


def _same_kind(current: Any, value: Any) -> bool:
    if current is None or value is None:
        return True
    if isinstance(current, bool) or isinstance(value, bool):
        return isinstance(current, bool) and isinstance(value, bool)
    for kind in (dict, list, str, (int, float)):
        if isinstance(current, kind):
            return isinstance(value, kind)
    return True


def _find(entries: list[dict[str, Any]], sub: SubSpec, key: str) -> dict[str, Any] | None:
    lowered = key.lower()
    return next((e for e in entries if str(e.get(sub.key_prop, "")).lower() == lowered), None)


def _navigations(spec: TypeSpec) -> frozenset[str]:
    return spec.nav_names | {p.name for p in spec.parts}


def _not_allowed(method: str) -> GraphError:
    return GraphError(405, "BadRequest", f"The HTTP method '{method}' is not supported on this "
                                         "resource.")
