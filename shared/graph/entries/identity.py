"""Entra ID: Conditional Access and what it refers to (named locations, authentication
strengths and contexts), terms of use, groups.
"""

from __future__ import annotations

from shared.graph import hooks
from shared.graph.resource import (
    Reference,
    ResourceType,
)

ENTRIES: tuple[ResourceType, ...] = (
    ResourceType(
        key="conditionalAccessPolicies", path="identity/conditionalAccess/policies",
        version="v1.0", subcollections=(), assign_key=None,
        read_only=frozenset({"templateId", "deletedDateTime"}),
        references=(
            Reference("namedLocations", "conditions.locations.includeLocations[]"),
            Reference("namedLocations", "conditions.locations.excludeLocations[]"),
            Reference("groups", "conditions.users.includeGroups[]"),
            Reference("groups", "conditions.users.excludeGroups[]", exclusion=True),
        ),
        prepare=hooks.prepare_conditional_access,
    ),
    ResourceType(
        key="namedLocations", path="identity/conditionalAccess/namedLocations",
        version="v1.0", subcollections=(), assign_key=None, references=(),
    ),
)
