"""Reading complete documents for every catalog type, in as few Graph requests as Graph allows.

Graph counts every request against the Intune limits, each ``$batch`` entry included (DESIGN
§9), so only fewer requests per object save budget. Each catalog entry says, as data, how its
parts are read most cheaply (``SubCollection.via_list_expand`` / ``via_item_expand``,
``ResourceType.list_omits``; the evidence is on the entry):

- :func:`read_collection` pages the collection list with the ``$expand`` Graph supports there;
  an object the listing brings complete costs nothing more; the others get one item GET each
  (with the item ``$expand``), 20 per ``$batch``, while the next list page is read;
- :func:`fetch_snapshots` reads objects by id (a single capture, a retry, a restore's live
  state): the item GET, then every sub-collection the item GET does not carry;
- a singleton (``ResourceType.singleton``) is one object whose only id is the entry's key:
  listing it, reading its collection and fetching it are all one GET of ``path`` (plus its
  parts and the sub-collections that GET does not carry inline).

Masked secrets (a custom profile's encrypted OMA-URI values) are read in plain text through
the function Graph serves for them, one request per secret, 20 per ``$batch``
(:func:`_reveal_secrets`; :mod:`shared.graph.secrets`), so every document — a backup's, a
restore's live state, a drift check's — holds them as the object has them.

Nothing is trusted to be whole: every ``@odata.nextLink`` is followed, inside expanded
navigations too, and a navigation shorter than its object's count (``settingCount``) is read
again on its own, paged. Results are per item: one failed object never fails the others.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from shared.graph import secrets
from shared.graph.batch import BatchRequest, batch
from shared.graph.catalog import ResourceType, SubCollection, supported_type
from shared.graph.client import GraphClient, get_graph_client
from shared.graph.documents import normalize_document
from shared.platform.errors import (
    GraphBadRequest,
    GraphBadResponse,
    GraphError,
    GraphNotFound,
    ValidationFailed,
)

log = logging.getLogger(__name__)

READ_AHEAD_PAGES = 3  # list pages read, with their items, while the caller stores one
# What read_collection's reader hands on, in list order: a page's item reads, the listing's
# error, or None at its end.
_ReadAhead = asyncio.Queue["asyncio.Task[list[FetchResult]] | Exception | None"]


@dataclass(frozen=True)
class ItemRef:
    id: str
    display_name: str
    type_key: str
    odata_type: str | None = None


@dataclass
class FetchResult:
    """One object of a read: its document, or the error that prevented it."""

    item_id: str
    document: dict[str, Any] | None = None
    error: GraphError | None = None


def entry(type_key: str | ResourceType) -> ResourceType:
    return type_key if isinstance(type_key, ResourceType) else supported_type(type_key)


def item_path(collection: str, item_id: str) -> str:
    if not isinstance(item_id, str) or not item_id:
        raise ValidationFailed("item id must be a non-empty string")
    return f"{collection}/{quote(item_id, safe='')}"


def ref_of(rtype: ResourceType, item: dict[str, Any]) -> ItemRef:
    return ItemRef(id=str(item.get("id")), display_name=str(item.get(rtype.name_field) or ""),
                   type_key=rtype.key, odata_type=item.get("@odata.type"))


# ---- listing --------------------------------------------------------------------------------

async def list_items(tenant_id: str, type_key: str, *,
                     client: GraphClient | None = None) -> list[ItemRef]:
    """Every object of the type in the tenant (all pages), as id + display name."""
    rtype = entry(type_key)
    client = client or get_graph_client()
    if rtype.singleton:
        return [ref_of(rtype, await _singleton_get(client, tenant_id, rtype))]
    items = await client.get_all(tenant_id, rtype.path, version=rtype.version,
                                 params={"$select": rtype.list_select})
    return [ref_of(rtype, i) for i in items if i.get("id") and rtype.captures(i)]


async def find_by_display_name(tenant_id: str, type_key: str, name: str, *,
                               client: GraphClient | None = None) -> list[ItemRef]:
    """Objects whose display name is exactly ``name`` (several means ambiguous: DESIGN §8
    reports, never guesses). Uses ``$filter`` eq and falls back to listing where a
    collection refuses the filter."""
    rtype = entry(type_key)
    client = client or get_graph_client()
    if rtype.singleton:
        return [r for r in await list_items(tenant_id, rtype.key, client=client)
                if r.display_name == name]
    escaped = name.replace("'", "''")
    params = {"$filter": f"{rtype.name_field} eq '{escaped}'", "$select": rtype.list_select}
    try:
        items = await client.get_all(tenant_id, rtype.path, version=rtype.version,
                                     params=params)
        refs = [ref_of(rtype, i) for i in items if rtype.captures(i)]
    except GraphBadRequest:
        refs = await list_items(tenant_id, rtype.key, client=client)
    return [r for r in refs if r.display_name == name]


# ---- complete documents ---------------------------------------------------------------------

async def read_collection(tenant_id: str, type_key: str, *,
                          client: GraphClient | None = None
                          ) -> AsyncIterator[list[FetchResult]]:
    """Every object of the type, complete, one list page at a time (each id once). Up to
    READ_AHEAD_PAGES further pages are listed, and their item reads run, while the caller
    handles the current page (a big type is a chain of list pages: waiting for the caller
    at every step would add its storage writes to each page's Graph latency). Raises a
    :class:`GraphError` when the listing itself fails, after the pages listed before it."""
    rtype = entry(type_key)
    client = client or get_graph_client()
    if rtype.singleton:  # the one object: its failure is the type's
        [result] = await fetch_snapshots(tenant_id, rtype, [rtype.key], client=client)
        if result.error is not None:
            raise result.error
        yield [result]
        return
    if rtype.list_expand:
        params: dict[str, str] | None = {"$expand": rtype.list_expand}
    elif rtype.listing_complete:  # the listed objects are the documents
        params = {"$select": ",".join(rtype.select)} if rtype.select else None
    else:
        params = {"$select": rtype.list_select}
    pages = client.iter_pages(tenant_id, rtype.path, version=rtype.version, params=params)
    # Each page's item reads, in list order; an exception ends the listing with its error,
    # None ends it cleanly. A page is listed only once a slot is free (the caller frees one
    # as it takes a page), so every started read is in the queue and memory stays bounded.
    ahead: _ReadAhead = asyncio.Queue()
    slots = asyncio.Semaphore(READ_AHEAD_PAGES)

    async def read_ahead() -> None:
        seen: set[str] = set()
        try:
            while True:
                await slots.acquire()
                page = await anext(pages, None)
                if page is None:
                    break
                listed: dict[str, dict[str, Any]] = {}
                for obj in page:  # a listing can repeat an id when objects change as it pages
                    object_id = str(obj.get("id") or "")
                    if object_id and object_id not in seen and rtype.captures(obj):
                        seen.add(object_id)
                        listed[object_id] = obj
                ahead.put_nowait(asyncio.ensure_future(fetch_snapshots(
                    tenant_id, rtype, list(listed), client=client, listed=listed)))
        except Exception as exc:  # the caller gets it after the pages listed before it
            ahead.put_nowait(exc)
            return
        ahead.put_nowait(None)

    reader = asyncio.ensure_future(read_ahead())
    try:
        while (step := await ahead.get()) is not None:
            slots.release()
            if isinstance(step, Exception):
                raise step
            yield await step
    finally:  # the caller stopped early (or the listing failed): let the read ahead wind down
        await _stop(reader, ahead)
        await pages.aclose()


async def _stop(reader: asyncio.Task[None], ahead: _ReadAhead) -> None:
    """Cancel the read ahead and wait until it and every page read it started have ended
    (their results and errors are dropped: nobody asked for them). A cancellation of the
    caller itself still propagates."""
    reader.cancel()
    await asyncio.wait([reader])
    started = []
    while not ahead.empty():
        if isinstance(step := ahead.get_nowait(), asyncio.Task):
            step.cancel()
            started.append(step)
    if started:
        await asyncio.wait(started)
    for step in started:
        if not step.cancelled():
            step.exception()  # retrieved: no "exception was never retrieved" warning


async def fetch_snapshot(tenant_id: str, type_key: str, item_id: str, *,
                         client: GraphClient | None = None) -> dict[str, Any]:
    """The complete, normalized document of one object (see :mod:`shared.graph.documents`)."""
    [result] = await fetch_snapshots(tenant_id, type_key, [item_id], client=client)
    if result.error is not None:
        raise result.error
    assert result.document is not None
    return result.document


async def fetch_snapshots(tenant_id: str, type_key: str | ResourceType,
                          item_ids: Sequence[str], *, client: GraphClient | None = None,
                          listed: dict[str, dict[str, Any]] | None = None
                          ) -> list[FetchResult]:
    """Complete documents for objects of one type, in the order of ``item_ids``; a failed
    object carries its error instead of a document.

    ``listed`` holds what a collection list already returned per id (with the list's
    ``$expand``): such an object gets an item GET only when the listing lacks something
    (``list_omits``, an item-expanded navigation), and sub-collection GETs only for what
    neither brought. Requests go 20 per ``$batch``: item GETs, then every sub-collection's
    first page, then every further page."""
    rtype = entry(type_key)
    client = client or get_graph_client()
    listed = listed or {}
    ids = list(dict.fromkeys(item_ids))
    results = {i: FetchResult(i) for i in ids}
    bodies: dict[str, dict[str, Any]] = {i: listed[i] for i in ids
                                         if i in listed and rtype.listing_complete}
    read = _read_singleton if rtype.singleton else _read_items
    await read(client, tenant_id, rtype, [i for i in ids if i not in bodies], listed, bodies,
               results)
    # (item id, sub name) → entries so far; pending pages as (item id, sub name, url).
    entries: dict[tuple[str, str], list[dict[str, Any]]] = {}
    pages: list[tuple[str, str, str]] = []
    for item_id, body in bodies.items():
        try:
            for sub in rtype.subcollections:
                carried, link = _carried(rtype, sub, body, from_listing=item_id in listed)
                if carried is not None:
                    entries[(item_id, sub.name)] = carried
                    if link:
                        pages.append((item_id, sub.name, client.relative(link)))
                else:
                    entries[(item_id, sub.name)] = []
                    pages.append((item_id, sub.name, _sub_url(rtype, body, item_id, sub)))
        except (GraphError, ValidationFailed) as exc:
            results[item_id].error = _as_graph_error(exc)
    await _read_pages(client, tenant_id, rtype, pages, entries, results)
    await _reread_short(client, tenant_id, rtype, bodies, entries, results)
    await _reveal_secrets(client, tenant_id, rtype, bodies, results)
    for item_id, body in bodies.items():
        if results[item_id].error is None:
            subs = {s.name: entries[(item_id, s.name)] for s in rtype.subcollections}
            results[item_id].document = normalize_document(rtype, body, subs)
    return [results[i] for i in ids]


def _carried(rtype: ResourceType, sub: SubCollection, body: dict[str, Any], *,
             from_listing: bool) -> tuple[list[dict[str, Any]] | None, str | None]:
    """The entries ``body`` carries for ``sub`` and their nextLink — or (None, None) when it
    carries none that can be trusted, so the sub-collection is read on its own."""
    expanded = rtype.singleton or sub.via_item_expand or (from_listing and sub.via_list_expand)
    if not expanded or not isinstance(body.get(sub.name), list):
        return None, None
    entries = [e for e in body[sub.name] if isinstance(e, dict)]
    return entries, body.get(f"{sub.name}@odata.nextLink")


async def _read_items(client: GraphClient, tenant_id: str, rtype: ResourceType, ids: list[str],
                      listed: dict[str, dict[str, Any]], bodies: dict[str, dict[str, Any]],
                      results: dict[str, FetchResult]) -> None:
    """One item GET per id, with the item ``$expand``; the listed object's list-expanded
    navigations are kept (a single GET may expand them as ``[]``: Graph does for settings
    catalog assignments)."""
    if not ids:
        return
    options = {"$expand": rtype.item_expand, "$select": ",".join(rtype.select)}
    query = urlencode({k: v for k, v in options.items() if v})
    query = f"?{query}" if query else ""
    requests: list[BatchRequest] = []
    for n, item_id in enumerate(ids):
        try:
            collection = rtype.collection_for(listed[item_id]) if item_id in listed \
                else rtype.path
            requests.append(BatchRequest(str(n), f"/{item_path(collection, item_id)}{query}"))
        except ValidationFailed as exc:
            results[item_id].error = _as_graph_error(exc)
    answers = await batch(client, tenant_id, requests, version=rtype.version)
    for n, item_id in enumerate(ids):
        res = answers.get(str(n))
        if res is None:
            continue
        if res.error is not None:
            results[item_id].error = res.error
        elif not isinstance(res.body, dict):
            results[item_id].error = GraphBadResponse(f"GET {rtype.path}/{{id}}: not an object")
        else:
            body = res.body
            if item_id in listed:
                for sub in rtype.subcollections:
                    if sub.via_list_expand and not sub.via_item_expand \
                            and sub.name in listed[item_id]:
                        body = {**body, sub.name: listed[item_id][sub.name]}
                        link = listed[item_id].get(f"{sub.name}@odata.nextLink")
                        if link:
                            body[f"{sub.name}@odata.nextLink"] = link
            bodies[item_id] = body


async def _singleton_get(client: GraphClient, tenant_id: str,
                         rtype: ResourceType) -> dict[str, Any]:
    """The singleton's object (or its ``singleton_property``) with the key as its id. No
    query options but ``$select`` of the property: Graph documents none for these GETs."""
    params = {"$select": rtype.singleton_property} if rtype.singleton_property else None
    body = await client.get_json(tenant_id, rtype.path, version=rtype.version, params=params)
    if rtype.singleton_property and isinstance(body, dict):
        body = body.get(rtype.singleton_property)
    if not isinstance(body, dict):
        raise GraphBadResponse(f"GET {rtype.path}: not an object"
                               + (f" with {rtype.singleton_property}"
                                  if rtype.singleton_property else ""))
    return {**body, "id": rtype.key}


async def _read_singleton(client: GraphClient, tenant_id: str, rtype: ResourceType,
                          ids: list[str], listed: dict[str, dict[str, Any]],
                          bodies: dict[str, dict[str, Any]],
                          results: dict[str, FetchResult]) -> None:
    """The singleton's GET and its parts' GETs, at once; any other id does not exist."""
    for item_id in ids:
        if item_id != rtype.key:
            results[item_id].error = GraphNotFound(
                f"{rtype.key} is a singleton: its only id is {rtype.key}", status=404)
    if rtype.key not in ids:
        return
    try:
        body, *parts = await asyncio.gather(
            _singleton_get(client, tenant_id, rtype),
            *(client.get_json(tenant_id, f"{rtype.path}/{part}", version=rtype.version)
              for part in rtype.singleton_parts))
    except GraphError as exc:
        results[rtype.key].error = exc
        return
    for part, value in zip(rtype.singleton_parts, parts, strict=True):
        if not isinstance(value, dict):
            results[rtype.key].error = GraphBadResponse(f"GET {rtype.path}/{part}: not an "
                                                        "object")
            return
        body[part] = value
    bodies[rtype.key] = body


def _sub_url(rtype: ResourceType, body: dict[str, Any], item_id: str,
             sub: SubCollection) -> str:
    expand = f"?{urlencode({'$expand': sub.expand})}" if sub.expand else ""
    return f"/{rtype.object_path(item_id, body)}/{sub.name}{expand}"


async def _read_pages(client: GraphClient, tenant_id: str, rtype: ResourceType,
                      pages: list[tuple[str, str, str]],
                      entries: dict[tuple[str, str], list[dict[str, Any]]],
                      results: dict[str, FetchResult]) -> None:
    """Read every pending sub-collection page through ``$batch``, following nextLinks."""
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


async def _reread_short(client: GraphClient, tenant_id: str, rtype: ResourceType,
                        bodies: dict[str, dict[str, Any]],
                        entries: dict[tuple[str, str], list[dict[str, Any]]],
                        results: dict[str, FetchResult]) -> None:
    """A navigation with fewer entries than its object counts (``settingCount``) was cut
    short somewhere: read it again on its own, every page."""
    again: list[tuple[str, str, str]] = []
    for item_id, body in bodies.items():
        if results[item_id].error is not None:
            continue
        for sub in rtype.subcollections:
            expected = body.get(sub.count_field) if sub.count_field else None
            if isinstance(expected, int) and len(entries[(item_id, sub.name)]) < expected:
                entries[(item_id, sub.name)] = []
                again.append((item_id, sub.name, _sub_url(rtype, body, item_id, sub)))
    await _read_pages(client, tenant_id, rtype, again, entries, results)


async def _reveal_secrets(client: GraphClient, tenant_id: str, rtype: ResourceType,
                          bodies: dict[str, dict[str, Any]],
                          results: dict[str, FetchResult]) -> None:
    """Replace each masked secret of the objects read with its plain text (one GET each,
    through ``$batch``: every one counts in the tenant's request budget). A secret Graph will
    not reveal (403 without ``DeviceManagementConfiguration.ReadWrite.All``, 404) stays
    masked — the item then says ``secret_not_captured``; one Graph keeps refusing
    transiently fails its object, so it is read again."""
    wanted: list[tuple[str, secrets.Found]] = []
    requests: list[BatchRequest] = []
    for item_id, body in bodies.items():
        if results[item_id].error is not None:
            continue
        for found, path in secrets.to_reveal(rtype, rtype.object_path(item_id, body), body):
            requests.append(BatchRequest(str(len(wanted)), f"/{path}"))
            wanted.append((item_id, found))
    if not requests:
        return
    answers = await batch(client, tenant_id, requests, version=rtype.version)
    refused: dict[str, str] = {}
    for n, (item_id, found) in enumerate(wanted):
        res = answers.get(str(n))
        if res is None or results[item_id].error is not None:
            continue
        if res.error is not None:
            if res.error.retryable:
                results[item_id].error = res.error
            else:
                refused[item_id] = res.error.code
            continue
        value = res.body.get("value") if isinstance(res.body, dict) else None
        if isinstance(value, str):
            found.holder[found.rule.name] = value
    for item_id, code in refused.items():
        log.warning("%s %s: a masked secret was not revealed (%s)", rtype.key, item_id, code)


def _as_graph_error(exc: Exception) -> GraphError:
    if isinstance(exc, GraphError):
        return exc
    return GraphBadResponse(str(exc))
