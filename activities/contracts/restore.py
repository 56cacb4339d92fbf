"""Contracts of the restore activities (``activities.restore``, DESIGN §8).

Before these contracts the item activities got one shared job dict; ``from_payload`` ignores
the keys an activity does not use (``pre_restore_backup_set_id`` on a preview or apply), so
those recorded inputs still build.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from activities.contracts.base import Payload, RunRef
from activities.contracts.snapshots import Moded, TransientMode


@dataclass(frozen=True)
class PlanRestore(RunRef):
    backup_set_id: str
    item_ids: list[str] | None = None  # None: every item of the set
    # A cross-tenant deployment (DESIGN §11): the tenant whose set is read.
    source_tenant_id: str | None = None


@dataclass(frozen=True)
class RestoreBatch(Payload):
    """Item keys of one type, and the type's level in the catalog's dependency order."""

    policy_type: str
    level: int
    item_ids: list[str]


@dataclass(frozen=True)
class RestorePlan(Payload):
    batches: list[RestoreBatch]  # in dependency order: level 0 first
    total: int

    @classmethod
    def from_payload(cls, payload: dict) -> RestorePlan:
        return cls(batches=[RestoreBatch.from_payload(b) for b in payload["batches"]],
                   total=payload["total"])


@dataclass(frozen=True)
class RestoreItems(Moded, RunRef):
    """One batch of a restore: its items, and the request's options. ``mode``: ``RAISE``
    fails the batch on an item Graph still refuses transiently, so its retry policy runs it
    again; ``RECORD_FAILED`` (the batch's last try, after those retries) records such an
    item failed with its code and goes on with the others."""

    backup_set_id: str
    include_assignments: bool
    ca_state: str
    policy_type: str
    item_ids: list[str]
    # Added later: keyword-only with a default, so recorded inputs and subclasses still build.
    create_missing_groups: bool = field(default=False, kw_only=True)
    # A cross-tenant deployment (DESIGN §11): the tenant whose set is read (None: the run's).
    source_tenant_id: str | None = field(default=None, kw_only=True)
    mode: TransientMode = field(default=TransientMode.RAISE, kw_only=True)


@dataclass(frozen=True)
class PreviewItems(RestoreItems):
    """Read live state and record the planned action and diff per item; no Graph writes."""


@dataclass(frozen=True)
class ApplyItems(RestoreItems):
    """Write what differs and record the outcome per item."""


@dataclass(frozen=True)
class CaptureLiveItems(RestoreItems):
    """Keep the live objects the batch may touch in the pre-restore set, before any write."""

    pre_restore_backup_set_id: str
    at: str


@dataclass(frozen=True)
class LiveCaptured(Payload):
    captured: int


@dataclass(frozen=True)
class BeginRestore(RunRef):
    at: str


@dataclass(frozen=True)
class RestoreBegun(Payload):
    pre_restore_backup_set_id: str


@dataclass(frozen=True)
class SealPreRestoreSet(RunRef):
    pre_restore_backup_set_id: str
    at: str


@dataclass(frozen=True)
class SealedSet(Payload):
    item_count: int


@dataclass(frozen=True)
class AuditRestoreFinished(RunRef):
    at: str
    error: dict[str, str] | None = None
