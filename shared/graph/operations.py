"""Restore's write primitives for every catalog type: the one engine (STYLE rule 10).

Activities call these with a tenant id and a catalog key; the Graph client defaults to the
running event loop's (:func:`get_graph_client`) and may be passed in. Every function raises
:class:`shared.platform.errors.GraphError` subclasses (or :class:`ValidationFailed` for an
unknown type). Reads are :mod:`shared.graph.reading`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from urllib.parse import unquote

from shared.graph.client import GraphClient, get_graph_client
from shared.graph.documents import clean_entry
from shared.graph.hooks import WriteContext
from shared.graph.payloads import to_create_payload, to_update_payload
from shared.graph.reading import ItemRef, entry, item_path, ref_of
from shared.graph.resource import ResourceType
from shared.graph.secrets import scrubbing, secret_values
from shared.platform.errors import GraphBadResponse, ValidationFailed


async def create_item(tenant_id: str, type_key: str, snapshot: dict[str, Any], *,
                      ca_state: str = "report_only",
                      on_created: Callable[[str], Awaitable[None]] | None = None,
                      client: GraphClient | None = None) -> ItemRef:
    """Create a new object from ``snapshot`` (plus the follow-up writes its type needs);
    assignments are separate (:func:`assign_item`). Returns the new object's id.
    ``on_created`` gets the id as soon as Graph answers the POST — before the follow-up
    writes, which may fail — so a caller can record it and never create the object twice."""
    rtype = entry(type_key)
    client = client or get_graph_client()
    if not rtype.creatable or not rtype.can_create(snapshot):
        raise ValidationFailed(f"{rtype.key}: this object cannot be created")
    with scrubbing(secret_values(rtype, snapshot)):  # Graph may echo the body in an error
        return await _create(client, tenant_id, rtype, snapshot, ca_state, on_created)


async def _create(client: GraphClient, tenant_id: str, rtype: ResourceType,
                  snapshot: dict[str, Any], ca_state: str,
                  on_created: Callable[[str], Awaitable[None]] | None) -> ItemRef:
    payload = to_create_payload(rtype, snapshot, ca_state=ca_state)
    path = rtype.create_path(snapshot) if rtype.create_path else rtype.collection_for(snapshot)
    response = await client.request(tenant_id, rtype.create_method, path,
                                    version=rtype.version, json=payload)
    created = response.body if isinstance(response.body, dict) else {}
    if rtype.create_method != "POST" and not created.get("id"):
        created = {**created, "id": unquote(path.rsplit("/", 1)[-1])}  # the id it chose
    if not created.get("id"):
        raise GraphBadResponse(f"POST {rtype.path}: the answer carries no id",
                               status=response.status, request_id=response.request_id)
    if on_created is not None:
        await on_created(str(created["id"]))
    if rtype.after_write is not None:
        await rtype.after_write(WriteContext(client, tenant_id, rtype, str(created["id"]),
                                             snapshot, "create"))
    return ref_of(rtype, {**payload, **created})


async def update_item(tenant_id: str, type_key: str, item_id: str, snapshot: dict[str, Any],
                      *, ca_state: str = "report_only",
                      client: GraphClient | None = None) -> None:
    """Make the live object ``item_id`` match ``snapshot`` (PATCH, or PUT with the full
    settings for the settings catalog, then the type's follow-up writes). A singleton is
    written at its path; a ``singleton_property`` through its parent (``PATCH
    deviceManagement {"settings": …}``)."""
    rtype = entry(type_key)
    client = client or get_graph_client()
    payload = to_update_payload(rtype, snapshot, ca_state=ca_state)
    if rtype.singleton_property:
        payload = {rtype.singleton_property: payload}
    with scrubbing(secret_values(rtype, snapshot)):  # Graph may echo the body in an error
        await client.request(tenant_id, rtype.update_method,
                             rtype.object_path(item_id, snapshot), version=rtype.version,
                             json=payload)
        if rtype.after_write is not None:
            await rtype.after_write(WriteContext(client, tenant_id, rtype, item_id, snapshot,
                                                 "update"))


async def assign_item(tenant_id: str, type_key: str, item_id: str,
                      assignments: Sequence[dict[str, Any]], *,
                      client: GraphClient | None = None,
                      document: dict[str, Any] | None = None) -> None:
    """Replace the object's assignments through ``POST {item}/assign`` (idempotent: the
    action replaces the set), or the type's ``assign_via``. ``document`` (the snapshot)
    selects the platform collection for polymorphic types."""
    rtype = entry(type_key)
    client = client or get_graph_client()
    sub = rtype.sub("assignments")
    if not rtype.has_assignments or sub is None:
        raise ValidationFailed(f"{rtype.key} has no assignments")
    if rtype.assign_via is not None:  # no /assign: the type's own route
        await rtype.assign_via(WriteContext(client, tenant_id, rtype, item_id, document or {},
                                            "update"), assignments)
        return
    body = {rtype.assign_key: [clean_entry(sub, a) for a in assignments]}
    await client.request(tenant_id, "POST",
                         f"{item_path(rtype.collection_for(document), item_id)}/assign",
                         version=rtype.version, json=body, idempotent=True)
