"""Write bodies from snapshots, with the references a snapshot makes to other objects
rewritten.

``to_create_payload`` / ``to_update_payload`` strip Graph-managed fields
(:func:`shared.graph.documents.own_fields`, which comparisons use too), drop sub-collections
that are not written inline, clean inline entries of their server ids (settings catalog
``settings``, compliance ``scheduledActionsForRule``), then run the entry's ``prepare`` hook.

References (scope tag ids, filter ids in assignment targets, named locations in CA
conditions, notification templates in compliance actions, group ids) are declared per entry
as dotted paths; :func:`rewrite_references` applies a restore's old→new id map before
dependents are written (DESIGN §8), and :func:`drop_references` leaves out references to
objects that no longer exist.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

from shared.graph.documents import clean_entry, own_fields, strip_annotations
from shared.graph.resource import Reference, ResourceType
from shared.graph.secrets import writable
from shared.platform.errors import ValidationFailed

CA_STATES = ("report_only", "as_snapshot")


def to_create_payload(rtype: ResourceType, snapshot: dict[str, Any], *,
                      ca_state: str = "report_only") -> dict[str, Any]:
    """The POST body that recreates ``snapshot`` (sub-collections written by hooks or
    ``/assign`` are not in it)."""
    return _payload(rtype, snapshot, "create", ca_state)


def to_update_payload(rtype: ResourceType, snapshot: dict[str, Any], *,
                      ca_state: str = "report_only") -> dict[str, Any]:
    """The PATCH body (or, for ``update_method == "PUT"``, the full PUT body with inline
    sub-collections) that makes the live object match ``snapshot``."""
    return _payload(rtype, snapshot, "update", ca_state)


def _payload(rtype: ResourceType, snapshot: dict[str, Any], mode: str,
             ca_state: str) -> dict[str, Any]:
    if ca_state not in CA_STATES:
        raise ValidationFailed(f"ca_state must be one of {', '.join(CA_STATES)}")
    doc = writable(rtype, strip_annotations(snapshot))  # never a secret it does not hold
    fixed = rtype.sub_names | (rtype.create_only if mode == "update" else frozenset())
    payload = {k: v for k, v in own_fields(rtype, doc).items() if k not in fixed}
    inline = mode == "create" or rtype.update_method == "PUT"
    for sub in rtype.subcollections:
        if sub.write_inline and inline:
            payload[sub.name] = [clean_entry(sub, e) for e in doc.get(sub.name) or []
                                 if isinstance(e, dict)]
    if rtype.prepare is not None:
        payload = rtype.prepare(payload, snapshot, mode, ca_state)
    return payload


def rewrite_references(rtype: ResourceType, document: dict[str, Any],
                       id_map: Mapping[str, Mapping[str, str]]) -> dict[str, Any]:
    """A copy of ``document`` with referenced ids replaced through ``id_map``
    (``{target type key: {old id: new id}}``); ids not in the map stay as they are."""
    out = copy.deepcopy(document)
    for ref in rtype.references:
        mappings = [id_map[t] for t in ref.targets if id_map.get(t)]
        if not mappings:
            continue

        def remap(value: Any, maps: list[Mapping[str, str]] = mappings) -> Any:
            return next((m[value] for m in maps if value in m), value)

        for node in _roots(out, ref):
            _walk(node, _parts(ref.path), remap, ref)
    return out


def referenced_ids(rtype: ResourceType, document: dict[str, Any]
                   ) -> list[tuple[Reference, str]]:
    """Every id ``document`` refers to, with the reference that names it (in document
    order; an id named twice is listed twice)."""
    found: list[tuple[Reference, str]] = []
    for ref in rtype.references:
        def keep(value: Any, ref: Reference = ref) -> Any:
            found.append((ref, value))
            return value

        for node in _roots(copy.deepcopy(document), ref):
            _walk(node, _parts(ref.path), keep, ref)
    return found


def drop_references(rtype: ResourceType, document: dict[str, Any],
                    drop: Callable[[Reference, str], bool]) -> tuple[dict[str, Any], bool]:
    """A copy of ``document`` without the referenced ids ``drop`` picks: an id in a list of
    ids leaves that list (a CA policy's ``includeGroups``); any other id takes the nearest
    list entry holding it along (an assignment, with its target). ``False`` when a picked id
    sits in no list, so it cannot be left out: the copy is then not to be written."""
    out = copy.deepcopy(document)
    for ref in rtype.references:
        def mark(value: Any, ref: Reference = ref) -> Any:
            return _DROPPED if drop(ref, value) else value

        for node in _roots(out, ref):
            _walk(node, _parts(ref.path), mark, ref)
    pruned, stuck = _prune(out)
    return pruned, not stuck


_DROPPED = object()


def _prune(value: Any) -> tuple[Any, bool]:
    """``value`` without list entries that hold a dropped id; True if one is left above
    every list (nothing could take it along)."""
    if value is _DROPPED:
        return value, True
    if isinstance(value, dict):
        out, stuck = {}, False
        for key, item in value.items():
            out[key], held = _prune(item)
            stuck = stuck or held
        return out, stuck
    if isinstance(value, list):
        kept = [pruned for pruned, held in map(_prune, value) if not held]
        return kept, False
    return value, False


def _roots(document: dict[str, Any], ref: Reference) -> list[Any]:
    """Where ``ref.path`` starts: the document, or every object of type ``ref.within``."""
    if ref.within is None:
        return [document]
    roots: list[Any] = []
    stack: list[Any] = [document]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("@odata.type") == ref.within:
                roots.append(node)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return roots


def _parts(path: str) -> list[str]:
    return [p for p in path.split(".") if p]


def _walk(node: Any, parts: list[str], fn: Callable[[Any], Any], ref: Reference) -> Any:
    """Apply ``fn`` to the ids at ``parts`` (``name[]`` walks a list), in place: only to
    values that name an object (:meth:`Reference.names`)."""
    head, rest = parts[0], parts[1:]
    many = head.endswith("[]")
    name = head[:-2] if many else head
    if not isinstance(node, dict) or name not in node:
        return node

    def step(value: Any) -> Any:
        if rest:
            return _walk(value, rest, fn, ref)
        return fn(value) if ref.names(node, value) else value

    if many:
        if isinstance(node[name], list):
            node[name] = [step(v) for v in node[name]]
    else:
        node[name] = step(node[name])
    return node
