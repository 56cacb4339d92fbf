"""PLACEHOLDER for change attribution from the audit logs (DESIGN §10; issue 15 part 2).

The real module — Intune's ``deviceManagement/auditEvents`` and, for Entra types,
``auditLogs/directoryAudits``, read once per run, paged and filtered by time since the
baseline — is built on another branch and replaces this file at merge. This stand-in has
exactly its interface and knows no changes, so every ``changed_by`` is None.

    log = await read_change_log(tenant_id, since, client=client)
    log.changed_by(policy_id)   # {"actor", "actor_type", "at", "activity"} or None
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shared.graph.client import GraphClient


@dataclass(frozen=True)
class ChangeLog:
    """Who last changed each object since the baseline, by object id."""

    changes: dict[str, dict[str, Any]] = field(default_factory=dict)

    def changed_by(self, policy_id: str) -> dict[str, Any] | None:
        """``{actor, actor_type, at, activity}`` of the object's latest change, or None."""
        return self.changes.get(policy_id)


async def read_change_log(tenant_id: str, since: str, *, client: GraphClient | None = None
                          ) -> ChangeLog:
    """The tenant's changes since ``since`` (ISO 8601 UTC, the baseline run's
    ``started_at``). Placeholder: reads nothing and knows no changes."""
    del tenant_id, since, client
    return ChangeLog()


__all__ = ["ChangeLog", "read_change_log"]
