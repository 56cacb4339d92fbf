"""Contracts of the nightly backup's activities (``activities.schedules``).

The inputs have the same keys the orchestration sent before these contracts (``{}`` and
``{"tenant_id", "label"}``), and so has the recorded run, so histories in flight replay.
"""

from __future__ import annotations

from dataclasses import dataclass

from activities.contracts.base import Payload, RunRef


@dataclass(frozen=True)
class ListRegisteredTenants(Payload):
    """Every registered tenant, sorted by id (no options yet)."""


@dataclass(frozen=True)
class RecordScheduledBackup(Payload):
    tenant_id: str
    label: str  # the backup set's label, e.g. "nightly 2024-05-01"


@dataclass(frozen=True)
class ScheduledBackup(RunRef):
    """The tenant's backup run: a fresh one, which the orchestration runs as its
    sub-orchestration under ``instance_id``, or one already in flight (``reused``), which
    runs on its own."""

    instance_id: str
    reused: bool
