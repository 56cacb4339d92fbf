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
- ``fail``: a permanent Graph error; or an exclusion of a group that does not exist
  (``missing_exclusion``).

Groups are created only when the request says ``create_missing_groups`` (DESIGN §7.1); a
group gone live is otherwise skipped (``not_creatable``). **A missing reference never widens
scope**: once references are rewritten through the id map, the groups an item would write
are looked up in one call per batch (:func:`existing_group_ids`). An include of a group that
does not exist is left out (an assignment, an id of a CA ``includeGroups``) and reported as a
``missing_reference`` warning, the rest is written; an exclusion of one (a
:class:`Reference` marked ``exclusion``) fails the item with ``missing_exclusion``, and
nothing of it is written. An assignment filter or scope tag that does not exist
(:data:`CHECKED_TARGETS`: Graph refuses a write naming one) fails the item with
``missing_reference`` before anything of it is written. A preview asks ``restored`` which of
the missing objects the restore itself would bring back first, so it reports what the live
run would.

Conditional Access: with ``ca_state: report_only`` the restore writes an enabled policy
report-only, so a live policy that equals the snapshot *or* its report-only form is left alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.graph import (
    ResourceType,
    Restore,
    diff,
    fetch_snapshot,
    fetch_snapshots,
    find_by_display_name,
    list_items,
    rewrite_references,
    to_create_payload,
    to_update_payload,
)
from shared.graph.entries.groups import GROUPS, existing_group_ids
from shared.graph.payloads import drop_references, referenced_ids
from shared.graph.resource import Reference
from shared.platform.codes import ErrorCode
from shared.platform.errors import GraphError, GraphForbidden, GraphNotFound
from shared.restore.diff import Diff

ASSIGNMENTS = "assignments"
_SHOWN_IDS = 5  # group ids named in one message
# Preview: (type, missing ids of it) → {missing id: the id it would have once this restore
# wrote it}, for the objects of the restore's own selection it would bring back first.
Restored = Callable[[str, Collection[str]], Awaitable[Mapping[str, str]]]
# What else a write names that Graph checks: a gone assignment filter or scope tag makes it
# refuse the write (400), so a preview says so as the live run will meet it.
CHECKED_TARGETS = ("assignmentFilters", "roleScopeTags")
# Ids every tenant holds, never looked up: "no filter", and the built-in Default scope tag
# (which cannot be deleted), on nearly every object.
_ALWAYS_THERE = {("assignmentFilters", "00000000-0000-0000-0000-000000000000"),
                 ("roleScopeTags", "0")}


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
    warnings: list[dict[str, str]] = field(default_factory=list)  # e.g. missing_reference


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
        for name in rtype.create_only:  # an update cannot change it: as it is live
            if name in live:
                effective[name] = live[name]
            else:
                effective.pop(name, None)
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
                       id_map: dict[str, dict[str, str]] | None = None,
                       create_missing_groups: bool = False,
                       restored: Restored | None = None,
                       by_name_only: bool = False,
                       transient_fails: bool = False) -> list[Assessment]:
    """Assess ``snapshots`` (``(item id, document)`` of one type). Raises only retryable
    Graph errors; permanent ones become ``fail``/``skip`` assessments, and so do retryable
    ones with ``transient_fails`` (a batch's last try). ``by_name_only``
    (another tenant's snapshots, DESIGN §11): a snapshot's id means nothing here, so only an
    id the id map gives (and a singleton's key) is looked up; the rest match by name."""
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
    by_id = not by_name_only or rtype.singleton
    lookups = [own.get(a.policy_id, a.policy_id if by_id else None) for a in out]
    asked = [lookup for lookup in lookups if lookup is not None]
    fetched = iter(await fetch_snapshots(tenant_id, rtype.key, asked) if asked else [])
    by_name: list[Assessment] = []
    for a, lookup in zip(out, lookups, strict=True):
        if lookup is None:
            by_name.append(a)
            continue
        result = next(fetched)
        if result.document is not None:
            a.live, a.target_id = result.document, lookup
        elif isinstance(result.error, GraphNotFound):
            by_name.append(a)
        else:
            _refuse(a, result.error, transient_fails)
    await asyncio.gather(*(_match_by_name(tenant_id, rtype, a, transient_fails)
                           for a in by_name))
    for a in out:
        refusal = None
        if a.action == "pending" and a.live is None:
            refusal = _creation_refused(rtype, a.desired, create_missing_groups)
        if refusal is not None:
            a.action, a.error = "skip", refusal
    await _check_groups(tenant_id, rtype, [a for a in out if a.action == "pending"],
                        include_assignments, restored, transient_fails)
    await _check_references(tenant_id, rtype, [a for a in out if a.action == "pending"],
                            include_assignments, restored, transient_fails,
                            id_map if by_name_only else None)
    for a in out:
        if a.action != "pending":
            continue
        a.diff, a.write_body, a.write_assignments = compare(
            rtype, a.live, a.desired, include_assignments=include_assignments,
            ca_state=ca_state)
        a.action = "create" if a.live is None else ("update" if a.diff else "no_change")
    return out


def _creation_refused(rtype: ResourceType, desired: dict[str, Any],
                      create_missing_groups: bool) -> dict[str, str] | None:
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
                "message": f"{rtype.key}: Graph does not let this object be created (a "
                           "built-in, or a kind another service manages, such as a "
                           "mail-enabled security or distribution group)"}
    if rtype.key == GROUPS and not create_missing_groups:
        return {"code": ErrorCode.NOT_CREATABLE,
                "message": "the group no longer exists and was not created: the restore "
                           "did not set create_missing_groups"}
    return None


def _group_refs(rtype: ResourceType) -> bool:
    return any(ref.targets == (GROUPS,) for ref in rtype.references)


def _written(a: Assessment, include_assignments: bool) -> dict[str, Any]:
    """The part of the desired document a restore writes (assignments only with them)."""
    if include_assignments:
        return a.desired
    return {k: v for k, v in a.desired.items() if k != ASSIGNMENTS}


async def _check_groups(tenant_id: str, rtype: ResourceType, pending: list[Assessment],
                        include_assignments: bool,
                        restored: Restored | None, transient_fails: bool) -> None:
    """Leave out includes of groups that do not exist (a warning on the item); fail an item
    that excludes one. One lookup for the whole batch."""
    if not pending or not _group_refs(rtype):
        return
    named = {a.item_id: [(ref, gid) for ref, gid in referenced_ids(
        rtype, _written(a, include_assignments)) if ref.targets == (GROUPS,)]
        for a in pending}
    wanted = {gid for refs in named.values() for _, gid in refs}
    if not wanted:
        return
    try:
        present = await existing_group_ids(tenant_id, wanted)
    except GraphError as exc:  # unverified references are never written
        for a in pending:
            if named[a.item_id]:
                _refuse(a, exc, transient_fails)
        return
    missing = {gid for gid in wanted if gid.lower() not in present}
    planned = dict(await restored(GROUPS, missing)) if restored and missing \
        else {}
    present |= {gid.lower() for gid in [*planned, *planned.values()]}
    for a in pending:
        gone = [(ref, gid) for ref, gid in named[a.item_id] if gid.lower() not in present]
        if planned:
            a.desired = rewrite_references(rtype, a.desired, {GROUPS: planned})
        if gone:
            _leave_out(rtype, a, gone, include_assignments)


async def _check_references(tenant_id: str, rtype: ResourceType, pending: list[Assessment],
                            include_assignments: bool, restored: Restored | None,
                            transient_fails: bool,
                            mapped: Mapping[str, Mapping[str, str]] | None) -> None:
    """Fail an item naming a :data:`CHECKED_TARGETS` object the tenant does not hold (nor
    this restore brings back first): Graph would refuse its write, after its body may be
    written. One listing per referenced type for the whole batch. Across tenants
    (``mapped``: the id map) only an id the map gives is the target's: another id is the
    source's, and a scope tag's small number names some other tag in any tenant."""
    named = {a.item_id: [(target, value) for ref, value in referenced_ids(
        rtype, _written(a, include_assignments)) if len(ref.targets) == 1
        for target in ref.targets if target in CHECKED_TARGETS
        and (target, value) not in _ALWAYS_THERE]
        for a in pending}
    wanted = {target: {value for refs in named.values() for kind, value in refs
                       if kind == target} for target in CHECKED_TARGETS}
    wanted = {target: values for target, values in wanted.items() if values}
    listings = await asyncio.gather(*(list_items(tenant_id, target) for target in wanted),
                                    return_exceptions=True)
    for (target, values), listing in zip(wanted.items(), listings, strict=True):
        if isinstance(listing, GraphError):  # unverified references are never written
            for a in pending:
                if any(kind == target for kind, _ in named[a.item_id]):
                    _refuse(a, listing, transient_fails)
            continue
        if isinstance(listing, BaseException):
            raise listing
        present = {ref.id.lower() for ref in listing}
        if mapped is not None:
            present &= {value.lower() for value in mapped.get(target, {}).values()}
        missing = {value for value in values if value.lower() not in present}
        if missing and restored is not None:
            missing -= set(await restored(target, missing))
        for a in pending:
            gone = sorted({v for kind, v in named[a.item_id] if kind == target and v in missing})
            if gone and a.action == "pending":
                a.action = "fail"
                a.error = {"code": ErrorCode.MISSING_REFERENCE,
                           "message": f"{target} {_ids(gone)} do not exist in the tenant: "
                                      "Graph would refuse the write, so nothing of it was "
                                      "written"}


def _leave_out(rtype: ResourceType, a: Assessment, gone: list[tuple[Reference, str]],
               include_assignments: bool) -> None:
    excluded = sorted({gid for ref, gid in gone if ref.exclusion})
    if excluded:
        a.action = "fail"
        a.error = {"code": ErrorCode.MISSING_EXCLUSION,
                   "message": f"excluded group(s) {_ids(excluded)} do not exist in the tenant; "
                              "without the exclusion it would reach more, so nothing of it "
                              "was written"}
        return
    ids = {gid for _, gid in gone}
    written, complete = drop_references(
        rtype, _written(a, include_assignments),
        lambda ref, value: ref.targets == (GROUPS,) and not ref.exclusion and value in ids)
    if not complete:
        a.action = "fail"
        a.error = {"code": ErrorCode.MISSING_REFERENCE,
                   "message": f"group(s) {_ids(sorted(ids))} do not exist in the tenant and "
                              "cannot be left out"}
        return
    if not include_assignments and ASSIGNMENTS in a.desired:
        written[ASSIGNMENTS] = a.desired[ASSIGNMENTS]
    a.desired = written
    a.warnings.append({"code": ErrorCode.MISSING_REFERENCE,
                       "message": f"group(s) {_ids(sorted(ids))} do not exist in the tenant: "
                                  "what included them was left out, the rest is written"})


def _ids(ids: list[str]) -> str:
    shown = ", ".join(ids[:_SHOWN_IDS])
    return shown + (f" (and {len(ids) - _SHOWN_IDS} more)" if len(ids) > _SHOWN_IDS else "")


async def _match_by_name(tenant_id: str, rtype: ResourceType, a: Assessment,
                         transient_fails: bool) -> None:
    if not a.display_name or rtype.singleton:  # a singleton is its key or nothing
        return
    try:
        named = await find_by_display_name(tenant_id, rtype.key, a.display_name)
        # A name is only a match within one kind: a Windows profile is never written over a
        # macOS one, nor an iOS app protection policy over an Android one.
        kind = a.desired.get("@odata.type")
        refs = [r for r in named if kind is None or r.odata_type in (None, kind)]
        if len(named) > len(refs) and not refs:
            a.warnings.append({
                "code": ErrorCode.NAME_IN_USE,
                "message": f"an object of another kind is named {a.display_name!r}; it is "
                           "left as it is, and this one is created beside it"})
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
        _refuse(a, exc, transient_fails)


def _refuse(a: Assessment, exc: GraphError | None, transient_fails: bool = False) -> None:
    """The item is not written: ``skip`` where the app may not touch it, ``fail`` otherwise.
    A transient refusal fails the batch instead (its retry asks again), unless
    ``transient_fails``."""
    if exc is not None and exc.retryable and not transient_fails:
        raise exc
    a.action = "skip" if isinstance(exc, GraphForbidden) else "fail"
    a.error = exc.to_dict() if exc is not None else {"code": ErrorCode.GRAPH_ERROR,
                                                     "message": "no answer for this item"}
