"""The mapping plan of a cross-tenant deployment (DESIGN §11): which source object each
reference becomes in the target, decided before anything is written.

References are found by the catalog's :class:`~shared.graph.resource.Reference` declarations
(:func:`shared.graph.payloads.referenced_ids`): one piece for every type, no per-type code.
Each distinct ``(kind, source id)`` becomes one :class:`MappingRow`, resolved in this order:

1. the request's override (``mappings``: a target id, or ``None`` to drop it) — ``override``;
2. the pair's saved registry — ``registry`` (a saved target that no longer exists is
   ``missing``, never used);
3. by display name in the target — ``name``: one object is ``mapped``, several
   ``ambiguous``, none ``will_create`` when the deployment itself brings the object (and may
   create it), else ``missing``;
4. ``id``: an id that means the same in every tenant — an application's ``appId``, a
   built-in object (an authentication strength, the Default scope tag) present in the target
   under that id; never an id a tenant numbers itself (:data:`TENANT_LOCAL_IDS`).

The source name comes from the source backup set (a referenced object the set does not hold
has none: it can only be mapped by override or registry).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from shared.deploy.target import TargetIndex
from shared.graph.catalog import BY_KEY
from shared.graph.entries.groups import GROUPS
from shared.graph.entries.identity import APPLICATIONS, USERS
from shared.graph.payloads import referenced_ids
from shared.graph.resource import Reference

TENANT_VALUE = "tenant_value"
# Types whose ids the client chooses on create (PATCH upserts: DESIGN §7.1), and the ids there
# are: across tenants a source id another object holds in the target gets a free one.
CLIENT_CHOSEN_IDS: dict[str, tuple[str, ...]] = {
    "authenticationContextClassReferences": tuple(f"c{n}" for n in range(1, 100)),
}
PAYLOADS = "payloads"  # a multi-type reference (a policy set's items) whose id the set lacks
# Types whose ids are numbered per tenant (a scope tag's "1", a context's "c1"): the same id in
# the target is another object, so such an id is only ever mapped by name, override or
# registry — but for the built-ins every tenant holds under one id.
TENANT_LOCAL_IDS = frozenset({USERS, "roleScopeTags", *CLIENT_CHOSEN_IDS})
SAME_IN_EVERY_TENANT = frozenset({("roleScopeTags", "0")})  # the Default scope tag


class Status(StrEnum):
    MAPPED = "mapped"
    WILL_CREATE = "will_create"
    AMBIGUOUS = "ambiguous"
    MISSING = "missing"
    DROPPED = "dropped"


class Via(StrEnum):
    NAME = "name"
    REGISTRY = "registry"
    OVERRIDE = "override"
    ID = "id"  # the same id in every tenant (appId, built-in)
    TENANT = "tenant"  # a tenant value: the target tenant's own id or domain


UNRESOLVED = frozenset({Status.AMBIGUOUS, Status.MISSING})


@dataclass
class MappingRow:
    kind: str
    source_id: str
    status: str
    via: str
    source_name: str | None = None
    target_id: str | None = None
    referenced_by: list[str] = field(default_factory=list)
    exclusion: bool = False  # dropping it would widen scope (DESIGN §7.1)
    path: str | None = None  # tenant values: the property path in the (one) item
    candidates: list[str] = field(default_factory=list)  # ambiguous: the target ids

    @property
    def key(self) -> str:
        suffix = f"|{self.referenced_by[0]}|{self.path}" if self.kind == TENANT_VALUE else ""
        return f"{self.kind}|{self.source_id}{suffix}"

    @property
    def unresolved(self) -> bool:
        return self.status in UNRESOLVED

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MappingRow:
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass(frozen=True)
class SourceItem:
    item_id: str
    policy_type: str
    policy_id: str
    document: dict[str, Any]


@dataclass
class Use:
    kind: str
    source_id: str
    exclusion: bool = False
    referenced_by: list[str] = field(default_factory=list)


def kind_of(ref: Reference, source_id: str, names: Mapping[tuple[str, str], str]) -> str:
    """The catalog type a referenced id names: the reference's one target, or the one of
    several (a policy set's items) under which the source set holds that id."""
    if len(ref.targets) == 1:
        return ref.targets[0]
    return next((t for t in ref.targets if (t, source_id) in names), PAYLOADS)


def discover(items: Iterable[SourceItem], names: Mapping[tuple[str, str], str]
             ) -> dict[tuple[str, str], Use]:
    """Every distinct referenced ``(kind, source id)`` of ``items``, with who refers to it
    and whether any use is an exclusion."""
    uses: dict[tuple[str, str], Use] = {}
    for item in items:
        for ref, source_id in referenced_ids(BY_KEY[item.policy_type], item.document):
            kind = kind_of(ref, source_id, names)
            use = uses.setdefault((kind, source_id), Use(kind, source_id))
            use.exclusion = use.exclusion or ref.exclusion
            if item.item_id not in use.referenced_by:
                use.referenced_by.append(item.item_id)
    return uses


@dataclass
class Resolution:
    rows: list[MappingRow]
    invalid: list[str]  # overrides refused (DESIGN §11: 422), as safe sentences

    @property
    def unresolved(self) -> list[MappingRow]:
        return [r for r in self.rows if r.unresolved]


def resolve(uses: Mapping[tuple[str, str], Use], *, names: Mapping[tuple[str, str], str],
            deployment: Mapping[tuple[str, str], dict[str, Any]], target: TargetIndex,
            overrides: Mapping[str, str | None], registry: Mapping[str, str],
            create_missing_groups: bool) -> Resolution:
    """One row per use; overrides that name nothing valid are listed in ``invalid``."""
    rows, invalid = [], []
    referenced = {source_id for _, source_id in uses}
    invalid += [f"{sid} is not referenced by the items deployed"
                for sid in sorted(set(overrides) - referenced)]
    for (kind, source_id), use in sorted(uses.items()):
        row = MappingRow(kind=kind, source_id=source_id, status=Status.MISSING, via=Via.NAME,
                         source_name=names.get((kind, source_id)),
                         referenced_by=sorted(use.referenced_by), exclusion=use.exclusion)
        if source_id in overrides:
            chosen = overrides[source_id]
            row.via = Via.OVERRIDE
            if chosen is None:
                if use.exclusion:
                    invalid.append(f"{source_id} ({kind}) is an exclusion: dropping it would "
                                   "widen what the items reach")
                else:
                    row.status = Status.DROPPED
            elif target.exists(kind, chosen):
                row.status, row.target_id = Status.MAPPED, chosen
            else:
                invalid.append(f"{chosen} is no {kind} object in the target")
        elif source_id in registry:
            row.via, row.target_id = Via.REGISTRY, registry[source_id]
            if target.exists(kind, row.target_id):
                row.status = Status.MAPPED
            else:  # saved once, deleted since: reported, never used
                row.status = Status.MISSING
        else:
            _by_name(row, target, deployment.get((kind, source_id)), create_missing_groups)
        rows.append(row)
    return Resolution(rows, invalid)


def _by_name(row: MappingRow, target: TargetIndex, brought: dict[str, Any] | None,
             create_missing_groups: bool) -> None:
    kind, source_id = row.kind, row.source_id
    if kind == APPLICATIONS or (row.source_name is None and (
            (kind, source_id) in SAME_IN_EVERY_TENANT
            or (kind not in TENANT_LOCAL_IDS and target.exists(kind, source_id)))):
        row.status, row.via, row.target_id = Status.MAPPED, Via.ID, source_id
        return
    if row.source_name is None:
        return  # missing: no name to look for (not in the source set; a user)
    found = target.named(kind, row.source_name)
    if len(found) == 1:
        row.status, row.target_id = Status.MAPPED, found[0]
    elif found:
        row.status, row.candidates = Status.AMBIGUOUS, found
    elif brought is not None and _creatable(kind, brought, create_missing_groups):
        row.status = Status.WILL_CREATE


def _creatable(kind: str, document: dict[str, Any], create_missing_groups: bool) -> bool:
    rtype = BY_KEY.get(kind)
    if rtype is None or not rtype.creatable or not rtype.can_create(document):
        return False
    if rtype.content_required is not None and rtype.content_required(document):
        return False
    return kind != GROUPS or create_missing_groups


def reserve_client_ids(rows: list[MappingRow], items: Iterable[SourceItem],
                       target: TargetIndex) -> None:
    """An object of a :data:`CLIENT_CHOSEN_IDS` type the deployment creates is written under
    its source id — unless another object holds that id in the target: then it gets a free
    id (a ``will_create`` row with that ``target_id``; the references are rewritten to it).
    A PATCH to a taken id would overwrite the target's own object."""
    for kind, pool in CLIENT_CHOSEN_IDS.items():
        rtype = BY_KEY[kind]
        mine = [i for i in items if i.policy_type == kind
                and not target.named(kind, str(i.document.get(rtype.name_field) or ""))]
        taken = set(target.objects.get(kind, {}))
        clashing = [i for i in mine if i.policy_id in taken]
        taken |= {i.policy_id for i in mine}
        by_source = {r.source_id: r for r in rows if r.kind == kind}
        for item in clashing:
            row = by_source.get(item.policy_id)
            if row is None:
                row = MappingRow(kind=kind, source_id=item.policy_id, status=Status.WILL_CREATE,
                                 via=Via.NAME, source_name=str(
                                     item.document.get(rtype.name_field) or ""))
                rows.append(row)
            free = next((c for c in pool if c not in taken), None)
            if free is None:
                row.status, row.target_id = Status.MISSING, None  # no id left to give it
            else:
                row.status, row.target_id = Status.WILL_CREATE, free
                taken.add(free)


def id_map(rows: Iterable[MappingRow]) -> dict[str, dict[str, str]]:
    """``{kind: {source id: target id}}`` of the mapped rows (and of objects created under a
    reserved id), as restore's id map takes."""
    out: dict[str, dict[str, str]] = {}
    for row in rows:
        if row.status in (Status.MAPPED, Status.WILL_CREATE) and row.kind != TENANT_VALUE \
                and row.target_id:
            out.setdefault(row.kind, {})[row.source_id] = row.target_id
    return out


def dropped(rows: Iterable[MappingRow]) -> set[tuple[str, str]]:
    return {(r.kind, r.source_id) for r in rows if r.status == Status.DROPPED}


def unresolved_summary(rows: Iterable[MappingRow]) -> list[dict[str, Any]]:
    """What a 422 ``mapping_unresolved`` lists."""
    return [{"kind": r.kind, "source_id": r.source_id, "source_name": r.source_name,
             "status": r.status, "candidates": r.candidates, "referenced_by": r.referenced_by}
            for r in rows if r.unresolved]
