"""Singletons: one object per tenant, captured as one item whose id is the entry's key,
restored by an update, never created or deleted (DESIGN §7.1)."""

from __future__ import annotations

from shared.graph.resource import ResourceType

ENTRIES: tuple[ResourceType, ...] = ()
