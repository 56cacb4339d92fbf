"""Contracts of the cross-tenant deployment activities (``activities.deploy``, DESIGN §11)."""

from __future__ import annotations

from dataclasses import dataclass

from activities.contracts.base import Payload, RunRef


@dataclass(frozen=True)
class PlanDeployment(RunRef):
    at: str


@dataclass(frozen=True)
class DeploymentPlanned(Payload):
    rows: int
    unresolved: int
    error: dict[str, str] | None = None  # a live run that must not write: why
