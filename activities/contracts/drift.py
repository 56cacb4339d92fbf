"""Contracts of the drift check's activities (``activities.drift``, DESIGN §10).

A type's check reports as a type's capture does (``contracts.snapshots.CapturedType``:
``listed`` = the items it recorded, their ``tally``, ``retry_type``), so the two share it;
the run's ``drift`` counts cross as ``shared.drift.compare.DriftCounts``.
"""

from __future__ import annotations

from dataclasses import dataclass

from activities.contracts.base import Payload, RunRef
from activities.contracts.snapshots import Moded, TransientMode


@dataclass(frozen=True)
class CheckType(RunRef, Moded):
    """Read one type whole, as a backup does, and compare it with the baseline's items."""

    baseline_backup_set_id: str
    policy_type: str
    mode: TransientMode


@dataclass(frozen=True)
class CheckTypes(RunRef, Moded):
    """Check several types at once, each as :class:`CheckType` checks one."""

    baseline_backup_set_id: str
    policy_types: list[str]
    mode: TransientMode

    def one(self, policy_type: str) -> CheckType:
        return CheckType(run_id=self.run_id, tenant_id=self.tenant_id,
                         baseline_backup_set_id=self.baseline_backup_set_id,
                         policy_type=policy_type, mode=self.mode)


@dataclass(frozen=True)
class RecordUnchecked(RunRef):
    """A type whose check kept failing after its retries: one failed type-level item."""

    policy_type: str
    error: dict[str, str] | None = None  # as RecordUnfetched.error


@dataclass(frozen=True)
class AttributeChanges(RunRef):
    """Read the tenant's change log once, since the baseline run's ``started_at``, and put
    ``changed_by`` on every item that is not ``in_sync``."""

    since: str | None


@dataclass(frozen=True)
class Attributed(Payload):
    """How many items the change log explained."""

    attributed: int


@dataclass(frozen=True)
class SettleDrift(RunRef):
    """Count the drift onto the run and alert if there is any; ``at``: the alert's time."""

    at: str


@dataclass(frozen=True)
class DriftSettled(Payload):
    """Whether the check found drift, and how many principals were notified of it."""

    drift: bool
    notified: int = 0
