"""The Markdown report, for a Git repository or a wiki (DESIGN §14).

GitHub-flavoured tables; anchors are explicit ``<a id>`` tags so the table of contents links
resolve on every renderer. Cell text is escaped (pipes, line breaks, Markdown and HTML
punctuation); values are already masked (:mod:`.secrets`).
"""

from __future__ import annotations

import re

from shared.graph.secrets import SECRET
from shared.reports.changes import ObjectChange
from shared.reports.describe import Described, anchor
from shared.reports.model import Glance, ReportMeta, SetInfo, TocEntry

MEDIA_TYPE = "text/markdown; charset=utf-8"
EXTENSION = "md"
_SPECIAL = re.compile(r"([\\`*_{}\[\]<>|#])")


class MarkdownRenderer:
    media_type = MEDIA_TYPE
    extension = EXTENSION

    def head(self, meta: ReportMeta, glance: Glance, toc: list[TocEntry]) -> str:
        out = [f"# {_md(meta.title)}", "",
               f"- Tenant: **{_md(meta.tenant_name)}** ({meta.tenant_id})",
               f"- Backup set: {_set(meta.backup_set)}"]
        if meta.compare_to is not None:
            out.append(f"- Compared with: {_set(meta.compare_to)}")
        out += [f"- Generated: {meta.generated_at}", *(f"- {_md(n)}" for n in meta.notes), ""]
        if meta.compare_to is None:
            out += ["## Tenant at a glance", "",
                    f"{glance.objects} objects, {glance.settings} settings, "
                    f"{len(glance.per_type)} types, {glance.unassigned} not assigned.", "",
                    "| Type | Objects |", "|---|---:|",
                    *(f"| {_md(t)} | {n} |" for t, n in glance.type_rows()), "",
                    "| Group | Assignments |", "|---|---:|",
                    *(f"| {_md(g)} | {n} |" for g, n in glance.group_rows()), ""]
            if glance.unassigned:
                out += [f"Not assigned ({glance.unassigned}):", ""]
                out += [f"- [{_md(n)}](#{a}) ({t})" for t, n, a in glance.unassigned_names]
                more = glance.unassigned - len(glance.unassigned_names)
                out += [f"- and {more} more" if more > 0 else "", ""]
        out += ['<a id="contents"></a>', "", "## Contents", ""]
        for entry in toc:
            counts = (f"{entry.count}" if meta.compare_to is None else
                      f"+{entry.added} −{entry.removed} ~{entry.changed}, "
                      f"{entry.unchanged} unchanged")
            out.append(f"- [{_md(entry.title)}](#{entry.anchor}) ({counts})")
        return "\n".join(out) + "\n\n"

    def type_start(self, entry: TocEntry) -> str:
        return f'<a id="{entry.anchor}"></a>\n\n## {_md(entry.title)} ({entry.count})\n\n'

    def type_end(self) -> str:
        return "[Back to contents](#contents)\n\n"

    def obj(self, d: Described) -> str:
        out = [f'<a id="{d.anchor}"></a>', "", f"### {_md(d.name)}", ""]
        facts = [p for p in (d.kind, d.platform) if p]
        if d.scope_tags:
            facts.append("Scope tags: " + ", ".join(d.scope_tags))
        if facts:
            out += [f"*{_md(' · '.join(facts))}*", ""]
        if d.description:
            out += [_md(d.description), ""]
        if d.settings:
            out += ["| Setting | Value |", "|---|---|"]
            out += [f"| {_cell(r.label)} | {_cell(r.value)} |" for r in d.settings]
            out.append("")
        if d.assignable:
            out += ["**Assignments**", ""]
            if d.assignments:
                out += [f"- {_md(a.text)}" for a in d.assignments]
            else:
                out.append("- not assigned")
            out.append("")
        return "\n".join(out) + "\n"

    def change(self, c: ObjectChange) -> str:
        word = {"added": "Added", "removed": "Removed", "changed": "Changed"}[c.change]
        renamed = f" (was {_md(c.old_name)})" if c.old_name and c.old_name != c.name else ""
        out = [f'<a id="change-{anchor(c.policy_type, c.policy_id)}"></a>', "",
               f"### {word}: {_md(c.name)}{renamed}", ""]
        if c.changed_by:
            activity = c.changed_by.get("activity")
            out += [f"Changed by {_md(str(c.changed_by.get('actor')))} "
                    f"({_md(str(c.changed_by.get('actor_type')))}) at "
                    f"{_md(str(c.changed_by.get('at') or ''))}"
                    + (f" ({_md(str(activity))})" if activity else ""), ""]
        if c.settings:
            out += ["| Setting | Before | After |", "|---|---|---|"]
            out += [f"| {_cell(s.label)} | {_cell(s.old)} | {_cell(s.new)} |"
                    for s in c.settings]
            out.append("")
        if c.assignments_added or c.assignments_removed:
            out += ["**Assignments**", ""]
            out += [f"- added: {_md(a)}" for a in c.assignments_added]
            out += [f"- removed: {_md(a)}" for a in c.assignments_removed]
            out.append("")
        return "\n".join(out) + "\n"

    def unchanged(self, count: int) -> str:
        return f"{count} unchanged object{'s' if count != 1 else ''} not listed.\n\n" \
            if count else ""

    def end(self) -> str:
        return "---\n\nPolicyVault report. Secret values are shown as `<secret>`.\n"


def _set(info: SetInfo) -> str:
    label = f" “{_md(info.label)}”" if info.label else ""
    return f"{info.backup_set_id}{label} of {info.created_at}"


def _md(text: str) -> str:
    return _SPECIAL.sub(r"\\\1", text.replace("\r", " ").replace("\n", " "))


def _cell(text: str) -> str:
    return f"`{SECRET}`" if text == SECRET else _md(text)
