"""Navigation collections under an item (``settings``, ``assignments``, …) and OData
``$ref`` links (an app's ``categories``), served for :class:`~local.graphsim.graph.GraphEngine`.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from . import catalog, validate
from .graph import (
    GraphRequest,
    GraphResponse,
    _method_not_allowed,
    _normalize_sub,
    _require_writable,
)
from .odata import GraphError, Query, bad_request
from .spec import SubSpec, TypeSpec
from .store import Tenant, touch

if TYPE_CHECKING:
    from .graph import GraphEngine


def sub_route(engine: GraphEngine, tenant: Tenant, spec: TypeSpec, obj: dict[str, Any],
              sub: SubSpec, rest: list[str], method: str, req: GraphRequest, q: Query,
              ctx: str) -> GraphResponse:
    """``{item}/{navigation}[/{id}[/{nested}]]``: list, create, read, patch and delete the
    entries of a navigation collection, as Graph serves them."""
    if sub.ref_target:
        return ref_route(engine, tenant, spec, obj, sub, rest, method, req, q, ctx)
    items: list[dict[str, Any]] = obj.setdefault(sub.name, [])
    navs = frozenset(sub.nested)
    if sub.name in spec.reads.no_sub_route and method == "GET":
        raise bad_request("No OData route exists that match template "
                          "~/singleton/navigation/key/navigation with http verb GET for "
                          f"request /{spec.path}('{obj['id']}')/{sub.name}.")
    if not rest:
        if method == "GET":
            presented = [engine.present(None, i, q.expand, q.select, navs, sub.single)
                         for i in items]
            url = f"{engine.base_url}/{req.version}/{spec.path}/{obj['id']}/{sub.name}"
            return GraphResponse(200, engine.page(presented, q, engine.sub_page_size, url, ctx))
        if method == "POST":
            _require_writable(spec)
            body = validate.require_object(req.body)
            if sub.name == "assignments":
                validate.assignment(tenant, body)
            elif sub.name == "definitionValues":
                body = validate.definition_value(tenant, body, require_definition=True)
            created = _normalize_sub(sub, [copy.deepcopy(body)], obj["id"])[0]
            if sub.id_style == "index":
                created["id"] = str(len(items))
            items.append(created)
            touch(spec, obj)
            return GraphResponse(201, {"@odata.context": f"{ctx}/$entity",
                                       **engine.present(None, created, {}, None, navs,
                                                      sub.single)})
        raise _method_not_allowed(method)
    found = next((i for i in items if i.get("id") == rest[0]), None)
    if found is None:
        raise GraphError(404, "ResourceNotFound",
                         f"No {sub.name} entry with id '{rest[0]}' exists.")
    if len(rest) == 1:
        if method == "GET":
            return GraphResponse(200, {"@odata.context": f"{ctx}/$entity",
                                       **engine.present(None, found, q.expand, q.select,
                                                      navs, sub.single)})
        _require_writable(spec)
        if method == "DELETE":
            items.remove(found)
            touch(spec, obj)
            return GraphResponse(204)
        if method == "PATCH":
            body = validate.require_object(req.body)
            validate.no_read_only(body)
            found.update({k: v for k, v in body.items() if k != "id"})
            touch(spec, obj)
            return GraphResponse(204)
        raise _method_not_allowed(method)
    nested_name = rest[1]
    if len(rest) == 2 and nested_name in sub.nested and method == "GET":
        url = (f"{engine.base_url}/{req.version}/{spec.path}/{obj['id']}/{sub.name}/"
               f"{found['id']}/{nested_name}")
        values = copy.deepcopy(found.get(nested_name) or [])
        return GraphResponse(200, engine.page(values, q, engine.sub_page_size, url,
                                            f"{ctx}('{found['id']}')/{nested_name}"))
    if len(rest) == 2 and nested_name in sub.single and method == "GET":
        value = found.get(nested_name)
        if value is None:
            raise GraphError(404, "ResourceNotFound", f"{nested_name} is not set.")
        return GraphResponse(200, {"@odata.context": f"{ctx}('{found['id']}')/"
                                                     f"{nested_name}/$entity",
                                   **copy.deepcopy(value)})
    if len(rest) == 2 and (nested_name in sub.nested or nested_name in sub.single):
        raise _method_not_allowed(method)
    raise bad_request(f"Resource not found for the segment '{nested_name}'.")


def ref_route(engine: GraphEngine, tenant: Tenant, spec: TypeSpec, obj: dict[str, Any],
              sub: SubSpec, rest: list[str], method: str, req: GraphRequest, q: Query,
              ctx: str) -> GraphResponse:
    """A navigation of links (OData ``$ref``): ``GET`` reads the linked objects, ``POST
    {nav}/$ref`` with ``@odata.id`` adds a link (an object that does not exist is a
    400; one already linked stays linked), ``DELETE {nav}/{id}/$ref`` removes one."""
    links: list[dict[str, Any]] = obj.setdefault(sub.name, [])
    linked = {o["id"]: o for o in tenant.linked(sub, obj)}
    target = catalog.BY_KEY[sub.ref_target or ""]
    if not rest and method == "GET":
        presented = [engine.present(None, o, q.expand, q.select) for o in linked.values()]
        url = f"{engine.base_url}/{req.version}/{spec.path}/{obj['id']}/{sub.name}"
        return GraphResponse(200, engine.page(presented, q, engine.sub_page_size, url, ctx))
    if rest == ["$ref"] and method == "POST":
        _require_writable(spec)
        target_id = validate.reference_id(req.body, target.path)
        if target_id not in tenant.ids(target.key):
            raise bad_request(f"The {target.key} object '{target_id}' does not exist.")
        if target_id not in linked:
            links[:] = [*(link for link in links if link.get("id") in linked),
                        {"id": target_id}]
            touch(spec, obj)
        return GraphResponse(204)
    if len(rest) == 2 and rest[1] == "$ref" and method == "DELETE":
        _require_writable(spec)
        if rest[0] not in linked:
            raise GraphError(404, "ResourceNotFound", f"No {sub.name} link to '{rest[0]}'.")
        links[:] = [link for link in links if link.get("id") in linked
                    and link["id"] != rest[0]]
        touch(spec, obj)
        return GraphResponse(204)
    if len(rest) == 1 and rest[0] in linked and method == "GET":
        return GraphResponse(200, {"@odata.context": f"{ctx}/$entity",
                                   **engine.present(None, linked[rest[0]], q.expand,
                                                  q.select)})
    if len(rest) == 1 and method == "GET":
        raise GraphError(404, "ResourceNotFound", f"No {sub.name} entry '{rest[0]}'.")
    if not rest and method == "POST":
        raise bad_request(f"'{sub.name}' holds links: POST {sub.name}/$ref with "
                          "'@odata.id'.")
    raise _method_not_allowed(method)
