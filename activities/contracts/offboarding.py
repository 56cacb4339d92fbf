"""Contracts of the offboarding activities (``activities.offboarding``). Every input is the
MSP-scope run ref: the activities read the tenant from the run, so the offboarding's own
history never names it."""

from __future__ import annotations

from dataclasses import dataclass

from activities.contracts.base import Payload, RunRef


@dataclass(frozen=True)
class BeginOffboarding(RunRef):
    at: str


@dataclass(frozen=True)
class OffboardingBegun(Payload):
    steps: int  # entries of the ownership table, the tenant row included
    drain_seconds: int


@dataclass(frozen=True)
class StopRuns(RunRef):
    at: str


@dataclass(frozen=True)
class PurgeInstances(RunRef):
    after: str | None = None  # the runs' row key the previous page ended at


@dataclass(frozen=True)
class SweepStep(RunRef):
    step: int  # index into the ownership table; its length is the tenant row
    limit: int = 500


@dataclass(frozen=True)
class FinishOffboarding(RunRef):
    at: str
    error: dict[str, str] | None = None
    stopped: int = 0  # orchestrations it terminated
    deleted: int = 0  # rows and blobs its sweeps deleted
