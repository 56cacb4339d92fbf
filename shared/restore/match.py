"""Deciding what a restore does with each backup item (DESIGN §8) — reads only, every type.

For a batch of one type: the snapshot's references are rewritten through the run's id map,
the live object is found by id (through the map when the restore already recreated it), else
by a unique display name, and the two are compared in their comparable forms
(:func:`shared.graph.comparable`: Graph-managed fields and server ids never count). The
outcome is one of:

- ``create``: nothing matches (and the type lets the object be created);
- ``update``: the live object differs; ``write_body`` / ``write_assignments`` say which of the
  two writes are needed, so an object whose only change is its assignments gets only /assign;
- ``no_change``: the live object already equals the snapshot — nothing is written;
- ``skip``: several objects carry the name (never guessed); a type backed up for reference
  only (``not_restorable``); an object gone live that cannot be created — an update-only type
  (``not_restorable``), one whose create needs uploaded content (``content_required``), a
  built-in (``not_creatable``); or a type the tenant cannot read;
- ``fail``: a permanent Graph error.

Conditional Access: with ``ca_state: report_only`` the restore writes an enabled policy
report-only, so a live policy that equals the snapshot *or* its report-only form is left alone.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from shared.graph import (
    ResourceType,
    Restore,
    diff,
    fetch_snapshot,
    fetch_snapshots,
    find_by_display_name,
    rewrite_references,
    to_create_payload,
    to_update_payload,
)
from shared.platform.codes import ErrorCode
from shared.platform.errors import GraphError, GraphForbidden, GraphNotFound
from shared.restore.diff import Diff

ASSIGNMENTS = "assignments"


@dataclass
class Assessment:
    item_id: str
    policy_id: str  # the snapshot's id
    display_name: str
    desired: dict[str, Any]  # the snapshot, references rewritten through the id map
    action: str  # create | update | no_change | skip | fail
    live: dict[str, Any] | None = None
    target_id: str | None = None  # the live object's id
    diff: Diff = field(default_factory=list)
    write_body: bool = False
    write_assignments: bool = False
    error: dict[str, str] | None = None


def _effective(rtype: ResourceType, desired: dict[str, Any], ca_state: str,
               live: dict[str, Any] | None) -> dict[str, Any]:
    """What the restore would make the object: the snapshot with the write hooks' top-level
    adjustments (e.g. a CA policy created report-only; its state left as it is live on an
    update)."""
    if live is None:
        payload = to_create_payload(rtype, desired, ca_state=ca_state)
    else:
        payload = to_update_payload(rtype, desired, ca_state=ca_state)
    effective = dict(desired)
    effective.update({k: v for k, v in payload.items() if k not in rtype.sub_names})
    if live is not None:
        written = to_update_payload(rtype, desired, ca_state="as_snapshot")
        for name in written.keys() - payload.keys():  # a hook leaves it as it is live
            if name in live:
                effective[name] = live[name]
    return effective


def _scope(rtype: ResourceType, document: dict[str, Any], include_assignments: bool
           ) -> dict[str, Any]:
    if include_assignments and rtype.has_assignments:
        return document
    return {k: v for k, v in document.items() if k != ASSIGNMENTS}


def compare(rtype: ResourceType, live: dict[str, Any] | None, desired: dict[str, Any], *,
            include_assignments: bool, ca_state: str) -> tuple[Diff, bool, bool]:
    """``(diff, write_body, write_assignments)`` live → what the restore would write."""
    effective = _scope(rtype, _effective(rtype, desired, ca_state, live), include_assignments)
    if live is None:
        return diff(rtype, {}, effective), True, bool(effective.get(ASSIGNMENTS))
    current = _scope(rtype, live, include_assignments)
    if not diff(rtype, current, _scope(rtype, desired, include_assignments)):
        return [], False, False  # equal to the snapshot itself (e.g. CA enabled as captured)
    changes = diff(rtype, current, effective)
    assignment_changes = [c for c in changes if c["path"].split("[")[0].split(".")[0]
                          == ASSIGNMENTS]
    return changes, len(changes) > len(assignment_changes), bool(assignment_changes)


async def assess_batch(tenant_id: str, rtype: ResourceType,
                       snapshots: list[tuple[str, dict[str, Any]]], *,
                       include_assignments: bool, ca_state: str,
                       id_map: dict[str, dict[str, str]] | None = None) -> list[Assessment]:
    """Assess ``snapshots`` (``(item id, document)`` of one type). Raises only retryable
    Graph errors; permanent ones become ``fail``/``skip`` assessments."""
    id_map = id_map or {}
    own = id_map.get(rtype.key, {})
    out: list[Assessment] = []
    for item_id, snapshot in snapshots:
        out.append(Assessment(
            item_id=item_id, policy_id=str(snapshot.get("id") or ""),
            display_name=str(snapshot.get(rtype.name_field) or ""),
            desired=rewrite_references(rtype, snapshot, id_map), action="pending",
        ))
    if rtype.restore is Restore.NONE:
        for a in out:
            a.action = "skip"
            a.error = {"code": ErrorCode.NOT_RESTORABLE,
                       "message": f"{rtype.key} is backed up for reference only; Graph does "
                                  "not let it be written"}
        return out
    lookups = [own.get(a.policy_id, a.policy_id) for a in out]
    results = await fetch_snapshots(tenant_id, rtype.key, lookups)
    by_name: list[Assessment] = []
    for a, lookup, result in zip(out, lookups, results, strict=True):
        if result.document is not None:
            a.live, a.target_id = result.document, lookup
        elif isinstance(result.error, GraphNotFound):
            by_name.append(a)
        else:
            _refuse(a, result.error)
    await asyncio.gather(*(_match_by_name(tenant_id, rtype, a) for a in by_name))
    for a in out:
        if a.action != "pending":
            continue
        refusal = _creation_refused(rtype, a.desired) if a.live is None else None
        if refusal is not None:
            a.action, a.error = "skip", refusal
            continue
        a.diff, a.write_body, a.write_assignments = compare(
            rtype, a.live, a.desired, include_assignments=include_assignments,
            ca_state=ca_state)
        a.action = "create" if a.live is None else ("update" if a.diff else "no_change")
    return out


def _creation_refused(rtype: ResourceType, desired: dict[str, Any]) -> dict[str, str] | None:
    """Why an object that is gone live cannot be brought back by creating it, if it cannot."""
    if not rtype.creatable:
        return {"code": ErrorCode.NOT_RESTORABLE,
                "message": f"{rtype.key} can only be updated; no live object to update"}
    if rtype.content_required is not None and rtype.content_required(desired):
        return {"code": ErrorCode.CONTENT_REQUIRED,
                "message": f"{rtype.key}: creating it needs uploaded content a backup does "
                           "not hold; an existing object would be updated"}
    if not rtype.can_create(desired):
        return {"code": ErrorCode.NOT_CREATABLE,
                "message": f"{rtype.key}: a built-in object that cannot be created"}
    return None


async def _match_by_name(tenant_id: str, rtype: ResourceType, a: Assessment) -> None:
    if not a.display_name or rtype.singleton:  # a singleton is its key or nothing
        return
    try:
        refs = await find_by_display_name(tenant_id, rtype.key, a.display_name)
        if len(refs) > 1:
            a.action = "skip"
            a.error = {"code": ErrorCode.AMBIGUOUS_MATCH,
                       "message": f"{len(refs)} objects of type {rtype.key} are named "
                                  f"{a.display_name!r}; none was chosen"}
            return
        if refs:
            a.live = await fetch_snapshot(tenant_id, rtype.key, refs[0].id)
            a.target_id = refs[0].id
    except GraphError as exc:
        _refuse(a, exc)


def _refuse(a: Assessment, exc: GraphError | None) -> None:
    if exc is not None and exc.retryable:
        raise exc
    a.action = "skip" if isinstance(exc, GraphForbidden) else "fail"
    a.error = exc.to_dict() if exc is not None else {"code": ErrorCode.GRAPH_ERROR,
                                                     "message": "no answer for this item"}
