"""Inputs of the retention purge's orchestrations and activities (DESIGN §12)."""

from __future__ import annotations

from dataclasses import dataclass

from activities.contracts.base import Payload


@dataclass(frozen=True)
class PurgeDay(Payload):
    """One day's purge: its logical time (never the wall clock inside the orchestration) and
    the orphan grace. ``tenant_ids``: only these tenants (None: every registered one)."""

    at: str
    grace_s: int
    tenant_ids: list[str] | None = None


@dataclass(frozen=True)
class PurgeTenant(Payload):
    tenant_id: str
    at: str
    grace_s: int


@dataclass(frozen=True)
class PurgeSets(Payload):
    tenant_id: str
    backup_set_ids: list[str]


@dataclass(frozen=True)
class PurgeNotifications(Payload):
    at: str
    retention_days: dict[str, int]  # tenant → its retention


@dataclass(frozen=True)
class AuditPurge(Payload):
    tenant_id: str
    at: str
    counts: dict[str, int]
