"""Backup and restore primitives for every catalog type: the one engine (STYLE rule 10).

Activities call these with a tenant id and a catalog key; the Graph client defaults to the
running event loop's (:func:`get_graph_client`) and may be passed in. Every function raises
:class:`shared.platform.errors.GraphError` subclasses (or :class:`ValidationFailed` for an
unknown type); :func:`fetch_snapshots` instead reports per-item errors so one missing item
never fails a batch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from shared.graph.batch import BatchRequest, batch
from shared.graph.catalog import ResourceType, SubCollection, supported_type
from shared.graph.client import GraphClient, get_graph_client
from shared.graph.documents import clean_entry, normalize_document
from shared.graph.hooks import WriteContext
from shared.graph.payloads import to_create_payload, to_update_payload
from shared.platform.errors import GraphBadRequest, GraphBadResponse, GraphError, ValidationFailed


@dataclass(frozen=True)
class ItemRef:
    id: str
    display_name: str
    type_key: str
    odata_type: str | None = None


@dataclass
class FetchResult:
    """One item of :func:`fetch_snapshots`: its document, or the error that prevented it."""

    item_id: str
    document: dict[str, Any] | None = None
    error: GraphError | None = None


def _entry(type_key: str | ResourceType) -> ResourceType:
    return type_key if isinstance(type_key, ResourceType) else supported_type(type_key)


def _item_path(collection: str, item_id: str) -> str:
    if not isinstance(item_id, str) or not item_id:
        raise ValidationFailed("item id must be a non-empty string")
    return f"{collection}/{quote(item_id, safe='')}"


def _ref(rtype: ResourceType, item: dict[str, Any]) -> ItemRef:
    return ItemRef(id=str(item.get("id")), display_name=str(item.get(rtype.name_field) or ""),
                   type_key=rtype.key, odata_type=item.get("@odata.type"))


# ---- reading --------------------------------------------------------------------------------

async def list_items(tenant_id: str, type_key: str, *,
                     client: GraphClient | None = None) -> list[ItemRef]:
    """Every object of the type in the tenant (all pages), as id + display name."""
    rtype = _entry(type_key)
    client = client or get_graph_client()
    items = await client.get_all(tenant_id, rtype.path, version=rtype.version,
                                 params={"$select": rtype.list_select})
    return [_ref(rtype, i) for i in items if i.get("id") and rtype.supports(i.get("@odata.type"))]


async def find_by_display_name(tenant_id: str, type_key: str, name: str, *,
                               client: GraphClient | None = None) -> list[ItemRef]:
    """Objects whose display name is exactly ``name`` (several means ambiguous: DESIGN §8
    reports, never guesses). Uses ``$filter`` eq and falls back to listing where a
    collection refuses the filter."""
    rtype = _entry(type_key)
    client = client or get_graph_client()
    escaped = name.replace("'", "''")
    params = {"$filter": f"{rtype.name_field} eq '{escaped}'", "$select": rtype.list_select}
    try:
        items = await client.get_all(tenant_id, rtype.path, version=rtype.version,
                                     params=params)
        refs = [_ref(rtype, i) for i in items if rtype.supports(i.get("@odata.type"))]
    except GraphBadRequest:
        refs = await list_items(tenant_id, rtype.key, client=client)
    return [r for r in refs if r.display_name == name]


async def fetch_snapshot(tenant_id: str, type_key: str, item_id: str, *,
                         client: GraphClient | None = None) -> dict[str, Any]:
    """The complete, normalized document of one object (see :mod:`shared.graph.documents`)."""
    rtype = _entry(type_key)
    client = client or get_graph_client()
    params = {"$expand": rtype.item_expand} if rtype.item_expand else None
    item = await client.get_json(tenant_id, _item_path(rtype.path, item_id),
                                 version=rtype.version, params=params)
    if not isinstance(item, dict):
        raise GraphBadResponse(f"GET {rtype.path}/{{id}}: not an object")
    base = _item_path(rtype.collection_for(item), item_id)
    subs: dict[str, list[dict[str, Any]]] = {}

    async def read(sub: SubCollection) -> None:
        if sub.via_item_expand:
            entries = list(item.get(sub.name) or [])
            link = item.get(f"{sub.name}@odata.nextLink")
            if link:
                entries += await client.get_all(tenant_id, client.checked_link(link),
                                                version=rtype.version)
            subs[sub.name] = entries
        else:
            subs[sub.name] = await client.get_all(
                tenant_id, f"{base}/{sub.name}", version=rtype.version,
                params={"$expand": sub.expand} if sub.expand else None)

    await asyncio.gather(*(read(s) for s in rtype.subcollections))
    return normalize_document(rtype, item, subs)


async def fetch_snapshots(tenant_id: str, type_key: str, item_ids: Sequence[str], *,
                          client: GraphClient | None = None) -> list[FetchResult]:
    """Complete documents for many objects of one type through ``$batch``: items 20 per
    envelope, then every sub-collection's first page, then every further page — so a type
    costs a few round trips instead of one per item and sub-collection. Results keep the
    order of ``item_ids``; an item that failed carries its error instead of a document."""
    rtype = _entry(type_key)
    client = client or get_graph_client()
    ids = list(dict.fromkeys(item_ids))
    results = {i: FetchResult(i) for i in ids}
    query = f"?{urlencode({'$expand': rtype.item_expand})}" if rtype.item_expand else ""
    first = await batch(client, tenant_id, [
        BatchRequest(str(n), f"/{_item_path(rtype.path, i)}{query}") for n, i in enumerate(ids)
    ], version=rtype.version)
    items: dict[str, dict[str, Any]] = {}
    for n, item_id in enumerate(ids):
        res = first[str(n)]
        if res.error is not None:
            results[item_id].error = res.error
        elif not isinstance(res.body, dict):
            results[item_id].error = GraphBadResponse(f"GET {rtype.path}/{{id}}: not an object")
        else:
            items[item_id] = res.body

    # (item id, sub name) → entries so far; pending pages as (item id, sub name, url).
    entries: dict[tuple[str, str], list[dict[str, Any]]] = {}
    pages: list[tuple[str, str, str]] = []
    for item_id, item in items.items():
        try:
            base = _item_path(rtype.collection_for(item), item_id)
            for sub in rtype.subcollections:
                if sub.via_item_expand:
                    entries[(item_id, sub.name)] = list(item.get(sub.name) or [])
                    link = item.get(f"{sub.name}@odata.nextLink")
                    if link:
                        pages.append((item_id, sub.name, client.relative(link)))
                else:
                    entries[(item_id, sub.name)] = []
                    expand = f"?{urlencode({'$expand': sub.expand})}" if sub.expand else ""
                    pages.append((item_id, sub.name, f"/{base}/{sub.name}{expand}"))
        except (GraphError, ValidationFailed) as exc:
            results[item_id].error = _as_graph_error(exc)
    while pages:
        answers = await batch(client, tenant_id, [
            BatchRequest(str(n), url) for n, (_, _, url) in enumerate(pages)
        ], version=rtype.version)
        next_pages: list[tuple[str, str, str]] = []
        for n, (item_id, name, _) in enumerate(pages):
            res = answers[str(n)]
            if results[item_id].error is not None:
                continue
            body = res.body
            if res.error is None and not (isinstance(body, dict)
                                          and isinstance(body.get("value"), list)):
                res.error = GraphBadResponse(f"GET {rtype.path}/{{id}}/{name}: not a collection")
            if res.error is not None:
                results[item_id].error = res.error
                continue
            entries[(item_id, name)].extend(v for v in body["value"] if isinstance(v, dict))
            link = body.get("@odata.nextLink")
            if link:
                try:
                    next_pages.append((item_id, name, client.relative(link)))
                except GraphBadResponse as exc:
                    results[item_id].error = exc
        pages = next_pages
    for item_id, item in items.items():
        if results[item_id].error is None:
            subs = {s.name: entries[(item_id, s.name)] for s in rtype.subcollections}
            results[item_id].document = normalize_document(rtype, item, subs)
    return [results[i] for i in ids]


def _as_graph_error(exc: Exception) -> GraphError:
    if isinstance(exc, GraphError):
        return exc
    return GraphBadResponse(str(exc))


# ---- writing --------------------------------------------------------------------------------

async def create_item(tenant_id: str, type_key: str, snapshot: dict[str, Any], *,
                      ca_state: str = "report_only",
                      on_created: Callable[[str], Awaitable[None]] | None = None,
                      client: GraphClient | None = None) -> ItemRef:
    """Create a new object from ``snapshot`` (plus the follow-up writes its type needs);
    assignments are separate (:func:`assign_item`). Returns the new object's id.
    ``on_created`` gets the id as soon as Graph answers the POST — before the follow-up
    writes, which may fail — so a caller can record it and never create the object twice."""
    rtype = _entry(type_key)
    client = client or get_graph_client()
    if not rtype.can_create(snapshot):
        raise ValidationFailed(f"{rtype.key}: this object is built in and cannot be created")
    payload = to_create_payload(rtype, snapshot, ca_state=ca_state)
    response = await client.request(tenant_id, "POST", rtype.collection_for(snapshot),
                                    version=rtype.version, json=payload)
    created = response.body if isinstance(response.body, dict) else {}
    if not created.get("id"):
        raise GraphBadResponse(f"POST {rtype.path}: the answer carries no id",
                               status=response.status, request_id=response.request_id)
    if on_created is not None:
        await on_created(str(created["id"]))
    if rtype.after_write is not None:
        await rtype.after_write(WriteContext(client, tenant_id, rtype, str(created["id"]),
                                             snapshot, "create"))
    return _ref(rtype, {**payload, **created})


async def update_item(tenant_id: str, type_key: str, item_id: str, snapshot: dict[str, Any],
                      *, ca_state: str = "report_only",
                      client: GraphClient | None = None) -> None:
    """Make the live object ``item_id`` match ``snapshot`` (PATCH, or PUT with the full
    settings for the settings catalog, then the type's follow-up writes)."""
    rtype = _entry(type_key)
    client = client or get_graph_client()
    payload = to_update_payload(rtype, snapshot, ca_state=ca_state)
    await client.request(tenant_id, rtype.update_method,
                         _item_path(rtype.collection_for(snapshot), item_id),
                         version=rtype.version, json=payload)
    if rtype.after_write is not None:
        await rtype.after_write(WriteContext(client, tenant_id, rtype, item_id, snapshot,
                                             "update"))


async def assign_item(tenant_id: str, type_key: str, item_id: str,
                      assignments: Sequence[dict[str, Any]], *,
                      client: GraphClient | None = None,
                      document: dict[str, Any] | None = None) -> None:
    """Replace the object's assignments through ``POST {item}/assign`` (idempotent: the
    action replaces the set). ``document`` (the snapshot) selects the platform collection
    for polymorphic types."""
    rtype = _entry(type_key)
    client = client or get_graph_client()
    sub = rtype.sub("assignments")
    if rtype.assign_key is None or sub is None:
        raise ValidationFailed(f"{rtype.key} has no assignments")
    body = {rtype.assign_key: [clean_entry(sub, a) for a in assignments]}
    await client.request(tenant_id, "POST",
                         f"{_item_path(rtype.collection_for(document), item_id)}/assign",
                         version=rtype.version, json=body, idempotent=True)
