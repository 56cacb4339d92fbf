"""Every stable code PolicyVault persists or returns, in one place (DESIGN §3, §6).

``ErrorCode`` values appear in problem+json bodies (``code``), on runs and items (``error.code``)
and in notifications; clients branch on them, so a value never changes once released. The
README's table of codes lists each one (``tests/shared/test_codes.py`` holds it to that).
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    # Requests refused (4xx)
    VALIDATION_FAILED = "validation_failed"
    UNAUTHENTICATED = "unauthenticated"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    RESTORE_IN_PROGRESS = "restore_in_progress"
    NO_BASELINE = "no_baseline"
    TENANT_OFFBOARDING = "tenant_offboarding"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    MAPPING_UNRESOLVED = "mapping_unresolved"
    MAPPING_INVALID = "mapping_invalid"
    # Our side or a dependency
    INTERNAL_ERROR = "internal_error"
    CONFIG_ERROR = "config_error"
    DEPENDENCY_UNAVAILABLE = "dependency_unavailable"
    STORAGE_ERROR = "storage_error"
    KEY_UNAVAILABLE = "key_unavailable"
    SNAPSHOT_UNREADABLE = "snapshot_unreadable"
    # Microsoft Graph and Entra ID
    GRAPH_ERROR = "graph_error"
    AUTH_FAILED = "auth_failed"
    CONSENT_MISSING = "consent_missing"
    GRAPH_THROTTLED = "graph_throttled"
    GRAPH_UNAVAILABLE = "graph_unavailable"
    GRAPH_NOT_FOUND = "graph_not_found"
    GRAPH_FORBIDDEN = "graph_forbidden"
    GRAPH_BAD_REQUEST = "graph_bad_request"
    GRAPH_CONFLICT = "graph_conflict"
    GRAPH_BAD_RESPONSE = "graph_bad_response"
    GRAPH_DEADLINE_EXCEEDED = "graph_deadline_exceeded"
    # Restore outcomes of one item
    NOT_CREATABLE = "not_creatable"
    AMBIGUOUS_MATCH = "ambiguous_match"
    NAME_IN_USE = "name_in_use"
    NOT_RESTORABLE = "not_restorable"
    CONTENT_REQUIRED = "content_required"
    MISSING_REFERENCE = "missing_reference"
    MISSING_EXCLUSION = "missing_exclusion"
    SECRET_NOT_COPIED = "secret_not_copied"
    # A secret the item's snapshot does not hold (Graph never returns it, or would not reveal it)
    SECRET_NOT_CAPTURED = "secret_not_captured"
    TENANT_MISMATCH = "tenant_mismatch"
    UNCERTAIN_CREATE = "uncertain_create"
    # A whole type a backup could not read
    NOT_AVAILABLE = "not_available"
    # A drift item's author cannot be known: the tenant's audit log was not served
    AUDIT_LOG_UNAVAILABLE = "audit_log_unavailable"
