"""What callers send: request bodies and list query parameters (DESIGN §3).

Bodies refuse unknown fields and take JSON values as they are (strict: ``"no"`` is not a
boolean, ``7`` is not a label). :func:`parse` turns any refusal into the API's one 400
``validation_failed``, whose detail names the field. Defaults are part of the models, so a
validated body is the canonical body a start's fingerprint hashes (DESIGN §4).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    WithJsonSchema,
)
from pydantic_core import ErrorDetails, PydanticCustomError

from shared.graph.catalog import SUPPORTED_KEYS, supported_type
from shared.graph.payloads import CA_STATES
from shared.platform.errors import UnsupportedType, ValidationFailed
from shared.platform.keys import is_guid, is_ulid
from shared.platform.ncrontab import CronError
from shared.platform.paging import DEFAULT_TOP, MAX_TOP
from shared.retention.settings import (
    MAX_KEEP_MIN_SETS,
    MAX_RETENTION_DAYS,
    MIN_KEEP_MIN_SETS,
    MIN_RETENTION_DAYS,
)
from shared.runs.model import RunStatus, RunType
from shared.schedules.model import parse_schedule
from shared.webhooks.address import MAX_URL_LENGTH
from shared.webhooks.store import EVENT_TYPES

MAX_DISPLAY_NAME = 256
MAX_LABEL = 200
MAX_SCHEDULE = 200
# Restore item ids travel in the run's parameters (one Table property, 32K characters); a
# larger selection is a restore of the whole set, or several requests.
MAX_ITEM_IDS = 500
MAX_ITEM_ID_LENGTH = 200
# An item id is a Table key: none of the characters Azure Tables refuses in one.
ITEM_ID_PATTERN = rf"^[^/\\#?\x00-\x1f\x7f-\x9f]{{1,{MAX_ITEM_ID_LENGTH}}}$"
ITEM_ID_RE = re.compile(ITEM_ID_PATTERN)
MAX_ITEM_ID_CHARS = 25_000

M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], data: Mapping[str, Any]) -> M:
    """``data`` as ``model``; :class:`ValidationFailed` naming the first field refused
    (unknown fields first, all of them)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        unsupported = [e for e in errors if e["type"] == _UNSUPPORTED_TYPE]
        if unsupported and not any(e["type"] == "extra_forbidden" for e in errors):
            raise UnsupportedType(unsupported[0]["input"], SUPPORTED_KEYS) from exc
        raise ValidationFailed(_describe(errors)) from exc


def _describe(errors: list[ErrorDetails]) -> str:
    unknown = sorted(".".join(map(str, e["loc"])) for e in errors
                     if e["type"] == "extra_forbidden")
    if unknown:
        return f"unknown fields: {', '.join(unknown)}"
    first = errors[0]
    where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in first["loc"])
    return f"{where.lstrip('.') or 'body'}: {first['msg']}"


# ---- field types ---------------------------------------------------------------------------
_UNSUPPORTED_TYPE = "unsupported_policy_type"


def _catalog_key(value: str) -> str:
    try:
        return supported_type(value).key
    except UnsupportedType as exc:  # parse() answers with the supported keys
        raise PydanticCustomError(_UNSUPPORTED_TYPE, exc.message) from exc


def _backup_set_id(value: str) -> str:
    if not is_ulid(value):
        raise PydanticCustomError("backup_set_id", "must be a backup set id")
    return value.upper()


def _tenant_id(value: str) -> str:
    if not is_guid(value):
        raise PydanticCustomError("tenant_id", "must be a tenant id (a GUID)")
    return value.lower()


def _mapping_ids(mappings: dict[str, str | None]) -> dict[str, str | None]:
    for source_id, target_id in mappings.items():
        for value in (source_id, target_id):
            if value is not None and not MAPPED_ID_RE.match(value):
                raise PydanticCustomError("mapping_id", "ids must be 1-128 letters, digits, "
                                                        "'-', '_' or '.'")
    return dict(sorted(mappings.items()))


def _not_blank(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError("blank", "must not be blank")
    return value.strip()


def _ncrontab(value: str) -> str:
    normalized = " ".join(value.split())
    try:
        parse_schedule(normalized)
    except CronError as exc:
        raise PydanticCustomError("ncrontab", str(exc)) from exc
    return normalized


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def _sorted_unique(values: list[str]) -> list[str]:
    return sorted(set(values))


def _bounded_total(ids: list[str]) -> list[str]:
    if sum(len(i) + 4 for i in ids) > MAX_ITEM_ID_CHARS:
        raise PydanticCustomError(
            "too_long", f"the item ids must total at most {MAX_ITEM_ID_CHARS} characters")
    return ids


def _whole_number(value: object) -> object:
    """Query values are text: only plain ASCII digits in range are a page size."""
    if isinstance(value, str):
        if not (value.isascii() and value.isdigit() and 1 <= int(value) <= MAX_TOP):
            raise PydanticCustomError("whole_number",
                                      f"must be a whole number from 1 to {MAX_TOP}")
        return int(value)
    return value


def _query_boolean(value: object) -> object:
    """Query values are text: ``true`` or ``false`` (any case) is a boolean."""
    if isinstance(value, str):
        if value.lower() not in ("true", "false"):
            raise PydanticCustomError("boolean", "must be true or false")
        return value.lower() == "true"
    return value


MAPPED_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
MAX_MAPPINGS = 1000
TenantId = Annotated[
    str, AfterValidator(_tenant_id),
    Field(description="an Entra ID tenant id (a GUID)"),
]
Mappings = Annotated[
    dict[str, str | None], Field(max_length=MAX_MAPPINGS), AfterValidator(_mapping_ids),
    Field(description="cross-tenant overrides: source object id → target object id, or null "
                      "to leave that reference out (never an exclusion)"),
]
PolicyTypeKey = Annotated[
    str, AfterValidator(_catalog_key),
    WithJsonSchema({"type": "string", "enum": list(SUPPORTED_KEYS)}),
]
BackupSetId = Annotated[
    str, AfterValidator(_backup_set_id),
    Field(description="a backup set id (a ULID, as the backup list returns it)"),
]
Schedule = Annotated[
    str, Field(max_length=MAX_SCHEDULE), AfterValidator(_ncrontab),
    Field(description="six-field NCRONTAB in UTC ({second} {minute} {hour} {day} {month} "
                      "{day-of-week}), at most every 15 minutes; null: off"),
]
RoleName = Annotated[Literal["reader", "operator", "admin"], BeforeValidator(_lower)]
CaState = Literal[CA_STATES]  # type: ignore[valid-type]
EventType = Literal[EVENT_TYPES]  # type: ignore[valid-type]


# ---- bodies --------------------------------------------------------------------------------
class RequestBody(BaseModel):
    """A JSON request body: unknown fields refused, no type coercion."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class SchedulesPut(RequestBody):
    """``schedules`` of a tenant PUT: a job named here gets this schedule (null: off); a job
    left out keeps the one it has (DESIGN §10)."""

    backup: Schedule | None = None
    drift_check: Schedule | None = None

    def changes(self) -> dict[str, str | None]:
        """Only the jobs the body named: absent is not null."""
        return {job: getattr(self, job) for job in sorted(self.model_fields_set)}


class TenantPut(RequestBody):
    """PUT /api/tenants/{tenant_id}: register a tenant, or change what the body names
    (Platform.Admin); an absent field is left unchanged, and registering needs a name."""

    display_name: Annotated[
        str, Field(min_length=1, max_length=MAX_DISPLAY_NAME), AfterValidator(_not_blank),
    ] | None = None
    schedules: SchedulesPut | None = None
    retention_days: Annotated[int, Field(
        ge=MIN_RETENTION_DAYS, le=MAX_RETENTION_DAYS,
        description="backup sets, run items and notifications older than this many days "
                    "are purged daily (DESIGN §12)")] | None = None
    keep_min_sets: Annotated[int, Field(
        ge=MIN_KEEP_MIN_SETS, le=MAX_KEEP_MIN_SETS,
        description="the newest this many backup sets are kept whatever their age")
    ] | None = None


class AccessPut(RequestBody):
    """PUT /api/tenants/{tenant_id}/access/{principal_id}: grant a role on the tenant."""

    role: RoleName


class BackupStart(RequestBody):
    """POST /api/tenants/{tenant_id}/backups: back up the given types, or all of them."""

    policy_types: Annotated[
        list[PolicyTypeKey], Field(min_length=1), AfterValidator(_sorted_unique),
    ] | None = Field(
        None, description="catalog keys to back up; absent: every supported type")
    label: Annotated[str, Field(max_length=MAX_LABEL)] | None = None


class RestoreStart(RequestBody):
    """POST /api/tenants/{tenant_id}/restores: preview (the default) or restore a set."""

    backup_set_id: BackupSetId
    item_ids: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=MAX_ITEM_ID_LENGTH,
                                  pattern=ITEM_ID_PATTERN)]],
        Field(min_length=1, max_length=MAX_ITEM_IDS), AfterValidator(_bounded_total),
        AfterValidator(_sorted_unique),
    ] | None = Field(None, description="items of the set to restore; absent: all of them")
    dry_run: bool = Field(True, description="preview only; false (a live restore) needs admin")
    include_assignments: bool = True
    ca_state: CaState = Field(
        "report_only", description="Conditional Access policies restored report-only, or as "
                                   "the snapshot has them")
    create_missing_groups: bool = Field(
        False, description="recreate groups of the set that are gone (definitions, never "
                           "members); otherwise they are skipped and what includes them is "
                           "left out")
    source_tenant_id: TenantId | None = Field(
        None, description="cross-tenant deployment (DESIGN §11): the tenant whose backup set "
                          "this is; needs reader there. Objects are matched by display name")
    mappings: Mappings | None = Field(
        None, description="with source_tenant_id: overrides of the mapping plan")


class DriftCheckStart(RequestBody):
    """POST /api/tenants/{tenant_id}/drift-checks: compare the live tenant with a baseline."""

    baseline_backup_set_id: BackupSetId | None = Field(
        None, description="the set to compare with; absent: the tenant's baseline (pinned, "
                          "else its newest succeeded backup of every type)")
    policy_types: Annotated[
        list[PolicyTypeKey], Field(min_length=1), AfterValidator(_sorted_unique),
    ] | None = Field(None, description="catalog keys to check; absent: every type the "
                                       "baseline backed up")


class ReportStart(RequestBody):
    """POST /api/tenants/{tenant_id}/reports: document a set, or what changed since another."""

    backup_set_id: BackupSetId
    compare_to: BackupSetId | None = Field(
        None, description="an older (or newer) set of the tenant: the report then shows what "
                          "changed from it to backup_set_id")
    format: Literal["html", "markdown"] = Field(
        description="html: one self-contained file; markdown: for a repository or a wiki")


class BaselinePut(RequestBody):
    """PUT /api/tenants/{tenant_id}/baseline: pin the set drift checks compare with."""

    backup_set_id: BackupSetId


class WebhookPut(RequestBody):
    """PUT /api/tenants/{tenant_id}/webhooks/{webhook_id}: where to POST which events
    (DESIGN §13)."""

    url: Annotated[str, Field(min_length=1, max_length=MAX_URL_LENGTH)] = Field(
        description="an https URL whose host resolves to public addresses only; its query "
                    "string is kept secret (shown redacted)")
    events: Annotated[
        list[EventType], Field(min_length=1), AfterValidator(_sorted_unique),
    ] = Field(description="the event types to deliver")


class MappingsPut(RequestBody):
    """PUT /api/tenants/{tenant_id}/mappings/{source_tenant_id}: the saved mappings of a
    tenant pair, reused by the next deployment (replaces what was saved)."""

    mappings: Annotated[
        dict[str, str], Field(max_length=MAX_MAPPINGS), AfterValidator(_mapping_ids),
        Field(description="source object id → target object id"),
    ]


# ---- query parameters ----------------------------------------------------------------------
class ListQuery(BaseModel):
    """?top=&continuation= of every list endpoint; other parameters are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    top: Annotated[int, Field(ge=1, le=MAX_TOP), BeforeValidator(_whole_number)] = Field(
        DEFAULT_TOP, description=f"page size, 1 to {MAX_TOP}")
    continuation: str | None = Field(None, description="the previous page's continuation")

    @classmethod
    def from_params(cls: type[M], params: Mapping[str, str]) -> M:
        """The query as sent; an empty value counts as absent."""
        return parse(cls, {name: value for name, value in params.items() if value != ""})


class RunListQuery(ListQuery):
    """GET …/runs: also filtered by run type and status."""

    run_type: RunType | None = Field(None, description="only runs of this type")
    status: RunStatus | None = Field(None, description="only runs in this status")


class NotificationListQuery(ListQuery):
    """GET /api/notifications: ``unread=true`` lists only the unread ones."""

    unread: Annotated[bool, BeforeValidator(_query_boolean)] = Field(
        False, description="true: only the unread notifications")


__all__ = [
    "AccessPut", "BackupStart", "BaselinePut", "DriftCheckStart", "ListQuery",
    "NotificationListQuery", "RestoreStart", "RunListQuery", "SchedulesPut", "TenantPut",
    "WebhookPut", "parse",
]

