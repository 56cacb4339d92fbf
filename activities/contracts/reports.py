"""Contracts of the report activity (``activities.reports``, DESIGN §14)."""

from __future__ import annotations

from dataclasses import dataclass

from activities.contracts.base import Payload, RunRef


@dataclass(frozen=True)
class RenderReport(RunRef):
    """Render ``backup_set_id`` (or what changed from ``compare_to`` to it) into the run's
    report blob; ``at`` is the orchestrator's clock, the report's "generated" time."""

    backup_set_id: str
    format: str
    at: str
    compare_to: str | None = None


@dataclass(frozen=True)
class ReportRendered(Payload):
    """What the report holds: objects (or changes) listed, plaintext bytes, Graph reads of
    settings definitions."""

    objects: int
    bytes: int
    definitions_read: int
