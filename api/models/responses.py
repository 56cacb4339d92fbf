"""What the API answers: every JSON response body (DESIGN §3).

Each endpoint builds its body through one of these models, so the JSON Schema the models give
is what the API returns. Field order is the order the bodies have always had. A field with a
default is one a body may leave out (``continuation`` on the last page, ``diff`` outside
restores): bodies are dumped with ``exclude_unset``, so it is omitted unless it was given.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from shared.runs.model import ItemAction, ItemStatus, Run, RunItem, RunStatus, RunType

Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
Role = Literal["reader", "operator", "admin"]
B = TypeVar("B", bound=BaseModel)


class ResponseBody(BaseModel):
    """A JSON response body; a field the code does not declare here is a bug, not data."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def body(self) -> dict[str, Any]:
        """The JSON-plain body, without the optional fields that were not given."""
        return self.model_dump(mode="json", exclude_unset=True)


class Health(ResponseBody):
    status: Literal["ok"]


class UnresolvedReference(ResponseBody):
    """A reference a live cross-tenant deployment cannot write yet (DESIGN §11)."""

    kind: str
    source_id: str
    source_name: str | None
    status: Literal["ambiguous", "missing"]
    candidates: list[str] = Field(description="ambiguous: the target ids carrying the name")
    referenced_by: list[str]


class Problem(ResponseBody):
    """Every refusal and failure (application/problem+json, RFC 9457)."""

    type: str = Field(description="urn:policyvault:problem:{code}")
    title: str
    status: int
    detail: str = Field(description="a safe, human-readable reason; names the field refused")
    code: str = Field(description="a stable code (the README's table of codes)")
    supported_policy_types: list[str] | None = Field(
        None, description="with an unknown policy type: every key the catalog supports")
    unresolved: list[UnresolvedReference] | None = Field(
        None, description="with mapping_unresolved: the references of a cross-tenant "
                          "deployment that are ambiguous or missing in the target")


# ---- runs ----------------------------------------------------------------------------------
class Counts(ResponseBody):
    """processed = succeeded + failed + skipped; once terminal, processed = total."""

    total: int
    processed: int
    succeeded: int
    failed: int
    skipped: int


class ErrorInfo(ResponseBody):
    code: str
    message: str


class RunWarning(ResponseBody):
    """A whole type a run skipped: ``not_available`` (Graph does not serve it in this tenant:
    the run can still succeed) or ``consent_missing`` (the app may not read it: the run is
    ``partial``)."""

    code: str
    policy_type: str
    message: str


class RunLinks(ResponseBody):
    self: str
    items: str


class DriftCounts(ResponseBody):
    """A drift check's items by action (DESIGN §10)."""

    in_sync: int
    drifted: int
    added: int
    removed: int


class RunBody(ResponseBody):
    """A run (DESIGN §3): one capture, backup, restore or drift check, and how far it got."""

    run_id: str
    tenant_id: str
    run_type: RunType
    status: RunStatus
    requested_by: str
    idempotency_key: str
    created_at: Timestamp
    dry_run: bool
    backup_set_id: str | None = Field(
        description="the set a capture or backup produced, the set a restore reads, or the "
                    "baseline a drift check compares with")
    started_at: Timestamp | None
    finished_at: Timestamp | None
    pre_restore_backup_set_id: str | None
    counts: Counts
    error: ErrorInfo | None
    warnings: list[RunWarning] = Field(
        description="each type the run skipped whole, with why; empty when none")
    links: RunLinks
    drift: DriftCounts | None = Field(
        None, description="drift checks only: the items by action, counted as it finishes")
    source_tenant_id: str | None = Field(
        None, description="cross-tenant deployments only: the tenant whose backup set it "
                          "reads (DESIGN §11)")

    @classmethod
    def of(cls, run: Run) -> RunBody:
        return cls.model_validate(run.to_api())


class StartedRun(RunBody):
    """The answer to a start: the run, and whether an earlier start's run was returned."""

    reused: bool

    @classmethod
    def started(cls, run: Run, reused: bool) -> StartedRun:
        return cls.model_validate({**run.to_api(), "reused": reused})


class OffboardingLinks(ResponseBody):
    self: str


class OffboardingBody(ResponseBody):
    """An offboarding run (DESIGN §12): the run body of §3 in the MSP's scope, without the
    tenant's data — no backup set, items or warnings; ``tenant_id`` is the tenant it
    offboards. ``counts`` are the steps of the ownership table done."""

    run_id: str
    tenant_id: str = Field(description="the tenant this run offboards")
    run_type: Literal["offboard"]
    status: RunStatus
    requested_by: str
    idempotency_key: str
    created_at: Timestamp
    started_at: Timestamp | None
    finished_at: Timestamp | None
    counts: Counts
    error: ErrorInfo | None
    links: OffboardingLinks

    @classmethod
    def of(cls, run: Run, tenant_id: str, **extra: Any) -> Any:
        body = {name: value for name, value in run.to_api().items()
                if name in cls.model_fields}
        body.update(tenant_id=tenant_id, links={"self": run.api_path}, **extra)
        return cls.model_validate(body)


class StartedOffboarding(OffboardingBody):
    """The answer to ``DELETE /api/tenants/{tenant_id}``: the offboarding run, and whether
    it is one already in flight."""

    reused: bool


class DiffEntry(ResponseBody):
    path: str = Field(description="e.g. settings[3].settingInstance.simpleSettingValue.value")
    change: Literal["added", "removed", "changed"]


class ChangedBy(ResponseBody):
    """Who made a change a drift check found, from the tenant's audit logs (DESIGN §10)."""

    actor: str = Field(description="a user's UPN or an app's name")
    actor_type: Literal["user", "app", "partner"]
    at: Timestamp
    activity: str


class RunItemBody(ResponseBody):
    """One item's outcome in a run; restore and drift check items carry their field diff
    and warnings (restores: what was left out of them, ``missing_reference``; drift checks:
    ``ambiguous_match``), drift check items also who changed them."""

    item_id: str
    policy_type: str
    policy_id: str
    display_name: str
    action: ItemAction
    error: ErrorInfo | None
    diff: list[DiffEntry] | None = None
    warnings: list[ErrorInfo] | None = Field(
        None, description="restores: what was left out of the item, e.g. an include of a "
                          "group that no longer exists (missing_reference); any run: a secret "
                          "its snapshot does not hold (secret_not_captured)")
    changed_by: ChangedBy | None = Field(
        None, description="drift checks: who made the change, null when no audit event "
                          "explains it (always null for in_sync items)")
    status: ItemStatus

    @classmethod
    def of(cls, item: RunItem, include_diff: bool, include_changed_by: bool = False
           ) -> RunItemBody:
        return cls.model_validate(item.to_api(include_diff, include_changed_by))


# ---- backups -------------------------------------------------------------------------------
class BackupSetBody(ResponseBody):
    backup_set_id: str
    tenant_id: str
    label: str | None
    run_id: str
    created_at: Timestamp
    item_count: int
    kind: Literal["backup", "capture", "pre_restore"] | None
    run_status: RunStatus | None = Field(
        None, description="the final status of the run that made the set (absent on older sets)")
    all_types: bool | None = Field(
        None, description="whether that run backed up every type: with run_status "
                          "succeeded, the set can be the default drift baseline")


class BackupItemBody(ResponseBody):
    item_id: str
    policy_type: str
    policy_id: str
    display_name: str
    sha256: str
    warnings: list[ErrorInfo] | None = Field(
        None, description="what the snapshot lacks: a secret Graph never returns or would "
                          "not reveal (secret_not_captured); absent when nothing")


class BackupSetWithItems(BackupSetBody):
    items: list[BackupItemBody]


class BaselineBody(ResponseBody):
    """The backup set drift checks of a tenant compare with (DESIGN §10)."""

    tenant_id: str
    backup_set_id: str
    pinned: bool = Field(description="pinned by an admin; else the newest succeeded backup of "
                                     "every type")
    pinned_by: str | None
    pinned_at: Timestamp | None
    since: Timestamp = Field(description="the baseline run's started_at: drift is change since")
    policy_types: list[str] = Field(description="the types the baseline backed up")
    backup_set: BackupSetBody


class VersionBody(ResponseBody):
    """One distinct captured version of a policy."""

    sha256: str
    display_name: str
    captured_at: Timestamp
    backup_set_id: str
    item_id: str


# ---- tenants, access, notifications, audit -------------------------------------------------
class SchedulesBody(ResponseBody):
    """Each schedulable job's NCRONTAB schedule in UTC; null: off (DESIGN §10)."""

    backup: str | None
    drift_check: str | None


class TenantBody(ResponseBody):
    tenant_id: str
    display_name: str
    created_at: Timestamp
    updated_at: Timestamp
    schedules: SchedulesBody
    retention_days: int
    keep_min_sets: int


class GrantBody(ResponseBody):
    tenant_id: str
    principal_id: str
    role: Role
    granted_by: str
    granted_at: Timestamp


class NotificationStatus(StrEnum):
    """A notification's status: one of a run's, or ``drift_detected`` (DESIGN §10). One
    enumeration, so both API documents can state it (Swagger 2.0 has no ``anyOf``)."""

    QUEUED = RunStatus.QUEUED.value
    RUNNING = RunStatus.RUNNING.value
    SUCCEEDED = RunStatus.SUCCEEDED.value
    FAILED = RunStatus.FAILED.value
    PARTIAL = RunStatus.PARTIAL.value
    DRIFT_DETECTED = "drift_detected"


class NotificationBody(ResponseBody):
    """One status change of a run the caller requested."""

    notification_id: str
    tenant_id: str
    run_type: RunType
    run_id: str
    status: NotificationStatus = Field(
        description="the run's new status, or drift_detected: a drift check found drift")
    counts: Counts
    error_code: str | None
    error_context: str | None
    warnings: list[RunWarning] = Field(description="the run's warnings (see the run body)")
    link: str
    created_at: Timestamp
    read: bool
    drift: DriftCounts | None = Field(None, description="drift_detected only: what was found")


class AuditEventBody(ResponseBody):
    event_id: str
    tenant_id: str
    actor: str
    action: str
    target: str
    outcome: str
    created_at: Timestamp
    run_id: str | None
    details: dict[str, Any]


# ---- webhooks ------------------------------------------------------------------------------
class WebhookBody(ResponseBody):
    """A tenant's webhook (DESIGN §13); ``url`` with its query string redacted."""

    webhook_id: str
    url: str = Field(description="the URL, its query string shown as ?[redacted]")
    events: list[str]
    created_at: Timestamp
    updated_at: Timestamp


class WebhookCreated(WebhookBody):
    """The answer to the PUT that created a webhook: the only time its secret is shown."""

    secret: str = Field(description="whsec_ + base64: verify each delivery's "
                                    "webhook-signature with it (Standard Webhooks)")


class DeliveryBody(ResponseBody):
    """One delivery attempt of one event to a webhook."""

    delivery_id: str
    webhook_id: str
    event_id: str = Field(description="the webhook-id header: the same on every retry")
    event_type: str
    attempt: int = Field(description="1 for the first attempt")
    attempted_at: Timestamp
    outcome: Literal["delivered", "retrying", "failed"] = Field(
        description="retrying: another attempt is scheduled (next_attempt_at); failed: none is")
    status_code: int | None = Field(description="the receiver's HTTP status, if it answered")
    error: str | None = Field(
        description="timeout, connection_failed, address_refused, redirect_not_followed or "
                    "http_error; null when delivered")
    duration_ms: int
    next_attempt_at: Timestamp | None
    url: str = Field(description="the URL attempted, its query string redacted")


# ---- lists ---------------------------------------------------------------------------------
class ListBody(ResponseBody, Generic[B]):
    """Every list endpoint's envelope, newest first where it has an order."""

    value: list[B]
    continuation: str | None = Field(
        None, description="absent on the last page; pass it back as ?continuation=")

    @classmethod
    def of(cls, value: Iterable[Any], continuation: str | None = None) -> ListBody[B]:
        """``value`` as this list's items (models or their fields)."""
        data: dict[str, Any] = {"value": list(value)}
        if continuation:
            data["continuation"] = continuation
        return cls.model_validate(data)


__all__ = [
    "AuditEventBody", "BackupItemBody", "BackupSetBody", "BackupSetWithItems", "BaselineBody",
    "ChangedBy", "Counts", "DeliveryBody", "DiffEntry", "DriftCounts", "ErrorInfo", "GrantBody",
    "Health", "ListBody", "NotificationBody", "OffboardingBody", "OffboardingLinks", "Problem",
    "ResponseBody", "RunBody", "RunItemBody", "RunLinks", "RunWarning", "SchedulesBody",
    "StartedOffboarding", "StartedRun", "TenantBody", "VersionBody", "WebhookBody",
    "WebhookCreated",
]
