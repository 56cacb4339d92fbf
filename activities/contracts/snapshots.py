"""Contracts of the Graph reading activities (``activities.snapshots``): list types, capture a
batch, record a batch that never arrived.

For one release ``from_payload`` also accepts the shapes orchestrations recorded before these
contracts (Durable histories in flight at an upgrade replay them): a ``final`` flag instead of
``mode``, a capture's ``policy_type`` + ``policy_ids`` instead of ``groups``, a flat capture
outcome, and a listing as a bare list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Self

from activities.contracts.base import Payload, RunRef
from activities.contracts.runs import StartedRun
from shared.runs.model import ItemTally


class TransientMode(StrEnum):
    """What an activity does with an item (or type) Graph still refuses transiently (throttled,
    5xx, deadline) after the Graph client's own retries."""

    RAISE = "raise"  # fail the activity, so its retry policy runs it again (a capture)
    RETURN_FOR_RETRY = "return_for_retry"  # hand it back for a later batch (a backup)
    RECORD_FAILED = "record_failed"  # record it as failed with its code (a backup's last try)

    @classmethod
    def of(cls, payload: dict) -> TransientMode:
        """The payload's mode; an old payload's ``final`` flag meant absent → raise,
        false → return for retry, true → record failed."""
        if "mode" in payload:
            return cls(payload["mode"])
        final = payload.get("final")
        if final is None:
            return cls.RAISE
        return cls.RECORD_FAILED if final else cls.RETURN_FOR_RETRY


class Moded(Payload):
    """A contract with a ``mode``: it comes back from history as a plain string (or, in an
    old payload, as ``final``), and activities compare it by identity."""

    @classmethod
    def from_payload(cls, payload: dict) -> Self:
        return super().from_payload({**payload, "mode": TransientMode.of(payload)})


@dataclass(frozen=True)
class PolicyGroup(Payload):
    """Ids of one type within a batch (a backup packs several small types into one batch)."""

    policy_type: str
    policy_ids: list[str]


def _groups(payload: dict) -> list[PolicyGroup]:
    if "groups" in payload:
        return [PolicyGroup.from_payload(g) for g in payload["groups"]]
    return [PolicyGroup(payload["policy_type"], list(payload["policy_ids"]))]  # old capture


@dataclass(frozen=True)
class ListPolicies(RunRef):
    policy_types: list[str]
    mode: TransientMode

    @classmethod
    def from_payload(cls, payload: dict) -> ListPolicies:
        return cls(run_id=payload["run_id"], tenant_id=payload["tenant_id"],
                   policy_types=list(payload["policy_types"]), mode=TransientMode.of(payload))


@dataclass(frozen=True)
class TypeListing(Payload):
    """One type's ids; a type that could not be listed has none and either ``retry`` (list it
    again) or ``outcome``, the status of the type-level item recorded for it."""

    policy_type: str
    ids: list[str] = field(default_factory=list)
    retry: bool = False
    outcome: str | None = None


@dataclass(frozen=True)
class Listing(Payload):
    types: list[TypeListing]

    @classmethod
    def from_payload(cls, payload: dict | list) -> Listing:
        entries = payload if isinstance(payload, list) else payload["types"]  # old: a list
        return cls(types=[TypeListing.from_payload(e) for e in entries])


@dataclass(frozen=True)
class CapturePolicies(RunRef):
    backup_set_id: str
    at: str
    groups: list[PolicyGroup]
    mode: TransientMode

    @classmethod
    def from_payload(cls, payload: dict) -> CapturePolicies:
        return cls(run_id=payload["run_id"], tenant_id=payload["tenant_id"],
                   backup_set_id=payload["backup_set_id"], at=payload["at"],
                   groups=_groups(payload), mode=TransientMode.of(payload))

    @classmethod
    def of_capture(cls, ref: RunRef, run: StartedRun, at: str) -> CapturePolicies:
        """A capture run's one policy (its parameters), into the run's set. A fault Graph may
        recover from fails the activity (``RAISE``): its retry policy fetches again."""
        policy = PolicyGroup(run.parameters["policy_type"], [run.parameters["policy_id"]])
        return cls.for_run(ref, backup_set_id=run.backup_set_id, at=at, groups=[policy],
                           mode=TransientMode.RAISE)


@dataclass(frozen=True)
class CaptureRun(RunRef):
    """A capture run in one activity (``activities.snapshots.capture_run``): ``at``, the
    orchestration's time, is the run's start and its snapshot's capture time."""

    at: str


@dataclass(frozen=True)
class CapturedBatch(Payload):
    """The batch's counts, and (``RETURN_FOR_RETRY``) the items to fetch in a later batch."""

    tally: ItemTally
    retry: list[PolicyGroup] = field(default_factory=list)

    @classmethod
    def from_payload(cls, payload: dict) -> CapturedBatch:
        return cls(tally=ItemTally.from_payload(payload.get("tally", payload)),  # old: flat
                   retry=[PolicyGroup.from_payload(g) for g in payload.get("retry") or []])


@dataclass(frozen=True)
class RecordUnfetched(RunRef):
    """A batch whose capture kept failing after its retries: its items are recorded failed."""

    backup_set_id: str
    groups: list[PolicyGroup]
    # What the batch failed with, when it is an error of ours worth naming
    # (``orchestrators.run_steps.step_error``); None: Graph kept failing.
    error: dict[str, str] | None = None

    @classmethod
    def from_payload(cls, payload: dict) -> RecordUnfetched:
        return cls(run_id=payload["run_id"], tenant_id=payload["tenant_id"],
                   backup_set_id=payload["backup_set_id"], groups=_groups(payload),
                   error=payload.get("error"))


@dataclass(frozen=True)
class CaptureType(RunRef, Moded):
    """Read one type whole through its collection (``shared.graph.read_collection``) and
    capture every object, page by page."""

    backup_set_id: str
    at: str
    policy_type: str
    mode: TransientMode


@dataclass(frozen=True)
class CaptureTypes(RunRef, Moded):
    """Read several types whole, at once, each as :class:`CaptureType` reads one."""

    backup_set_id: str
    at: str
    policy_types: list[str]
    mode: TransientMode

    def one(self, policy_type: str) -> CaptureType:
        return CaptureType(run_id=self.run_id, tenant_id=self.tenant_id,
                           backup_set_id=self.backup_set_id, at=self.at,
                           policy_type=policy_type, mode=self.mode)


@dataclass(frozen=True)
class CapturedType(Payload):
    """What one type's capture found: ``listed`` objects (a type-level item counts one),
    their ``tally``, and the ids Graph refused transiently (``RETURN_FOR_RETRY``) to fetch
    again by id. ``retry_type``: the listing itself was refused transiently; nothing is
    counted yet and the type is read again."""

    policy_type: str
    listed: int = 0
    tally: ItemTally = field(default_factory=ItemTally)
    retry: list[str] = field(default_factory=list)
    retry_type: bool = False

    @classmethod
    def from_payload(cls, payload: dict) -> CapturedType:
        return cls(policy_type=payload["policy_type"], listed=payload.get("listed", 0),
                   tally=ItemTally.from_payload(payload.get("tally") or {}),
                   retry=list(payload.get("retry") or []),
                   retry_type=bool(payload.get("retry_type")))


@dataclass(frozen=True)
class CapturedTypes(Payload):
    """What an activity reading several types found: one outcome per type, in order."""

    outcomes: list[CapturedType]

    @staticmethod
    def from_result(result: dict) -> list[CapturedType]:
        """The outcomes of a read of several types, or of one (``CapturedType``)."""
        if "outcomes" in result:
            return [CapturedType.from_payload(o) for o in result["outcomes"]]
        return [CapturedType.from_payload(result)]
