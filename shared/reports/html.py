"""The HTML report: one self-contained file (DESIGN §14).

No script, no external style sheet, font or image: the style is inline, the charts are inline
SVG (:mod:`.charts`). Readable on a phone (viewport, one column, tables that wrap) and
printable (print CSS: no navigation colours, objects not split across pages where avoidable).
Every text is escaped; values are already masked (:mod:`.secrets`).
"""

from __future__ import annotations

from html import escape

from shared.reports.changes import ObjectChange
from shared.reports.charts import bar_chart
from shared.reports.describe import Described, anchor
from shared.reports.model import Glance, ReportMeta, SetInfo, TocEntry, folded_rest

MEDIA_TYPE = "text/html; charset=utf-8"
EXTENSION = "html"

_STYLE = """
:root{color-scheme:light;--ink:#111827;--muted:#6b7280;--line:#e5e7eb;--soft:#f9fafb;
--accent:#1d4ed8;--add:#047857;--del:#b91c1c}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--ink)}
header,main,footer{max-width:60rem;margin:0 auto;padding:0 1rem}
h1{font-size:1.6rem;margin:1.2rem 0 .2rem}h2{font-size:1.3rem;margin:2rem 0 .6rem;
border-bottom:2px solid var(--line);padding-bottom:.2rem}h3{font-size:1.05rem;margin:0 0 .3rem}
h4{font-size:.9rem;margin:.8rem 0 .2rem;text-transform:uppercase;letter-spacing:.03em;
color:var(--muted)}
a{color:var(--accent)}.muted{color:var(--muted)}
.facts{display:flex;flex-wrap:wrap;gap:.4rem 1.5rem;margin:.3rem 0 1rem;padding:0;list-style:none}
.glance{display:grid;grid-template-columns:repeat(auto-fit,minmax(17rem,1fr));gap:1rem}
.chart{margin:0;padding:.6rem;border:1px solid var(--line);border-radius:6px;background:var(--soft)}
.chart figcaption{font-weight:600;margin-bottom:.3rem}
nav.toc ol{columns:2 16rem;padding-left:1.2rem}
article{border:1px solid var(--line);border-radius:6px;padding:.8rem;margin:0 0 1rem}
.meta{color:var(--muted);font-size:.85rem;margin:0 0 .4rem}
table{width:100%;border-collapse:collapse;font-size:.9rem;table-layout:fixed}
th,td{text-align:left;vertical-align:top;padding:.3rem .4rem;border-top:1px solid var(--line);
overflow-wrap:anywhere}
th{background:var(--soft)}td:first-child{width:45%}
.change td:first-child{width:34%}
ul.assign{margin:.2rem 0;padding-left:1.2rem}
.tag{display:inline-block;font-size:.75rem;padding:0 .4rem;border-radius:3px;
background:var(--soft);border:1px solid var(--line)}
.added{color:var(--add)}.removed{color:var(--del)}.old{color:var(--del)}.new{color:var(--add)}
@media (max-width:40rem){body{font-size:14px}td:first-child{width:40%}}
@media print{body{font-size:11pt}a{color:inherit;text-decoration:none}
header,main,footer{max-width:none}nav.toc{break-after:page}article{break-inside:avoid-page}
.chart{break-inside:avoid}h2{break-after:avoid}}
"""


class HtmlRenderer:
    media_type = MEDIA_TYPE
    extension = EXTENSION

    def head(self, meta: ReportMeta, glance: Glance, toc: list[TocEntry]) -> str:
        facts = [f"Tenant <b>{escape(meta.tenant_name)}</b> ({escape(meta.tenant_id)})",
                 f"Backup set {_set(meta.backup_set)}"]
        if meta.compare_to is not None:
            facts.append(f"compared with {_set(meta.compare_to)}")
        facts.append(f"Generated {escape(meta.generated_at)}")
        out = ['<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
               '<meta name="viewport" content="width=device-width,initial-scale=1">',
               f"<title>{escape(meta.title)}</title><style>{_STYLE}</style></head><body>",
               f'<header><h1>{escape(meta.title)}</h1><ul class="facts">',
               *(f"<li>{f}</li>" for f in facts), "</ul>"]
        out += [f'<p class="muted">{escape(note)}</p>' for note in meta.notes]
        out.append(self._glance(meta, glance, toc))
        out.append('<nav class="toc" aria-label="Contents"><h2 id="contents">Contents</h2><ol>')
        for entry in toc:
            out.append(f'<li><a href="#{entry.anchor}">{escape(entry.title)}</a> '
                       f'<span class="muted">{_counts(meta, entry)}</span></li>')
        out.append("</ol></nav></header><main>")
        return "".join(out)

    def _glance(self, meta: ReportMeta, glance: Glance, toc: list[TocEntry]) -> str:
        if meta.compare_to is not None:
            rows = [(e.title, e.added + e.removed + e.changed) for e in toc
                    if e.added + e.removed + e.changed]
            charts = [bar_chart("Changes per type", sorted(rows, key=lambda r: -r[1]),
                                empty="no changes"),
                      bar_chart("Objects per type (now)", glance.type_rows(), colour=1)]
            return ('<section aria-labelledby="glance"><h2 id="glance">At a glance</h2>'
                    f'<div class="glance">{"".join(charts)}</div></section>')
        charts = [
            bar_chart("Objects per type", glance.type_rows(),
                      note=_rest(folded_rest(glance.per_type))),
            bar_chart("Assignments per group (top 10)", glance.group_rows(), colour=1,
                      empty="no group assignments"),
            bar_chart("Objects with no assignment, per type", glance.unassigned_rows(),
                      colour=4, empty="every assignable object is assigned",
                      note=_rest(folded_rest(glance.unassigned_per_type))),
        ]
        listed = "".join(f'<li><a href="#{a}">{escape(n)}</a> '
                         f'<span class="muted">{escape(t)}</span></li>'
                         for t, n, a in glance.unassigned_names)
        more = glance.unassigned - len(glance.unassigned_names)
        unassigned = (f"<h4>Not assigned ({glance.unassigned})</h4><ul>{listed}</ul>"
                      + (f'<p class="muted">and {more} more</p>' if more > 0 else "")
                      ) if glance.unassigned else ""
        return ('<section aria-labelledby="glance"><h2 id="glance">Tenant at a glance</h2>'
                f'<ul class="facts"><li><b>{glance.objects}</b> objects</li>'
                f'<li><b>{glance.settings}</b> settings</li>'
                f'<li><b>{len(glance.per_type)}</b> types</li>'
                f'<li><b>{glance.unassigned}</b> not assigned</li></ul>'
                f'<div class="glance">{"".join(charts)}</div>{unassigned}</section>')

    def type_start(self, entry: TocEntry) -> str:
        return (f'<section id="{entry.anchor}"><h2>{escape(entry.title)} '
                f'<span class="muted">({entry.count})</span></h2>')

    def type_end(self) -> str:
        return '<p><a href="#contents">Back to contents</a></p></section>'

    def obj(self, d: Described) -> str:
        meta = " · ".join(escape(p) for p in (d.kind, d.platform) if p)
        if d.scope_tags:
            meta += (" · " if meta else "") + "Scope tags: " + escape(", ".join(d.scope_tags))
        out = [f'<article id="{d.anchor}"><h3>{escape(d.name)}</h3>',
               f'<p class="meta">{meta}</p>' if meta else ""]
        if d.description:
            out.append(f"<p>{escape(d.description)}</p>")
        if d.settings:
            out.append("<h4>Settings</h4><table><thead><tr><th>Setting</th><th>Value</th></tr>"
                       "</thead><tbody>")
            out += [f"<tr><td>{escape(r.label)}</td><td>{escape(r.value)}</td></tr>"
                    for r in d.settings]
            out.append("</tbody></table>")
        if d.assignable:
            out.append("<h4>Assignments</h4>")
            if d.assignments:
                out.append('<ul class="assign">' + "".join(
                    f"<li>{_assignment(a.mode, a.target, a.intent, a.filter)}</li>"
                    for a in d.assignments) + "</ul>")
            else:
                out.append('<p class="muted">Not assigned</p>')
        out.append("</article>")
        return "".join(out)

    def change(self, c: ObjectChange) -> str:
        word = {"added": "Added", "removed": "Removed", "changed": "Changed"}[c.change]
        renamed = (f' <span class="muted">(was {escape(c.old_name)})</span>'
                   if c.old_name and c.old_name != c.name else "")
        out = [f'<article id="change-{_id(c)}"><h3><span class="tag {c.change}">{word}</span> '
               f"{escape(c.name)}{renamed}</h3>"]
        if c.changed_by:
            out.append(f'<p class="meta">Changed by {escape(str(c.changed_by.get("actor")))}'
                       f' ({escape(str(c.changed_by.get("actor_type")))}) at '
                       f'{escape(str(c.changed_by.get("at") or ""))}'
                       f'{_activity(c.changed_by)}</p>')
        if c.settings:
            out.append('<table class="change"><thead><tr><th>Setting</th><th>Before</th>'
                       "<th>After</th></tr></thead><tbody>")
            out += [f'<tr><td>{escape(s.label)}</td><td class="old">{escape(s.old)}</td>'
                    f'<td class="new">{escape(s.new)}</td></tr>' for s in c.settings]
            out.append("</tbody></table>")
        if c.assignments_added or c.assignments_removed:
            out.append('<h4>Assignments</h4><ul class="assign">')
            out += [f'<li class="added">+ {escape(a)}</li>' for a in c.assignments_added]
            out += [f'<li class="removed">− {escape(a)}</li>' for a in c.assignments_removed]
            out.append("</ul>")
        out.append("</article>")
        return "".join(out)

    def unchanged(self, count: int) -> str:
        return (f'<p class="muted">{count} unchanged object{"s" if count != 1 else ""} '
                "not listed.</p>") if count else ""

    def end(self) -> str:
        return ('</main><footer><p class="muted">PolicyVault report. Secret values are shown '
                "as &lt;secret&gt;.</p></footer></body></html>\n")


def _set(info: SetInfo) -> str:
    label = f" “{escape(info.label)}”" if info.label else ""
    return f"<b>{escape(info.backup_set_id)}</b>{label} of {escape(info.created_at)}"


def _rest(left_out: tuple[int, int]) -> str:
    types, objects = left_out
    return f"and {types} more types with {objects} objects (see the contents)" if types else ""


def _counts(meta: ReportMeta, entry: TocEntry) -> str:
    if meta.compare_to is None:
        return f"({entry.count})"
    return (f"(+{entry.added} −{entry.removed} ~{entry.changed}, "
            f"{entry.unchanged} unchanged)")


def _assignment(mode: str, target: str, intent: str, shown_filter: str) -> str:
    text = f'<span class="tag">{escape(mode)}</span> {escape(target)}'
    if intent:
        text += f" · intent {escape(intent)}"
    if shown_filter:
        text += f" · filter {escape(shown_filter)}"
    return text


def _activity(changed_by: dict) -> str:
    activity = changed_by.get("activity")
    return f" ({escape(str(activity))})" if activity else ""


def _id(change: ObjectChange) -> str:
    return anchor(change.policy_type, change.policy_id)
