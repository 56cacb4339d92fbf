"""What a report's head says: the sets it covers, the table of contents and the glance.

The head is rendered last (its counts come from the whole walk) and stored first
(:mod:`.store`), so a report is one pass over the set however big it is.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from shared.reports.describe import Described

TOP_GROUPS = 10  # the glance's "assignments per group" shows the busiest groups
TOP_TYPES = 12  # and its "objects per type" the biggest types, the rest as one bar
LISTED_UNASSIGNED = 25  # and names this many objects without an assignment


@dataclass(frozen=True)
class SetInfo:
    backup_set_id: str
    created_at: str
    label: str | None = None


@dataclass
class ReportMeta:
    tenant_id: str
    tenant_name: str
    backup_set: SetInfo
    generated_at: str
    compare_to: SetInfo | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def title(self) -> str:
        if self.compare_to is None:
            return f"{self.tenant_name}: tenant configuration"
        return f"{self.tenant_name}: changes"


@dataclass
class TocEntry:
    policy_type: str
    count: int = 0  # objects of the type in the (newer) set
    added: int = 0
    removed: int = 0
    changed: int = 0
    unchanged: int = 0

    @property
    def title(self) -> str:
        return type_title(self.policy_type)

    @property
    def anchor(self) -> str:
        return f"type-{self.policy_type}"


def type_title(policy_type: str) -> str:
    """``deviceCompliancePolicies`` → ``Device compliance policies``."""
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", policy_type).lower()
    return words[:1].upper() + words[1:]


@dataclass
class Glance:
    """Counted during the walk: objects per type, assignments per group, the unassigned."""

    per_type: Counter[str] = field(default_factory=Counter)
    per_group: Counter[str] = field(default_factory=Counter)
    unassigned: int = 0
    unassigned_per_type: Counter[str] = field(default_factory=Counter)
    unassigned_names: list[tuple[str, str, str]] = field(default_factory=list)  # type, name, anchor
    objects: int = 0
    settings: int = 0

    def add(self, described: Described) -> None:
        self.objects += 1
        self.settings += len(described.settings)
        self.per_type[described.policy_type] += 1
        for assignment in described.assignments:
            if assignment.mode == "include":
                self.per_group[assignment.target] += 1
        if described.assignable and not described.assignments:
            self.unassigned += 1
            self.unassigned_per_type[described.policy_type] += 1
            if len(self.unassigned_names) < LISTED_UNASSIGNED:
                self.unassigned_names.append(
                    (described.policy_type, described.name, described.anchor))

    def type_rows(self) -> list[tuple[str, int]]:
        rows = [(type_title(t), n) for t, n in self.per_type.most_common()]
        return _folded(rows)

    def unassigned_rows(self) -> list[tuple[str, int]]:
        return _folded([(type_title(t), n) for t, n in self.unassigned_per_type.most_common()])

    def group_rows(self) -> list[tuple[str, int]]:
        return self.per_group.most_common(TOP_GROUPS)


def _folded(rows: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """The first :data:`TOP_TYPES` rows (:func:`folded_rest` counts the others)."""
    return rows[:TOP_TYPES]


def folded_rest(counts: Counter[str]) -> tuple[int, int]:
    """``(types, objects)`` a chart of :data:`TOP_TYPES` types leaves out."""
    rest = counts.most_common()[TOP_TYPES:]
    return len(rest), sum(n for _, n in rest)
