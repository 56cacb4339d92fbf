"""The "tenant at a glance" charts: horizontal bar charts as inline SVG, drawn server-side
(no script, no font, no external file; the text inherits the page's font)."""

from __future__ import annotations

from html import escape

ROW_HEIGHT = 22
LABEL_WIDTH = 175
BAR_WIDTH = 150
COLOURS = ("#2563eb", "#0d9488", "#d97706", "#7c3aed", "#dc2626", "#4b5563")


def bar_chart(title: str, rows: list[tuple[str, int]], *, colour: int = 0,
              empty: str = "nothing to show", note: str = "") -> str:
    """One chart: a bar per ``(label, count)``, longest first as given; ``note`` under it."""
    if not rows:
        return (f'<figure class="chart"><figcaption>{escape(title)}</figcaption>'
                f'<p class="muted">{escape(empty)}</p></figure>')
    top = max(n for _, n in rows) or 1
    height = ROW_HEIGHT * len(rows) + 8
    width = LABEL_WIDTH + BAR_WIDTH + 50
    fill = COLOURS[colour % len(COLOURS)]
    parts = [f'<figure class="chart"><figcaption>{escape(title)}</figcaption>',
             f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
             f'width="100%" role="img" aria-label="{escape(title)}">']
    for n, (label, count) in enumerate(rows):
        y = n * ROW_HEIGHT + 4
        length = max(2, round(BAR_WIDTH * count / top))
        shown = label if len(label) <= 22 else label[:21] + "…"
        parts.append(
            f'<text x="{LABEL_WIDTH - 6}" y="{y + 14}" text-anchor="end" font-size="13" '
            f'fill="currentColor"><title>{escape(label)}</title>{escape(shown)}</text>'
            f'<rect x="{LABEL_WIDTH}" y="{y + 3}" width="{length}" height="{ROW_HEIGHT - 8}" '
            f'rx="2" fill="{fill}"/>'
            f'<text x="{LABEL_WIDTH + length + 5}" y="{y + 14}" font-size="13" '
            f'fill="currentColor">{count}</text>')
    parts.append("</svg>")
    if note:
        parts.append(f'<p class="muted">{escape(note)}</p>')
    parts.append("</figure>")
    return "".join(parts)
