"""Comparing a type's live objects with its baseline items (DESIGN §10) — pure, no I/O.

:func:`match_objects` pairs them as restore matches a snapshot to a live object (DESIGN §8):
by id, else by a unique display name — a policy deleted and recreated (or restored with a new
id) is the same policy. A name is unique when exactly one unmatched live object and exactly
one unmatched baseline item carry it; several are reported (``ambiguous``), never guessed.
Singletons match by their key only. It works on anything with ``policy_id`` and
``display_name``, so restore or a report can share it; a name pairs only within one kind,
whose ``@odata.type`` the caller reads for the few :func:`name_candidates`.

:func:`drift_action` is one pair's outcome: ``in_sync`` or ``drifted`` with the field diff a
restore preview shows (``shared.graph.diff`` over comparable forms, direction live →
baseline: ``added`` means a remediation would add the property).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from shared.graph import ResourceType, diff
from shared.runs.model import ItemAction

DRIFT_ACTIONS = (ItemAction.IN_SYNC, ItemAction.DRIFTED, ItemAction.ADDED, ItemAction.REMOVED)


class Named(Protocol):
    @property
    def policy_id(self) -> str: ...

    @property
    def display_name(self) -> str: ...


B = TypeVar("B", bound=Named)
L = TypeVar("L", bound=Named)


@dataclass
class Matching(Generic[B, L]):
    """``pairs`` (baseline item, live object); baseline items with no live object
    (``removed``; ``ambiguous`` ones among them: their name fits several objects); live
    objects with no baseline item (``added``)."""

    pairs: list[tuple[B, L]] = field(default_factory=list)
    removed: list[B] = field(default_factory=list)
    added: list[L] = field(default_factory=list)
    ambiguous: list[B] = field(default_factory=list)


def name_candidates(baseline: Sequence[B], live: Sequence[L]) -> tuple[list[B], list[L]]:
    """The objects a name match may pair (no partner by id, a name the other side has too):
    the only ones whose kind :func:`match_objects` needs."""
    base_ids, live_ids = {b.policy_id for b in baseline}, {o.policy_id for o in live}
    rest = [b for b in baseline if b.policy_id not in live_ids and b.display_name]
    spare = [o for o in live if o.policy_id not in base_ids and o.display_name]
    names = {b.display_name for b in rest} & {o.display_name for o in spare}
    return ([b for b in rest if b.display_name in names],
            [o for o in spare if o.display_name in names])


def kind_of(document: Mapping[str, Any]) -> str:
    """A document's ``@odata.type`` as :func:`match_objects` takes it (``""`` when unsaid)."""
    return str(document.get("@odata.type") or "")


def match_objects(baseline: Sequence[B], live: Sequence[L], *, by_name: bool = True,
                  kinds: Mapping[str, str] | None = None) -> Matching[B, L]:
    """Pair ``baseline`` items with ``live`` objects: by id, then (``by_name``; off for a
    singleton) by a display name unique on both sides among what is still unmatched — and
    within one kind: ``kinds`` gives the ``@odata.type`` of the :func:`name_candidates` by
    policy id (the two sides' candidates never share an id), as restore matches (a Windows
    profile is no macOS one)."""
    kinds = kinds or {}

    def label(obj: Named) -> tuple[str, str]:
        return obj.display_name, kinds.get(obj.policy_id, "")

    live_ids = {obj.policy_id for obj in live}
    base_ids = {item.policy_id for item in baseline}
    out: Matching[B, L] = Matching()
    by_id = {obj.policy_id: obj for obj in live}
    out.pairs = [(item, by_id[item.policy_id]) for item in baseline
                 if item.policy_id in live_ids]
    rest = [item for item in baseline if item.policy_id not in live_ids]
    spare = [obj for obj in live if obj.policy_id not in base_ids]
    if by_name:
        live_names = Counter(label(obj) for obj in spare if obj.display_name)
        base_names = Counter(label(item) for item in rest if item.display_name)
        by_label = {label(obj): obj for obj in spare if live_names[label(obj)] == 1}
        taken: set[str] = set()
        unmatched = []
        for item in rest:
            name = label(item)
            if item.display_name and live_names[name] == 1 and base_names[name] == 1:
                out.pairs.append((item, by_label[name]))
                taken.add(by_label[name].policy_id)
                continue
            if item.display_name and live_names[name] and not (
                    live_names[name] == 1 == base_names[name]):
                out.ambiguous.append(item)
            unmatched.append(item)
        rest = unmatched
        spare = [obj for obj in spare if obj.policy_id not in taken]
    out.removed, out.added = rest, spare
    return out


def drift_action(rtype: ResourceType, live: dict[str, Any], baseline: dict[str, Any]
                 ) -> tuple[ItemAction, list[dict[str, str]]]:
    """``(in_sync, [])`` when the two are equal in their comparable forms, else
    ``(drifted, diff)`` live → baseline."""
    changes = diff(rtype, live, baseline)
    return (ItemAction.DRIFTED, changes) if changes else (ItemAction.IN_SYNC, [])


@dataclass(frozen=True)
class DriftCounts:
    """A drift check's items by action: the run's ``drift`` (DESIGN §10)."""

    in_sync: int = 0
    drifted: int = 0
    added: int = 0
    removed: int = 0

    @classmethod
    def of(cls, actions: Iterable[str]) -> DriftCounts:
        seen = Counter(actions)
        return cls(**{str(a): seen[str(a)] for a in DRIFT_ACTIONS})

    @property
    def found(self) -> bool:
        """Whether anything differs from the baseline."""
        return bool(self.drifted or self.added or self.removed)


__all__ = ["DRIFT_ACTIONS", "DriftCounts", "Matching", "Named", "drift_action",
           "kind_of", "match_objects", "name_candidates"]
