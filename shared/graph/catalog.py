"""The resource catalog: one declarative :class:`ResourceType` per supported type.

The catalog is data (STYLE rule 10): what an entry states is defined in
:mod:`shared.graph.resource`; the entries live in :mod:`shared.graph.entries`, one module per
area, and the few special cases are small named functions beside their entry or in
:mod:`shared.graph.hooks`. One engine (:mod:`shared.graph.reading`,
:mod:`shared.graph.operations`) runs every type.

Versions: Intune types use ``beta`` — several of them exist only there and the others lose
properties on ``v1.0``, so a ``v1.0`` backup would not be complete. Entra types use ``v1.0``
where Graph serves them there.
"""

from __future__ import annotations

from shared.graph.entries import apps, configuration, groups, identity, singletons, tenant_admin
from shared.graph.resource import Reference, ResourceType, Restore, SubCollection
from shared.platform.errors import UnsupportedType

__all__ = ["BY_KEY", "CATALOG", "SUPPORTED_KEYS", "Reference", "ResourceType", "Restore",
           "SubCollection", "restore_levels", "supported_type"]

CATALOG: tuple[ResourceType, ...] = (
    *configuration.ENTRIES, *tenant_admin.ENTRIES, *apps.ENTRIES, *identity.ENTRIES,
    *singletons.ENTRIES, *groups.ENTRIES,
)

BY_KEY: dict[str, ResourceType] = {entry.key: entry for entry in CATALOG}
SUPPORTED_KEYS: tuple[str, ...] = tuple(BY_KEY)


def supported_type(key: str) -> ResourceType:
    """The entry for a DESIGN §3 ``policy_type`` key; :class:`UnsupportedType` (a 400 that
    lists the supported keys) otherwise."""
    entry = BY_KEY.get(key) if isinstance(key, str) else None
    if entry is None:
        raise UnsupportedType(key, SUPPORTED_KEYS)
    return entry


def restore_levels() -> tuple[tuple[str, ...], ...]:
    """Catalog keys grouped by dependency depth: level 0 refers to no other catalog type,
    level n only to lower levels. Types within a level may be written concurrently."""
    depth: dict[str, int] = {}

    def visit(key: str, path: tuple[str, ...]) -> int:
        if key in depth:
            return depth[key]
        if key in path:
            raise ValueError(f"reference cycle through {key}")
        targets = {t for r in BY_KEY[key].references for t in r.targets
                   if t in BY_KEY} - {key}
        depth[key] = 1 + max((visit(t, (*path, key)) for t in targets), default=-1)
        return depth[key]

    for entry in CATALOG:
        visit(entry.key, ())
    levels = range(max(depth.values()) + 1)
    return tuple(tuple(e.key for e in CATALOG if depth[e.key] == n) for n in levels)

