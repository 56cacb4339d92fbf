"""Making a source snapshot fit the target tenant (DESIGN §11, §12), before restore assesses it.

- references the plan dropped (override ``null``) are left out
  (:func:`shared.graph.payloads.drop_references`);
- tenant values — the source tenant id and its ``*.onmicrosoft.com`` domain inside string
  values (OneDrive Known Folder Move) — become the target's;
- secret properties (the entry's ``secrets``) are left out unless the caller is admin on the
  source; the item then says ``secret_not_copied``.

Mapped ids are not rewritten here: the plan's id map joins the run's own
(:func:`shared.graph.rewrite_references`), so a live run's recreated objects win.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from shared.deploy.plan import TENANT_VALUE, MappingRow, kind_of
from shared.graph.payloads import drop_references
from shared.graph.resource import ResourceType
from shared.graph.secrets import strip_secrets
from shared.platform.codes import ErrorCode

_SHOWN = 5


def tenant_value_pairs(source_tenant_id: str, target_tenant_id: str,
                       source_domain: str | None, target_domain: str | None
                       ) -> list[tuple[str, str]]:
    pairs = [(source_tenant_id.lower(), target_tenant_id.lower())]
    if source_domain and target_domain and source_domain != target_domain:
        pairs.append((source_domain.lower(), target_domain.lower()))
    return pairs


def find_tenant_values(document: Any, pairs: Iterable[tuple[str, str]]
                       ) -> list[tuple[str, str, str]]:
    """``(path, source value, target value)`` of every string holding a source value."""
    found: list[tuple[str, str, str]] = []
    patterns = [(re.compile(re.escape(s), re.IGNORECASE), s, t) for s, t in pairs]

    def visit(value: Any, path: str) -> None:
        if isinstance(value, dict):
            for key, child in value.items():
                if key != "id":  # the object's own id is the source's, and is never written
                    visit(child, f"{path}.{key}" if path else key)
        elif isinstance(value, list):
            for n, child in enumerate(value):
                visit(child, f"{path}[{n}]")
        elif isinstance(value, str):
            found.extend((path, s, t) for pattern, s, t in patterns if pattern.search(value))

    visit(document, "")
    return found


def replace_tenant_values(document: Any, pairs: Iterable[tuple[str, str]]) -> Any:
    patterns = [(re.compile(re.escape(s), re.IGNORECASE), t) for s, t in pairs]

    def swap(value: Any, key: str | None = None) -> Any:
        if isinstance(value, dict):
            return {k: (v if k == "id" else swap(v, k)) for k, v in value.items()}
        if isinstance(value, list):
            return [swap(v) for v in value]
        if isinstance(value, str):
            for pattern, target in patterns:
                value = pattern.sub(target, value)
        return value

    return swap(document)


def secret_warning(paths: list[str]) -> dict[str, str]:
    shown = ", ".join(paths[:_SHOWN]) + (f" (and {len(paths) - _SHOWN} more)"
                                         if len(paths) > _SHOWN else "")
    return {"code": ErrorCode.SECRET_NOT_COPIED,
            "message": f"secret properties left out ({shown}): only an admin of the source "
                       "tenant may copy secrets to another tenant"}


def for_target(rtype: ResourceType, document: dict[str, Any], rows: Iterable[MappingRow], *,
               copy_secrets: bool, names: dict[tuple[str, str], str] | None = None
               ) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """The snapshot as the target should get it, and the item's warnings."""
    rows = list(rows)
    drop = {(r.kind, r.source_id) for r in rows if r.status == "dropped"}
    out = document
    if drop:
        out, _ = drop_references(
            rtype, out, lambda ref, value: (kind_of(ref, value, names or {}), value) in drop)
    pairs = sorted({(r.source_id, r.target_id) for r in rows
                    if r.kind == TENANT_VALUE and r.target_id})
    if pairs:
        out = replace_tenant_values(out, pairs)
    warnings: list[dict[str, str]] = []
    if not copy_secrets:
        out, paths = strip_secrets(rtype, out)
        # Read-only secrets (an enrollment token) are never written anyway: nothing is lost.
        paths = [p for p in paths if re.split(r"[.\[]", p)[-1] not in rtype.read_only]
        if paths:
            warnings.append(secret_warning(paths))
    return out, warnings
