"""Names for the ids a document holds, from the backup set's own items (DESIGN §14).

Groups are backed up as type ``groups``, filters as ``assignmentFilters``, scope tags as
``roleScopeTags``: a set's item rows already carry each object's display name, so naming an
assignment's group costs no blob read and no Graph call. An id the set does not hold (a type
the backup left out, a group deleted since) is shown as itself, marked as unknown.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from shared.backups.sets import BackupItem

_GUIDISH = re.compile(r"^[0-9a-fA-F-]{36}$")


@dataclass
class Names:
    """``policy_type`` → id → display name, for every item of a set."""

    by_type: dict[str, dict[str, str]] = field(default_factory=dict)
    _any: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, items: Iterable[BackupItem]) -> Names:
        names = cls()
        for item in items:
            names.add(item.policy_type, item.policy_id, item.display_name)
        return names

    def add(self, policy_type: str, object_id: str, name: str) -> None:
        self.by_type.setdefault(policy_type, {})[object_id] = name or object_id
        self._any.setdefault(object_id, name or object_id)

    def of_type(self, policy_type: str, object_id: str | None) -> str:
        """The name of ``object_id`` of ``policy_type``; ``unknown (id)`` when not in the set."""
        if not object_id:
            return ""
        found = self.by_type.get(policy_type, {}).get(object_id)
        return found if found is not None else f"unknown ({object_id})"

    def group(self, group_id: str | None) -> str:
        return self.of_type("groups", group_id)

    def filter(self, filter_id: str | None) -> str:
        return self.of_type("assignmentFilters", filter_id)

    def scope_tag(self, tag_id: str) -> str:
        if tag_id == "0" and tag_id not in self.by_type.get("roleScopeTags", {}):
            return "Default"
        return self.of_type("roleScopeTags", tag_id)

    def value(self, text: str) -> str:
        """A string value with the name of the object it is the id of, where the set has one
        (a CA policy's included group, a compliance action's template, …)."""
        if len(text) < 36 or not _GUIDISH.match(text):
            return text
        name = self._any.get(text)
        return f"{name} ({text})" if name and name != text else text
