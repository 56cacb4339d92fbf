"""Field-level differences between a live object and its snapshot (DESIGN §3, §8).

Entries name full property paths and never values, e.g.
``{"path": "settings[3].settingInstance.choiceSettingValue.value", "change": "changed"}``.
Direction is live → snapshot: ``added`` means the restore would add the property.
A property that is ``null`` counts as absent, as Graph treats them alike.
"""

from __future__ import annotations

from typing import Any

Diff = list[dict[str, str]]


def diff(live: Any, desired: Any) -> Diff:
    changes: Diff = []
    _walk(live, desired, "", changes)
    return changes


def _walk(live: Any, desired: Any, path: str, out: Diff) -> None:
    if isinstance(live, dict) and isinstance(desired, dict):
        for key in sorted(set(live) | set(desired)):
            child = f"{path}.{key}" if path else key
            before, after = live.get(key), desired.get(key)
            if before is None and after is None:
                continue
            if before is None:
                out.append({"path": child, "change": "added"})
            elif after is None:
                out.append({"path": child, "change": "removed"})
            else:
                _walk(before, after, child, out)
    elif isinstance(live, list) and isinstance(desired, list):
        for index in range(max(len(live), len(desired))):
            child = f"{path}[{index}]"
            if index >= len(live):
                out.append({"path": child, "change": "added"})
            elif index >= len(desired):
                out.append({"path": child, "change": "removed"})
            else:
                _walk(live[index], desired[index], child, out)
    elif live != desired:
        out.append({"path": path or "$", "change": "changed"})
