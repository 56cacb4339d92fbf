"""PolicyVault's one error tree.

    PolicyVaultError                 code, http_status, retryable; message is always safe
    ├── ConfigError                  configuration missing or invalid
    ├── DependencyUnavailable        503 dependency_unavailable: e.g. the token issuer's keys
    ├── RequestError                 the caller sent something we refuse (4xx)
    │   ├── ValidationFailed         400 validation_failed
    │   ├── Unauthenticated          401 unauthenticated
    │   ├── Forbidden                403 forbidden
    │   ├── NotFound                 404 not_found
    │   ├── Conflict                 409 conflict
    │   │   ├── RestoreInProgress    409 restore_in_progress: one live restore per tenant
    │   │   ├── NoBaseline           409 no_baseline: nothing for a drift check to compare with
    │   │   └── TenantOffboarding    409 tenant_offboarding: the tenant is being offboarded
    │   ├── IdempotencyMismatch      422 idempotency_key_reused
    │   ├── MappingInvalid           422 mapping_invalid: a deployment's override names nothing
    │   └── MappingUnresolved        422 mapping_unresolved: a live deployment's plan is not
    │                                    complete (ambiguous or missing references)
    ├── GraphError                   Microsoft Graph or Entra failed; carries request_id
    │   ├── AuthFailed               auth_failed: no token for the tenant
    │   │   └── ConsentMissing       consent_missing: app not consented in the tenant
    │   ├── GraphThrottled           graph_throttled (retryable)
    │   ├── GraphTransient           graph_unavailable: 5xx, timeout, dropped connection (retryable)
    │   ├── GraphNotFound            graph_not_found
    │   ├── GraphForbidden           graph_forbidden (403, also "not licensed")
    │   ├── GraphBadRequest          graph_bad_request (400)
    │   ├── GraphConflict            graph_conflict (409)
    │   ├── GraphBadResponse         graph_bad_response: unparseable body, off-origin nextLink
    │   └── GraphDeadlineExceeded    graph_deadline_exceeded: retries ran out of time
    ├── TenantMismatch               tenant_mismatch: an activity's data is not its run's tenant's
    ├── RunFinished                  conflict: an activity of a run that is already terminal
    ├── StorageError                 storage_error: Azure Storage failed
    ├── KeyUnavailable               key_unavailable: a tenant's data key cannot be unwrapped
    └── SnapshotUnreadable           snapshot_unreadable: a snapshot blob fails its check

Foreign exceptions (httpx, azure-core, MSAL) are translated once, at the edge that calls the
library, with ``raise ... from exc``. Messages given to these classes must already be safe: no
token, secret, Authorization header, SAS signature or storage key (see ``shared.platform.redact``).
"""

from __future__ import annotations

from shared.platform.codes import ErrorCode

MAX_MESSAGE_LENGTH = 500


class PolicyVaultError(Exception):
    """Root of every error PolicyVault raises on purpose."""

    code = ErrorCode.INTERNAL_ERROR
    http_status = 500
    retryable = False

    def __init__(self, message: str, *, code: str | None = None) -> None:
        self.message = message[:MAX_MESSAGE_LENGTH]
        if code is not None:
            self.code = code
        super().__init__(self.message)

    def to_dict(self) -> dict[str, str]:
        """The `{code, message}` shape persisted on runs and items (DESIGN §3)."""
        return {"code": str(self.code), "message": self.message}

    @property
    def problem_members(self) -> dict[str, object]:
        """Extension members of the problem+json body (RFC 9457 §3.2); none by default."""
        return {}


class ConfigError(PolicyVaultError):
    """Raised when required configuration is missing or malformed."""

    code = ErrorCode.CONFIG_ERROR


class DependencyUnavailable(PolicyVaultError):
    """Raised when something we depend on is briefly unreachable (the caller's token may be
    fine): 503, so clients retry instead of discarding their token."""

    code = ErrorCode.DEPENDENCY_UNAVAILABLE
    http_status = 503
    retryable = True


class RequestError(PolicyVaultError):
    """Raised when a caller's request is refused; maps to a 4xx problem+json."""

    http_status = 400


class ValidationFailed(RequestError):
    """Raised when input is malformed: bad JSON, bad id, unknown type, oversize body."""

    code = ErrorCode.VALIDATION_FAILED
    http_status = 400


class UnsupportedType(ValidationFailed):
    """Raised when a policy type key is not in the catalog; the problem body lists the
    supported keys in ``supported_policy_types`` (DESIGN §3)."""

    def __init__(self, key: object, supported: tuple[str, ...]) -> None:
        shown = key if isinstance(key, str) and len(key) <= 100 else "(not shown)"
        super().__init__(f"unknown policy type {shown!r}: use one of the "
                         f"{len(supported)} keys in supported_policy_types")
        self.supported = supported

    @property
    def problem_members(self) -> dict[str, object]:
        return {"supported_policy_types": list(self.supported)}


class Unauthenticated(RequestError):
    """Raised when the bearer token is missing or invalid."""

    code = ErrorCode.UNAUTHENTICATED
    http_status = 401


class Forbidden(RequestError):
    """Raised when the caller may not act on the tenant (also for unknown tenants)."""

    code = ErrorCode.FORBIDDEN
    http_status = 403


class NotFound(RequestError):
    """Raised when a resource inside an authorized tenant (or the caller's own scope) is absent."""

    code = ErrorCode.NOT_FOUND
    http_status = 404


class Conflict(RequestError):
    """Raised when the request conflicts with current state (e.g. a live restore running)."""

    code = ErrorCode.CONFLICT
    http_status = 409


class RestoreInProgress(Conflict):
    """Raised when a live restore is requested while another one runs for the tenant."""

    code = ErrorCode.RESTORE_IN_PROGRESS


class NoBaseline(Conflict):
    """Raised when a drift check is asked for a tenant with no baseline: nothing pinned and
    no succeeded all-type backup (DESIGN §10)."""

    code = ErrorCode.NO_BASELINE


class TenantOffboarding(Conflict):
    """Raised when a job would start in, or a registration would change, a tenant that is
    being offboarded (DESIGN §12)."""

    code = ErrorCode.TENANT_OFFBOARDING


class IdempotencyMismatch(RequestError):
    """Raised when an Idempotency-Key is reused with a different request fingerprint."""

    code = ErrorCode.IDEMPOTENCY_KEY_REUSED
    http_status = 422


class MappingInvalid(RequestError):
    """Raised when a cross-tenant override names no object of the reference's kind in the
    target, names no reference of the deployment, or drops an exclusion (DESIGN §11)."""

    code = ErrorCode.MAPPING_INVALID
    http_status = 422


class MappingUnresolved(RequestError):
    """Raised when a live cross-tenant run is asked for while references are ambiguous or
    missing; ``unresolved`` lists them (``{kind, source_id, source_name, status}``)."""

    code = ErrorCode.MAPPING_UNRESOLVED
    http_status = 422

    def __init__(self, message: str, unresolved: list[dict[str, object]]) -> None:
        super().__init__(message)
        self.unresolved = unresolved

    @property
    def problem_members(self) -> dict[str, object]:
        return {"unresolved": self.unresolved}


class GraphError(PolicyVaultError):
    """Raised when Microsoft Graph or Entra ID answers with a failure."""

    code = ErrorCode.GRAPH_ERROR
    http_status = 502

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        request_id: str | None = None,
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, code=code)
        self.status = status
        self.request_id = request_id
        self.retry_after = retry_after

    def to_dict(self) -> dict[str, str]:
        body = super().to_dict()
        if self.request_id:
            body["message"] = f"{self.message} (request-id {self.request_id})"[
                :MAX_MESSAGE_LENGTH
            ]
        return body


class AuthFailed(GraphError):
    """Raised when no app-only token can be obtained for the tenant."""

    code = ErrorCode.AUTH_FAILED


class ConsentMissing(AuthFailed):
    """Raised when the app registration is not consented in the customer tenant."""

    code = ErrorCode.CONSENT_MISSING


class GraphThrottled(GraphError):
    """Raised when Graph keeps answering 429 beyond the retry budget."""

    code = ErrorCode.GRAPH_THROTTLED
    retryable = True


class GraphTransient(GraphError):
    """Raised on 5xx, timeouts and dropped connections that outlived the retries."""

    code = ErrorCode.GRAPH_UNAVAILABLE
    retryable = True


class GraphNotFound(GraphError):
    """Raised when the object does not exist (404)."""

    code = ErrorCode.GRAPH_NOT_FOUND


class GraphForbidden(GraphError):
    """Raised on 403: missing permission, or the tenant is not licensed for the type."""

    code = ErrorCode.GRAPH_FORBIDDEN


class GraphBadRequest(GraphError):
    """Raised on 400: Graph rejected the request as malformed."""

    code = ErrorCode.GRAPH_BAD_REQUEST


class GraphConflict(GraphError):
    """Raised on 409 from Graph."""

    code = ErrorCode.GRAPH_CONFLICT


class GraphBadResponse(GraphError):
    """Raised when Graph answers with a body we cannot use (malformed JSON, a nextLink or
    batch shape off the contract) — never followed or guessed at."""

    code = ErrorCode.GRAPH_BAD_RESPONSE


class GraphDeadlineExceeded(GraphError):
    """Raised when retries would run past the call's total deadline."""

    code = ErrorCode.GRAPH_DEADLINE_EXCEEDED
    retryable = True


class TenantMismatch(PolicyVaultError):
    """Raised when an activity is handed a run, backup set or blob outside the run's tenant
    (issue 19, finding 2): the tenant comes from the run, never from the data."""

    code = ErrorCode.TENANT_MISMATCH
    http_status = 403


class RunFinished(PolicyVaultError):
    """Raised when an activity is run for a run that is already terminal (issue 19, finding
    3: a hand-started or stray instance); terminal runs never change."""

    code = ErrorCode.CONFLICT
    http_status = 409


class StorageError(PolicyVaultError):
    """Raised when Azure Storage (tables, blobs, queues) fails unexpectedly."""

    code = ErrorCode.STORAGE_ERROR


class KeyUnavailable(PolicyVaultError):
    """Raised when a tenant's data key is missing or the key-encryption key cannot unwrap it
    (another KEK wrapped it, or Key Vault refused): its snapshots stay unreadable."""

    code = ErrorCode.KEY_UNAVAILABLE


class SnapshotUnreadable(PolicyVaultError):
    """Raised when a snapshot blob fails its integrity check (tampered, moved to another
    name or tenant, or an envelope format this release does not know): never used."""

    code = ErrorCode.SNAPSHOT_UNREADABLE
