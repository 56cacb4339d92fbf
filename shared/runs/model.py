"""The run and run-item model (DESIGN §3–4): states, actions, counters, API shapes."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from shared.platform.codes import ErrorCode
from shared.platform.errors import MAX_MESSAGE_LENGTH


class RunType(StrEnum):
    CAPTURE_SNAPSHOT = "capture_snapshot"
    BACKUP = "backup"
    RESTORE = "restore"
    DRIFT_CHECK = "drift_check"
    OFFBOARD = "offboard"  # in the MSP's scope, not the tenant's (DESIGN §12)
    REPORT = "report"


class RunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    PARTIAL = "partial"

    @property
    def terminal(self) -> bool:
        return self in (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.PARTIAL)


class ItemStatus(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"


class ItemAction(StrEnum):
    CAPTURED = "captured"
    UNCHANGED = "unchanged"
    NO_CHANGE = "no_change"
    CREATED = "created"
    UPDATED = "updated"
    WOULD_CREATE = "would_create"
    WOULD_UPDATE = "would_update"
    WOULD_SKIP = "would_skip"
    SKIPPED = "skipped"
    FAILED = "failed"
    # A drift check's outcome of one object (DESIGN §10)
    IN_SYNC = "in_sync"
    DRIFTED = "drifted"
    ADDED = "added"
    REMOVED = "removed"

    @property
    def status(self) -> ItemStatus:
        """Status follows action (DESIGN §3)."""
        if self is ItemAction.FAILED:
            return ItemStatus.FAILED
        if self in (ItemAction.WOULD_SKIP, ItemAction.SKIPPED):
            return ItemStatus.SKIPPED
        return ItemStatus.SUCCEEDED


@dataclass(frozen=True)
class ItemTally:
    """Item outcomes of one batch by status: what an activity hands back across history (as
    a dict) for the orchestrator to add to the run's ``Counts``."""

    succeeded: int = 0
    failed: int = 0
    skipped: int = 0

    @classmethod
    def of(cls, statuses: Iterable[ItemStatus | str]) -> ItemTally:
        by_status = Counter(str(status) for status in statuses)
        return cls(succeeded=by_status[ItemStatus.SUCCEEDED], failed=by_status[ItemStatus.FAILED],
                   skipped=by_status[ItemStatus.SKIPPED])

    @classmethod
    def from_payload(cls, payload: dict) -> ItemTally:
        return cls(**{name: payload.get(name, 0) for name in ("succeeded", "failed", "skipped")})

    @property
    def processed(self) -> int:
        return self.succeeded + self.failed + self.skipped

    def plus(self, other: ItemTally) -> ItemTally:
        return ItemTally(self.succeeded + other.succeeded, self.failed + other.failed,
                         self.skipped + other.skipped)


@dataclass
class Counts:
    """A run's counters (DESIGN §4); ``processed`` is always succeeded + failed + skipped."""

    total: int = 0
    processed: int = 0
    succeeded: int = 0
    failed: int = 0
    skipped: int = 0

    @classmethod
    def of(cls, statuses: Iterable[ItemStatus | str], total: int | None = None) -> Counts:
        """Counters of these item statuses; ``total`` defaults to how many there are."""
        counts = cls()
        counts.add(ItemTally.of(statuses))
        counts.total = counts.processed if total is None else total
        return counts

    @classmethod
    def from_payload(cls, payload: dict) -> Counts:
        return cls(**payload)

    def add(self, tally: ItemTally) -> None:
        """Add a batch's outcome (deterministic, so orchestrators use it too)."""
        self.succeeded += tally.succeeded
        self.failed += tally.failed
        self.skipped += tally.skipped
        self.processed = self.succeeded + self.failed + self.skipped

    def final_status(self) -> RunStatus:
        """`succeeded` when nothing failed, `failed` when all did, else `partial`."""
        if self.failed == 0:
            return RunStatus.SUCCEEDED
        if self.failed == self.processed:
            return RunStatus.FAILED
        return RunStatus.PARTIAL


@dataclass
class Run:
    run_id: str
    tenant_id: str
    run_type: str
    status: str
    requested_by: str
    idempotency_key: str
    created_at: str
    instance_id: str
    dry_run: bool = False
    backup_set_id: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    pre_restore_backup_set_id: str | None = None
    counts: Counts = field(default_factory=Counts)
    error: dict[str, str] | None = None
    warnings: list[dict[str, str]] = field(default_factory=list)  # see ``Outcome``
    parameters: dict[str, Any] = field(default_factory=dict)
    # Drift checks: ``{"in_sync", "drifted", "added", "removed"}`` item counts (DESIGN §10)
    drift: dict[str, int] | None = None

    @property
    def terminal(self) -> bool:
        return RunStatus(self.status).terminal

    @property
    def api_path(self) -> str:
        """Where the API shows the run: an offboarding in the MSP's scope (DESIGN §12)."""
        if self.run_type == RunType.OFFBOARD:
            return f"/api/offboardings/{self.run_id}"
        return f"/api/tenants/{self.tenant_id}/runs/{self.run_id}"

    def to_api(self) -> dict[str, Any]:
        """The run body of DESIGN §3 (internal fields such as the instance id stay inside)."""
        body = asdict(self)
        body.pop("instance_id")
        body.pop("parameters")
        if self.parameters.get("source_tenant_id"):  # a cross-tenant deployment (DESIGN §11)
            body["source_tenant_id"] = self.parameters["source_tenant_id"]
        if self.drift is None:
            body.pop("drift")  # only drift checks carry it
        body["links"] = {"self": self.api_path, "items": f"{self.api_path}/items"}
        return body


@dataclass
class RunItem:
    item_id: str
    policy_type: str
    policy_id: str
    display_name: str
    action: str
    error: dict[str, str] | None = None
    diff: list[dict[str, str]] | None = None
    # What was left out of the item (``{code, message}``): restores — an include of a group
    # that no longer exists (``missing_reference``); every run — a secret it does not hold
    # (``secret_not_captured``).
    warnings: list[dict[str, str]] | None = None
    # Drift checks: who made the change an item reports (``{actor, actor_type, at,
    # activity}``), None when no audit event explains it (DESIGN §10).
    changed_by: dict[str, str] | None = None

    @property
    def status(self) -> str:
        return ItemAction(self.action).status.value

    @property
    def skipped_whole(self) -> bool:
        """The item stands for a whole type the run could not read (DESIGN §7.1)."""
        return self.policy_id == TYPE_LEVEL_ID and self.status == ItemStatus.SKIPPED.value

    @property
    def error_code(self) -> str:
        return (self.error or {}).get("code", ErrorCode.INTERNAL_ERROR)

    def to_api(self, include_diff: bool, include_changed_by: bool = False) -> dict[str, Any]:
        """The item body; ``diff`` and ``warnings`` (a list, empty when none) for restores
        and drift checks — other runs' items carry ``warnings`` only when they have some
        (``secret_not_captured``) —, ``changed_by`` only for drift checks."""
        body = asdict(self)
        body["status"] = self.status
        if include_diff:
            body["warnings"] = list(self.warnings or [])
        else:
            body.pop("diff")
            if not self.warnings:
                body.pop("warnings")
        if not include_changed_by:
            body.pop("changed_by")
        return body


TYPE_LEVEL_ID = "*"  # policy_id of an item that stands for a whole type (e.g. not licensed)
WARNING_MESSAGE_CHARS = 200  # a run lists every type it skipped whole: each warning stays short


@dataclass(frozen=True)
class Outcome:
    """How a finished run's item rows settle it (DESIGN §3–4, §7.1).

    ``failed`` when every item failed; ``partial`` when some did, or when a whole type was
    skipped for any reason but ``not_available`` — a type the app may not read
    (``consent_missing``) leaves the tenant not fully protected, and an MSP must see that;
    else ``succeeded``. A type Graph does not serve in the tenant (``not_available``: not
    licensed, not in this cloud) is no failure: like every type skipped whole, it is one of
    the ``warnings`` (``code``, ``policy_type``, ``message``). ``error`` summarizes a run
    that did not succeed.
    """

    counts: Counts
    status: RunStatus
    warnings: list[dict[str, str]]
    error: dict[str, str] | None

    @classmethod
    def of(cls, items: Sequence[RunItem]) -> Outcome:
        counts = Counts.of(item.status for item in items)
        skipped = sorted((i for i in items if i.skipped_whole), key=lambda i: i.policy_type)
        unprotected = [i for i in skipped if i.error_code != ErrorCode.NOT_AVAILABLE]
        status = counts.final_status()
        if status is RunStatus.SUCCEEDED and unprotected:
            status = RunStatus.PARTIAL
        warnings = [{"code": i.error_code, "policy_type": i.policy_type,
                     "message": (i.error or {}).get("message", "")[:WARNING_MESSAGE_CHARS]}
                    for i in skipped]
        error = None if status is RunStatus.SUCCEEDED else _summary(items, unprotected)
        return cls(counts, status, warnings, error)


def _summary(items: Sequence[RunItem], unprotected: list[RunItem]) -> dict[str, str] | None:
    """The ``error`` of a run that did not succeed: the code of its first failure (or of the
    first type it may not read), what failed, and which types were not read."""
    failed = [i for i in items if i.status == ItemStatus.FAILED.value]
    if len(failed) == 1 and len(items) == 1:
        return failed[0].error
    if not failed and not unprotected:
        return None
    parts = []
    if failed:
        codes = sorted({i.error_code for i in failed})
        parts.append(f"{len(failed)} of {len(items)} items failed ({', '.join(codes)})")
    if unprotected:
        parts.append("types not read in this tenant: "
                     + ", ".join(i.policy_type for i in unprotected))
    first = failed[0] if failed else unprotected[0]
    return {"code": first.error_code, "message": "; ".join(parts)[:MAX_MESSAGE_LENGTH]}


def item_key(policy_type: str, policy_id: str) -> str:
    """Deterministic item key (and API item id): one row per policy per run or set."""
    return f"{policy_type}.{policy_id}"
