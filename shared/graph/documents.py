"""Snapshot documents: normalization, canonical bytes, content hash, comparison, diff.

Normalization rules (what :func:`normalize_document` guarantees):

- the document is the Graph object with each catalog sub-collection inline under its name
  (``settings``, ``assignments``, ``scheduledActionsForRule``, ``definitionValues``, …), every
  page followed;
- OData control annotations are removed at every depth (``@odata.context``,
  ``@odata.nextLink``, ``x@odata.nextLink``, ``@odata.count``, ``@odata.etag``, …);
  ``@odata.type`` is kept — writes need it;
- *volatile* fields — ones Graph changes without a content change — are removed:
  ``lastModifiedDateTime`` / ``modifiedDateTime`` at every depth, and per type the ETag-like
  ``version`` and usage counters (``deployedAppCount``, driver-profile inventory counts);
- entries of set-like sub-collections (``assignments``, ``apps``) are sorted by content.

So the canonical bytes (sorted keys, compact separators, UTF-8) of two captures of an unchanged
policy are identical: :func:`sha256_of` (a plain hash, for comparisons) and the keyed digest
that names snapshot blobs (``shared.backups.snapshots``) are the same for both, so the content
is stored once.
``id`` and ``createdDateTime`` stay: they do not change and restore matches by id.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from typing import TYPE_CHECKING, Any

from shared.graph.secrets import writable
from shared.restore.diff import diff as field_diff

if TYPE_CHECKING:
    from shared.graph.resource import ResourceType, SubCollection

# Fields that change without a content change: never part of a snapshot (nor its hash).
COMMON_VOLATILE = frozenset({"lastModifiedDateTime", "modifiedDateTime"})
# Server fields of sub-collection entries (assignments, settings, actions, values, …).
SUB_SERVER_FIELDS = frozenset({"id", "createdDateTime", "lastModifiedDateTime", "sourceId"})
_CONTROL = re.compile(r"@odata\.(context|nextLink|deltaLink|count|etag|id|editLink|"
                      r"readLink|mediaReadLink|mediaEditLink|mediaContentType)$")


def strip_annotations(value: Any) -> Any:
    """A deep copy without OData control annotations (``@odata.type`` stays)."""
    if isinstance(value, dict):
        return {k: strip_annotations(v) for k, v in value.items() if not _CONTROL.search(k)}
    if isinstance(value, list):
        return [strip_annotations(v) for v in value]
    return value


def drop_deep(value: Any, keys: frozenset[str]) -> Any:
    """A deep copy without ``keys`` at any depth."""
    if isinstance(value, dict):
        return {k: drop_deep(v, keys) for k, v in value.items() if k not in keys}
    if isinstance(value, list):
        return [drop_deep(v, keys) for v in value]
    return value


def canonical_json(document: Any) -> bytes:
    """Stable serialization: equal content → equal bytes (matches ``shared.backups.snapshots``)."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode()


def sha256_of(document: dict[str, Any], rtype: ResourceType | None = None) -> str:
    """Content hash of a snapshot. Volatile fields are excluded even if present, so hashing
    a raw Graph object and its normalized snapshot agree."""
    keys = COMMON_VOLATILE | (rtype.volatile if rtype else frozenset())
    clean = {k: v for k, v in drop_deep(strip_annotations(document),
                                        COMMON_VOLATILE).items() if k not in keys}
    return hashlib.sha256(canonical_json(clean)).hexdigest()


def normalize_document(rtype: ResourceType, item: dict[str, Any],
                       subs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """The snapshot document for ``item`` with its sub-collections ``subs`` (all pages)."""
    doc = strip_annotations(item)
    for sub in rtype.subcollections:
        entries = subs.get(sub.name)
        if entries is None:
            entries = doc.get(sub.name) or []
        entries = [strip_annotations(e) for e in entries if isinstance(e, dict)]
        if sub.unordered:
            entries.sort(key=lambda e, s=sub: canonical_json(_without(e, s.server_fields)))
        doc[sub.name] = entries
    for path in rtype.id_only:  # the link, not the linked object (it is backed up on its own)
        doc = _id_only(doc, path.split("."))
    doc = drop_deep(doc, COMMON_VOLATILE)
    return {k: v for k, v in doc.items() if k not in rtype.volatile}


def _without(entry: dict[str, Any], keys: frozenset[str]) -> dict[str, Any]:
    return {k: v for k, v in entry.items() if k not in keys}


def clean_entry(sub: SubCollection, entry: dict[str, Any]) -> dict[str, Any]:
    """A sub-collection entry as a write body: no server fields, nested ids removed."""
    out = _without(strip_annotations(entry), sub.server_fields)
    for name in sub.nested:
        if isinstance(out.get(name), list):
            out[name] = [_without(n, sub.server_fields) if isinstance(n, dict) else n
                         for n in out[name]]
    return out


def own_fields(rtype: ResourceType, document: dict[str, Any]) -> dict[str, Any]:
    """The top level of ``document`` without what Graph manages — the one definition that
    write bodies (:mod:`shared.graph.payloads`) and comparisons (:func:`comparable`, hence
    every diff) share, so a diff never names a field a restore would not write.

    Graph-managed: the catalog's ``strip_on_write`` fields, all of ``templateReference``
    but ``templateId`` (Graph fills in the template's family, name and version and annotates
    the object; ``templateId`` is the only part a client writes), and all of an inline
    expanded target but its id (``rtype.id_only``)."""
    out = {k: v for k, v in document.items() if k not in rtype.strip_on_write}
    ref = out.get("templateReference")
    if isinstance(ref, dict):
        out["templateReference"] = {"templateId": ref.get("templateId") or ""}
    for path in rtype.id_only:
        out = _id_only(out, path.split("."))
    return out


def _id_only(node: dict[str, Any], parts: list[str]) -> dict[str, Any]:
    """``node`` with the object at ``parts`` reduced to ``{"id": …}`` (copied along the path,
    never changed in place); absent or null values stay as they are."""
    value = node.get(parts[0])
    if not isinstance(value, dict):
        return node
    inner = _id_only(value, parts[1:]) if len(parts) > 1 else {"id": value.get("id")}
    return {**node, parts[0]: inner}


def comparable(rtype: ResourceType, document: dict[str, Any]) -> dict[str, Any]:
    """The document reduced to what a restore must reproduce: no Graph-managed fields
    (:func:`own_fields`), no server ids of sub-entries, sets sorted, secrets as a write
    carries them (:func:`shared.graph.secrets.writable`). Two objects are semantically equal
    when their comparable forms are."""
    doc = writable(rtype, drop_deep(strip_annotations(document), COMMON_VOLATILE))
    out = copy.deepcopy(own_fields(rtype, doc))
    for sub in rtype.subcollections:
        entries = [clean_entry(sub, e) for e in out.get(sub.name) or [] if isinstance(e, dict)]
        if sub.unordered:
            entries.sort(key=canonical_json)
        out[sub.name] = entries
    return out


def diff(rtype: ResourceType, live: dict[str, Any], desired: dict[str, Any]
         ) -> list[dict[str, str]]:
    """Field-level differences live → desired (``shared.restore.diff``) over the comparable forms,
    so Graph-managed fields and server ids never show up as changes."""
    return field_diff(comparable(rtype, live), comparable(rtype, desired))
