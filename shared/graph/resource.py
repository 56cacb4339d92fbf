"""What a catalog entry is: :class:`ResourceType` and its parts, as data (STYLE rule 10).

An entry states how its type is read (sub-collections and how each is fetched most cheaply),
which fields Graph manages (stripped before writes, ignored by diffs) or changes without a
content change (left out of snapshots), how it is written, what a restore may do with it
(:class:`Restore`, ``singleton``, ``content_required``, ``can_create``), which other objects it
refers to (:class:`Reference`) and which of its properties are secrets (DESIGN §7.1, §12).
The entries themselves live in :mod:`shared.graph.entries`, one module per area.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from shared.graph.documents import COMMON_VOLATILE, SUB_SERVER_FIELDS
from shared.platform.errors import ValidationFailed

if TYPE_CHECKING:
    from shared.graph.hooks import WriteContext
    from shared.graph.secrets import Secret

# Graph-managed fields, stripped before every write and ignored by comparisons.
COMMON_READ_ONLY = frozenset({
    "id", "createdDateTime", "settingCount", "isAssigned", "creationSource",
    "priorityMetaData", "supportsScopeTags",
})
VERSIONED = frozenset({"version"})  # an ETag-like counter Graph bumps on every change
G = "#microsoft.graph."


class Restore(StrEnum):
    """What a restore may write for a type (DESIGN §7.1)."""

    FULL = "full"  # create, update, assign
    UPDATE_ONLY = "update_only"  # an existing object is updated; one that is gone is skipped
    NONE = "none"  # backed up for reference only: restore answers skipped / not_restorable


@dataclass(frozen=True)
class SubCollection:
    """A navigation that belongs in the complete document (``settings``, ``assignments``…).

    How it is read, cheapest first (what Graph supports, per the entry's ``evidence``):
    ``via_list_expand`` — inline in the collection list through its ``$expand``;
    ``via_item_expand`` — inline in the item GET through its ``$expand``; otherwise a paged
    ``GET {item}/{name}`` (``expand`` is the ``$expand`` of each entry or of the
    navigation). ``count_field`` names the object's property that counts the entries
    (``settingCount``): fewer entries inline means Graph cut them short, and they are read
    again on their own. ``nested`` names lists inside each entry whose members carry server
    ids. ``unordered`` marks set semantics: entries are sorted by content in the snapshot so
    the hash does not depend on Graph's order. ``write_inline`` sends the entries inside the
    create body (and a PUT update).
    """

    name: str
    expand: str | None = None
    via_item_expand: bool = False
    via_list_expand: bool = False
    count_field: str | None = None
    nested: tuple[str, ...] = ()
    unordered: bool = False
    write_inline: bool = False
    server_fields: frozenset[str] = SUB_SERVER_FIELDS


@dataclass(frozen=True)
class Reference:
    """Ids at ``path`` (dotted; ``[]`` walks a list) name objects of catalog type ``target``
    (``groups`` included) — or of one of several types (a policy set's items). With
    ``within`` (an ``@odata.type``), ``path`` starts at every object of that type at any
    depth (settings catalog values that point at reusable settings, assignment targets). A
    restore writes the targets first (:func:`shared.graph.catalog.restore_levels`) and
    rewrites the ids through its old→new id map
    (:func:`shared.graph.payloads.rewrite_references`).

    ``exclusion`` marks ids that narrow what the object reaches (an excluded group). A group
    that no longer exists is never silently dropped from an exclusion: without it the object
    would reach more (DESIGN §7.1) — the restore fails the item (``missing_exclusion``),
    where a missing *include* is left out and reported (``missing_reference``)."""

    target: str | tuple[str, ...]
    path: str
    within: str | None = None
    exclusion: bool = False
    # The id counts only where the object holding it has these values (``targetType`` group),
    # and never when it is one of ``keywords`` (``all_users``: a name, not an object).
    where: tuple[tuple[str, str], ...] = ()
    keywords: frozenset[str] = frozenset()

    @property
    def targets(self) -> tuple[str, ...]:
        return (self.target,) if isinstance(self.target, str) else self.target

    def names(self, holder: dict[str, Any], value: Any) -> bool:
        """Whether ``value``, found at the end of ``path`` in ``holder``, names an object."""
        return (isinstance(value, str) and bool(value) and value not in self.keywords
                and all(holder.get(k) == v for k, v in self.where))


ASSIGNMENTS = SubCollection("assignments", unordered=True)
# Assignments inline in the collection list (``?$expand=assignments``) or in the item GET.
LISTED_ASSIGNMENTS = SubCollection("assignments", unordered=True, via_list_expand=True)
ITEM_ASSIGNMENTS = SubCollection("assignments", unordered=True, via_item_expand=True)
SCOPE_TAGS = Reference("roleScopeTags", "roleScopeTagIds[]")
ASSIGNMENT_FILTERS = Reference(
    "assignmentFilters", "assignments[].target.deviceAndAppManagementAssignmentFilterId")
# Group assignment targets, wherever they sit (``assignments[].target`` of every type):
# an included group, and an excluded one (Graph's exclusionGroupAssignmentTarget).
ASSIGNMENT_GROUPS = Reference("groups", "groupId", within=f"{G}groupAssignmentTarget")
ASSIGNMENT_EXCLUSIONS = Reference("groups", "groupId",
                                  within=f"{G}exclusionGroupAssignmentTarget", exclusion=True)
# Windows 365 policies assign to a group through their own target type (no exclusions).
CLOUD_PC_GROUPS = Reference("groups", "groupId",
                            within=f"{G}cloudPcManagementGroupAssignmentTarget")
ASSIGNED = (SCOPE_TAGS, ASSIGNMENT_FILTERS, ASSIGNMENT_GROUPS, ASSIGNMENT_EXCLUSIONS)


def _always(_doc: dict[str, Any]) -> bool:
    return True


@dataclass(frozen=True)
class ResourceType:
    """One supported type. Shapes (DESIGN §7.1), all as data:

    - a **collection** (the default) at ``path``; ``include`` picks the listed objects this
      entry backs up (custom roles only, …; it may need ``listed_fields`` in the list
      ``$select``);
    - a **singleton** (``singleton=True``): one object at ``path`` — or the
      ``singleton_property`` of the object there (``deviceManagement.settings``) — whose item
      id is the entry's key; read with one GET, written with ``update_method``, never created
      or deleted; its sub-collections come from that GET where Graph returns them inline,
      else from ``GET {path}/{name}``; ``singleton_parts`` are single-valued navigations
      (``crossTenantAccessPolicy.default``), each read with ``GET {path}/{name}`` and kept in
      the document under its name (the entry's hooks write them);
    - ``licensed_by``: prefixes of the service plan names
      (``subscribedSkus[].servicePlans[].servicePlanName``) that license the type, for a
      workload that answers a tenant without its licence 403, as it answers an app without
      the permission (:mod:`shared.graph.licences` tells the two apart);
    - ``restore`` says what a restore may write (:class:`Restore`); ``can_create`` refuses
      objects nobody can create (built-ins → ``not_creatable``); ``content_required`` marks
      objects whose create needs uploaded content a backup does not hold
      (→ ``content_required``; an update still works); ``create_path`` sends the create to
      another place than the collection (a template's ``createInstance``, or the item path
      with ``create_method="PATCH"`` where the client picks the id);
    - ``links``: single-valued navigations that name another object and that only an item
      GET's ``$expand`` brings (a tunnel site's ``microsoftTunnelConfiguration``);
      ``written_by_id``: dotted paths of navigations Graph returns inline on every read (a CA
      policy's ``grantControls.authenticationStrength``). Of both, snapshots, write bodies and
      comparisons keep only ``{"id"}`` (the named object is backed up on its own; declare the
      ``….id`` reference so restore remaps it);
    - ``secrets``: the properties that hold secrets (DESIGN §12): a bare name at any depth,
      or a :class:`shared.graph.secrets.Secret` saying which objects hold it and how Graph
      serves it (masked and revealed by a function, never returned); every output redacts
      them and :mod:`shared.graph.secrets` is the one place that reads this;
    - ``create_only``: properties Graph takes on create but refuses or ignores on update
      (a custom attribute's name, a group's ``isAssignableToRole``): never in an update
      body, and a live value that differs is not a change a restore could make;
    - ``select``: every property, for types whose reads leave some out unless ``$select``
      names them (reusable settings' ``settingInstance``): list and item GETs select these;
    - ``assign_via`` writes assignments where Graph has no ``/assign`` (terms and
      conditions, Apple user-initiated enrollment:
      :func:`shared.graph.hooks.assign_entry_by_entry`).
    """

    key: str
    path: str
    version: str
    name_field: str = "displayName"
    subcollections: tuple[SubCollection, ...] = (ASSIGNMENTS,)
    assign_key: str | None = "assignments"  # body key of POST {item}/assign; None: no /assign
    assign_via: Callable[[WriteContext, Sequence[dict[str, Any]]], Awaitable[None]] | None = None
    read_only: frozenset[str] = frozenset()
    volatile: frozenset[str] = frozenset()
    update_method: str = "PATCH"
    references: tuple[Reference, ...] = ASSIGNED
    write_paths: tuple[tuple[str, str], ...] = ()  # polymorphic: @odata.type → collection
    prepare: Callable[[dict[str, Any], dict[str, Any], str, str], dict[str, Any]] | None = None
    after_write: Callable[[WriteContext], Awaitable[None]] | None = None
    can_create: Callable[[dict[str, Any]], bool] = field(default=_always)
    list_omits: frozenset[str] = frozenset()  # properties only an item GET carries
    evidence: tuple[str, ...] = ()  # why the read plan is what Graph serves (docs, records)
    licensed_by: tuple[str, ...] = ()  # service plans that license it (shared.graph.licences)
    # Shapes and restore support (DESIGN §7.1)
    restore: Restore = Restore.FULL
    singleton: bool = False
    singleton_property: str | None = None
    singleton_parts: tuple[str, ...] = ()
    include: Callable[[dict[str, Any]], bool] = field(default=_always)
    listed_fields: tuple[str, ...] = ()
    content_required: Callable[[dict[str, Any]], bool] | None = None
    create_path: Callable[[dict[str, Any]], str] | None = None
    create_method: str = "POST"  # PATCH for ids a client chooses (authentication contexts)
    secrets: frozenset[str | Secret] = frozenset()
    create_only: frozenset[str] = frozenset()
    links: tuple[str, ...] = ()
    written_by_id: tuple[str, ...] = ()
    select: tuple[str, ...] = ()

    @property
    def has_assignments(self) -> bool:
        return self.assign_key is not None or self.assign_via is not None

    @property
    def creatable(self) -> bool:
        """Whether a restore may ever create an object of this type."""
        return self.restore is Restore.FULL and not self.singleton

    @property
    def id_only(self) -> tuple[str, ...]:
        """Dotted paths of navigations a document keeps as ``{"id"}`` only."""
        return (*self.links, *self.written_by_id)

    @property
    def has_built_ins(self) -> bool:
        """Whether some objects of the type can never be created (``can_create`` is set)."""
        return self.can_create is not _always

    @property
    def list_select(self) -> str:
        return ",".join(dict.fromkeys(("id", self.name_field, *self.listed_fields)))

    @property
    def item_expand(self) -> str | None:
        parts = [s.expand or s.name for s in self.subcollections if s.via_item_expand]
        return ",".join([*parts, *self.links]) or None

    @property
    def list_expand(self) -> str | None:
        parts = [s.expand or s.name for s in self.subcollections if s.via_list_expand]
        return ",".join(parts) or None

    @property
    def listing_complete(self) -> bool:
        """Whether the collection list (with :attr:`list_expand`) returns whole documents."""
        return not self.list_omits and not self.links and all(
            s.via_list_expand for s in self.subcollections)

    @property
    def strip_on_write(self) -> frozenset[str]:
        return COMMON_READ_ONLY | COMMON_VOLATILE | self.volatile | self.read_only

    @property
    def sub_names(self) -> frozenset[str]:
        return frozenset(s.name for s in self.subcollections)

    def sub(self, name: str) -> SubCollection | None:
        return next((s for s in self.subcollections if s.name == name), None)

    def supports(self, odata_type: str | None) -> bool:
        """Whether a listed object is one this entry handles (polymorphic collections)."""
        return not self.write_paths or odata_type in dict(self.write_paths)

    def captures(self, listed: dict[str, Any]) -> bool:
        """Whether a listed object is backed up under this entry."""
        return self.supports(listed.get("@odata.type")) and self.include(listed)

    def object_path(self, item_id: str, document: dict[str, Any] | None = None) -> str:
        """Where one object lives: a singleton at ``path`` (its only id is the key), any other
        at ``{collection}/{id}``."""
        if not isinstance(item_id, str) or not item_id:
            raise ValidationFailed("item id must be a non-empty string")
        if self.singleton:
            if item_id != self.key:
                raise ValidationFailed(f"{self.key} is a singleton: its only id is {self.key}")
            return self.path
        return f"{self.collection_for(document)}/{quote(item_id, safe='')}"

    def collection_for(self, document: dict[str, Any] | None = None) -> str:
        """Where an object lives for sub-collection reads and all writes."""
        if not self.write_paths:
            return self.path
        odata_type = (document or {}).get("@odata.type")
        paths = dict(self.write_paths)
        if odata_type not in paths:
            raise ValidationFailed(f"{self.key}: unsupported @odata.type {odata_type!r}")
        return paths[odata_type]
