"""What changed in one object between two backup sets, setting by setting (DESIGN §14).

Pure: both versions are already described (:mod:`.describe`), so every value is masked and
in words. Settings are compared by their stable key (definition id path, OMA-URI, property
path); a setting only one side has is ``(not set)`` on the other. Assignments are compared as
sets of their text (target, include/exclude, intent, filter).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from shared.reports.describe import NOT_SET, Described, Row


@dataclass(frozen=True)
class SettingChange:
    label: str
    old: str
    new: str


@dataclass
class ObjectChange:
    change: str  # added | removed | changed
    policy_type: str
    policy_id: str
    name: str
    settings: list[SettingChange] = field(default_factory=list)
    assignments_added: list[str] = field(default_factory=list)
    assignments_removed: list[str] = field(default_factory=list)
    changed_by: dict[str, Any] | None = None
    old_name: str = ""


def compare(old: Described, new: Described) -> ObjectChange | None:
    """The differences from ``old`` to ``new``; None when a reader would see none."""
    before = _by_key([*old.overview(), *old.settings])
    after = _by_key([*new.overview(), *new.settings])
    settings = []
    for key in [*after, *(k for k in before if k not in after)]:
        was, now = before.get(key), after.get(key)
        old_value = was.value if was else NOT_SET
        new_value = now.value if now else NOT_SET
        if old_value != new_value:
            settings.append(SettingChange((now or was).label, old_value, new_value))  # type: ignore[union-attr]
    old_assigned = Counter(a.text for a in old.assignments)
    new_assigned = Counter(a.text for a in new.assignments)
    added = sorted((new_assigned - old_assigned).elements())
    removed = sorted((old_assigned - new_assigned).elements())
    if not (settings or added or removed):
        return None
    return ObjectChange("changed", new.policy_type, new.policy_id, new.name, settings, added,
                        removed, old_name=old.name)


def _by_key(rows: list[Row]) -> dict[str, Row]:
    out: dict[str, Row] = {}
    for row in rows:
        key, n = row.key, 2
        while key in out:  # the same key twice (a list flattened alike): keep both
            key, n = f"{row.key}#{n}", n + 1
        out[key] = row
    return out
