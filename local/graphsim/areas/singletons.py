"""Singletons: Intune and Entra tenant-wide settings served as one object."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..spec import TypeSpec

if TYPE_CHECKING:
    from ..seed import TenantSeeder

TYPES: tuple[TypeSpec, ...] = ()
POLICY_KEYS: tuple[str, ...] = ()
COUNTS: dict[str, int] = {}


def seed(s: TenantSeeder) -> None:
    """Add this area's objects to the tenant being seeded."""
