"""Contracts of the run bookkeeping activities (``activities.runs``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from activities.contracts.base import Payload, RunRef
from shared.runs.model import Counts, RunStatus


@dataclass(frozen=True)
class StartRun(RunRef):
    at: str


@dataclass(frozen=True)
class StartedRun(Payload):
    """What the orchestrator needs of the run it was started for."""

    status: str
    parameters: dict[str, Any]
    backup_set_id: str | None
    dry_run: bool
    requested_by: str
    counts: dict[str, int] | None = None  # added later: absent in older histories

    @property
    def terminal(self) -> bool:
        """The run was already finished: its orchestration must do nothing (issue 19,
        finding 3: an instance started again for a finished run, by hand or by a replay)."""
        return RunStatus(self.status).terminal

    def finished(self) -> dict[str, Any]:
        """The orchestration's output for a run it found finished: the run as it is."""
        return asdict(FinishedRun(status=self.status,
                                  counts=Counts.from_payload(self.counts or {})))


@dataclass(frozen=True)
class RecordProgress(RunRef):
    counts: Counts

    @classmethod
    def from_payload(cls, payload: dict) -> RecordProgress:
        return cls(run_id=payload["run_id"], tenant_id=payload["tenant_id"],
                   counts=Counts.from_payload(payload["counts"]))


@dataclass(frozen=True)
class FinishRun(RunRef):
    at: str
    error: dict[str, str] | None = None  # the run could not go on: it ends ``failed``
    backup_set_kind: str | None = None  # ``backup`` or ``capture``: the run makes a set
    # The run may find nothing and still succeed (a drift check of an empty tenant).
    empty_ok: bool = False


@dataclass(frozen=True)
class FinishedRun(Payload):
    """The settled run; also the output of the orchestration that finished it."""

    status: str
    counts: Counts

    @classmethod
    def from_payload(cls, payload: dict) -> FinishedRun:
        return cls(status=payload["status"], counts=Counts.from_payload(payload["counts"]))
