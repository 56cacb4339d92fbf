"""One snapshot document as a person reads it: settings, assignments, scope tags (DESIGN §14).

:func:`describe` is pure: the document is already masked (:mod:`.secrets`) and its settings
catalog definitions already read (:mod:`.definitions`). Each setting is a :class:`Row` with a
stable ``key`` (the definition id path, the OMA-URI, the property path), so two versions of
an object compare setting by setting (:mod:`.changes`):

- settings catalog: each setting instance by its definition's display name, a choice by its
  option's label, children under their parent (``Parent › Child``);
- OMA-URI settings: their name and path;
- compliance: the rules (the policy's properties) and each action for noncompliance;
- administrative templates: each definition value, enabled or not, with its presentation values;
- every other property, by its name in words, ids shown with the name of what they name.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from shared.graph.resource import ResourceType
from shared.reports.definitions import DefinitionCache
from shared.reports.names import Names

MAX_VALUE_CHARS = 300  # a script body or certificate is summarised, not printed whole
NOT_SET = "(not set)"
_G = "#microsoft.graph."
# Shown in the object's heading or its own section, not among its settings.
_HEADING = frozenset({
    "@odata.type", "id", "displayName", "name", "description", "roleScopeTagIds",
    "roleScopeTags", "assignments", "settings", "omaSettings", "scheduledActionsForRule",
    "definitionValues", "platforms", "platform", "templateReference", "createdDateTime",
    "lastModifiedDateTime", "modifiedDateTime", "version", "settingInstance",
    "settingDefinitionId",
})


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    value: str


@dataclass(frozen=True)
class Assignment:
    target: str  # a group's name, "All devices", "All users"
    mode: str  # include | exclude
    intent: str = ""  # apps: required | available | uninstall
    filter: str = ""  # "Filter name (include)"
    group_id: str | None = None

    @property
    def text(self) -> str:
        parts = [f"{self.mode} {self.target}"]
        if self.intent:
            parts.append(f"intent {self.intent}")
        if self.filter:
            parts.append(f"filter {self.filter}")
        return ", ".join(parts)


@dataclass
class Described:
    policy_type: str
    policy_id: str
    name: str
    description: str = ""
    kind: str = ""  # the @odata.type without its namespace
    platform: str = ""
    scope_tags: list[str] = field(default_factory=list)
    settings: list[Row] = field(default_factory=list)
    assignments: list[Assignment] = field(default_factory=list)
    assignable: bool = True  # whether the type has assignments at all

    @property
    def anchor(self) -> str:
        return anchor(self.policy_type, self.policy_id)

    def overview(self) -> list[Row]:
        """Name, description, platform and scope tags as rows, for comparisons."""
        return [Row("@name", "Name", self.name), Row("@description", "Description",
                                                     self.description or NOT_SET),
                Row("@platform", "Platform", self.platform or NOT_SET),
                Row("@scope", "Scope tags", ", ".join(self.scope_tags) or NOT_SET)]


def anchor(policy_type: str, policy_id: str = "") -> str:
    """An HTML id: letters, digits and dashes only."""
    return re.sub(r"[^A-Za-z0-9-]", "-", f"{policy_type}-{policy_id}".rstrip("-"))


def describe(rtype: ResourceType, document: dict[str, Any], names: Names,
             definitions: DefinitionCache, fallback_name: str = "") -> Described:
    kind = str(document.get("@odata.type") or "").removeprefix(_G)
    platform = document.get("platforms") or document.get("platform") or ""
    out = Described(
        policy_type=rtype.key, policy_id=str(document.get("id") or rtype.key),
        name=str(document.get(rtype.name_field) or fallback_name or document.get("id") or ""),
        description=_text(document.get("description")), kind=kind,
        platform=_text(platform), assignable=rtype.has_assignments,
        scope_tags=[names.scope_tag(str(t)) for t in document.get("roleScopeTagIds") or []],
    )
    rows: list[Row] = []
    settings = document.get("settings")
    rows.extend(_catalog(settings, definitions) if is_catalog(settings)
                else _flat("settings", settings, names))
    if isinstance(document.get("settingInstance"), dict):  # a reusable setting
        rows.extend(_instance(document["settingInstance"], "", "", definitions))
    rows.extend(_oma(document.get("omaSettings"), names))
    rows.extend(_compliance_actions(document.get("scheduledActionsForRule"), names))
    rows.extend(_admx(document.get("definitionValues"), names))
    skip = _HEADING | {rtype.name_field} | rtype.strip_on_write  # Graph-managed: not settings
    for key in sorted(k for k in document if k not in skip):
        rows.extend(_flat(key, document[key], names))
    out.settings = rows
    out.assignments = [a for a in map(lambda e: _assignment(e, names),
                                      document.get("assignments") or []) if a is not None]
    return out


# ---- settings catalog ------------------------------------------------------------------------
def is_catalog(settings: Any) -> bool:
    """Whether ``settings`` are settings catalog settings (policies, Linux compliance…)."""
    return isinstance(settings, list) and any(
        isinstance(s, dict) and isinstance(s.get("settingInstance"), dict) for s in settings)


def _catalog(settings: Any, defs: DefinitionCache) -> Iterator[Row]:
    for setting in settings or []:
        instance = setting.get("settingInstance") if isinstance(setting, dict) else None
        if isinstance(instance, dict):
            yield from _instance(instance, "", "", defs)


def _instance(instance: dict[str, Any], key: str, label: str,
              defs: DefinitionCache) -> Iterator[Row]:
    def_id = str(instance.get("settingDefinitionId") or "?")
    here = f"{key}/{def_id}" if key else def_id
    name = defs.label(def_id)
    title = f"{label} › {name}" if label else name
    if isinstance(choice := instance.get("choiceSettingValue"), dict):
        yield Row(here, title, _option(def_id, choice.get("value"), defs))
        for child in choice.get("children") or []:
            yield from _instance(child, here, title, defs)
    elif isinstance(simple := instance.get("simpleSettingValue"), dict):
        yield Row(here, title, _scalar(simple.get("value")))
    elif isinstance(values := instance.get("simpleSettingCollectionValue"), list):
        yield Row(here, title, _cut(", ".join(_scalar(v.get("value")) for v in values
                                              if isinstance(v, dict))))
    elif isinstance(choices := instance.get("choiceSettingCollectionValue"), list):
        yield Row(here, title, _cut(", ".join(_option(def_id, c.get("value"), defs)
                                              for c in choices if isinstance(c, dict))))
    elif isinstance(group := instance.get("groupSettingValue"), dict):
        for child in group.get("children") or []:
            yield from _instance(child, here, title, defs)
    elif isinstance(groups := instance.get("groupSettingCollectionValue"), list):
        for n, entry in enumerate(groups):
            for child in (entry or {}).get("children") or []:
                yield from _instance(child, f"{here}[{n}]", f"{title} #{n + 1}", defs)
    else:
        yield Row(here, title, NOT_SET)


def _option(def_id: str, value: Any, defs: DefinitionCache) -> str:
    if value is None:
        return NOT_SET
    text = str(value)
    return text if text == "<secret>" else defs.option(def_id, text)


# ---- OMA-URI, compliance actions, administrative templates -----------------------------------
def _oma(settings: Any, names: Names) -> Iterator[Row]:
    for setting in settings or []:
        if isinstance(setting, dict):
            uri = str(setting.get("omaUri") or "")
            name = str(setting.get("displayName") or uri)
            yield Row(f"oma:{uri}", f"{name} ({uri})", _value(setting.get("value"), names))


def _compliance_actions(rules: Any, names: Names) -> Iterator[Row]:
    for rule in rules or []:
        if not isinstance(rule, dict):
            continue
        actions = [a for a in rule.get("scheduledActionConfigurations") or []
                   if isinstance(a, dict)]
        for n, action in enumerate(sorted(actions, key=lambda a: (
                a.get("gracePeriodHours") or 0, str(a.get("actionType"))))):
            kind = str(action.get("actionType") or "?")
            text = f"{kind} after {action.get('gracePeriodHours') or 0} h"
            template = action.get("notificationTemplateId")
            if template:
                text += f", message {names.of_type('notificationMessageTemplates', template)}"
            yield Row(f"action:{rule.get('ruleName') or ''}:{n}",
                      f"Action for noncompliance {n + 1}", text)


def _admx(values: Any, names: Names) -> Iterator[Row]:
    for value in values or []:
        if not isinstance(value, dict):
            continue
        definition = value.get("definition") or {}
        def_id = str(definition.get("id") or value.get("id") or "")
        label = str(definition.get("displayName") or def_id)
        if definition.get("categoryPath"):
            label = f"{definition['categoryPath']} › {label}"
        state = "Enabled" if value.get("enabled") else "Disabled"
        shown = [_value(p.get("value"), names) for p in value.get("presentationValues") or []
                 if isinstance(p, dict) and p.get("value") is not None]
        yield Row(f"admx:{def_id}", label, _cut("; ".join([state, *shown])))


# ---- everything else -----------------------------------------------------------------------
def _flat(key: str, value: Any, names: Names, label: str = "") -> Iterator[Row]:
    title = f"{label} › {_words(key)}" if label else _words(key)
    if value is None or value == [] or value == {}:
        return
    if isinstance(value, dict):
        for inner in sorted(k for k in value if not k.startswith("@odata")):
            yield from _nested(key, inner, value[inner], names, title)
    elif isinstance(value, list) and all(isinstance(v, dict) for v in value):
        for n, entry in enumerate(value):
            yield from _entries(f"{key}[{n}]", entry, names, f"{title} #{n + 1}")
    elif isinstance(value, list):
        yield Row(key, title, _cut(", ".join(_value(v, names) for v in value)))
    else:
        yield Row(key, title, _value(value, names))


def _nested(key: str, inner: str, value: Any, names: Names, title: str) -> Iterator[Row]:
    for row in _flat(inner, value, names, title):
        yield Row(f"{key}.{row.key}", row.label, row.value)


def _entries(key: str, entry: dict[str, Any], names: Names, title: str) -> Iterator[Row]:
    for inner in sorted(k for k in entry if not k.startswith("@odata") and k != "id"):
        yield from _nested(key, inner, entry[inner], names, title)


def _assignment(entry: Any, names: Names) -> Assignment | None:
    if not isinstance(entry, dict):
        return None
    target = entry.get("target") if isinstance(entry.get("target"), dict) else {}
    kind = str(target.get("@odata.type") or "").removeprefix(_G)
    group_id = target.get("groupId")
    if kind == "groupAssignmentTarget":
        who, mode = names.group(group_id), "include"
    elif kind == "exclusionGroupAssignmentTarget":
        who, mode = names.group(group_id), "exclude"
    elif kind == "allDevicesAssignmentTarget":
        who, mode, group_id = "All devices", "include", None
    elif kind == "allLicensedUsersAssignmentTarget":
        who, mode, group_id = "All users", "include", None
    else:
        who, mode = _words(kind.removesuffix("AssignmentTarget")) or "Target", "include"
    filter_id = target.get("deviceAndAppManagementAssignmentFilterId")
    filter_mode = target.get("deviceAndAppManagementAssignmentFilterType") or "include"
    shown = f"{names.filter(filter_id)} ({filter_mode})" if filter_id else ""
    return Assignment(who, mode, _text(entry.get("intent")), shown, group_id)


# ---- values and words ----------------------------------------------------------------------
def _value(value: Any, names: Names) -> str:
    if isinstance(value, str):
        return _cut(names.value(value))
    return _scalar(value)


def _scalar(value: Any) -> str:
    if value is None:
        return NOT_SET
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, str):
        return _cut(value)
    if isinstance(value, int | float):
        return str(value)
    return _cut(json.dumps(value, sort_keys=True, ensure_ascii=False))


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)


def _cut(text: str) -> str:
    if len(text) <= MAX_VALUE_CHARS:
        return text
    return f"{text[:MAX_VALUE_CHARS]}… ({len(text)} characters)"


def _words(name: str) -> str:
    """``passwordMinimumLength`` → ``Password minimum length``."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", name)
    spaced = spaced.replace("_", " ").strip()
    return spaced[:1].upper() + spaced[1:].lower() if spaced else ""
