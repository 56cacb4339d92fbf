"""The README's table of supported types, generated from the catalog (never kept by hand).

    python -m local.catalog_table          # print the table
    python -m local.catalog_table --write  # replace it in README.md

``tests/graph/test_catalog_table.py`` fails when the README's table and the catalog differ.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from shared.graph import CATALOG, ResourceType, Restore

START = "<!-- catalog-table:start (python -m local.catalog_table --write) -->"
END = "<!-- catalog-table:end -->"
README = Path(__file__).resolve().parent.parent / "README.md"


def shape(entry: ResourceType) -> str:
    if entry.singleton:
        return "singleton" + (f" (`{entry.singleton_property}` of the object)"
                              if entry.singleton_property else "")
    return "collection"


def restore_support(entry: ResourceType) -> str:
    if entry.restore is Restore.NONE:
        return "backed up for reference; not restorable"
    if entry.singleton:
        return f"update ({entry.update_method})"
    if entry.restore is Restore.UPDATE_ONLY:
        return "update only (never created)"
    parts = ["create, update"]
    if entry.has_assignments:
        parts.append("assignments")
    notes = []
    if entry.content_required is not None:
        notes.append("a create that needs uploaded content is skipped")
    if entry.has_built_ins:
        notes.append("built-ins are never created")
    return ", ".join(parts) + "".join(f"; {n}" for n in notes)


def refers_to(entry: ResourceType) -> str:
    targets = dict.fromkeys(t for r in entry.references for t in r.targets if t != entry.key)
    return ", ".join(f"`{t}`" for t in targets) or "—"


def table() -> str:
    rows = ["| key | Graph path | shape | restore | refers to |", "|---|---|---|---|---|"]
    for entry in CATALOG:
        rows.append(f"| `{entry.key}` | `{entry.version}/{entry.path}` | {shape(entry)} | "
                    f"{restore_support(entry)} | {refers_to(entry)} |")
    return "\n".join(rows)


def section() -> str:
    return f"{START}\n{table()}\n{END}"


def readme_section(text: str) -> str | None:
    if START not in text or END not in text:
        return None
    return text[text.index(START):text.index(END) + len(END)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="replace the table in README.md")
    args = parser.parse_args(argv)
    if not args.write:
        print(table())
        return 0
    text = README.read_text(encoding="utf-8")
    current = readme_section(text)
    if current is None:
        print(f"README.md has no {START!r} marker", file=sys.stderr)
        return 1
    README.write_text(text.replace(current, section()), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
