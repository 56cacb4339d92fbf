"""The API's route table (DESIGN §3, §13): every HTTP function is declared through :func:`route`.

``route`` registers the function with its blueprint *and* records what the OpenAPI documents
(``api/openapi.py``, ``api/swagger.py``) say about it: operation id, summary, who may call it,
its path, query and header parameters, request model, response models per status and the
problem+json codes it answers with. :func:`api.handler.handle` enforces the access declared
here, so the document and the check cannot disagree. ``tests/api/test_openapi.py`` fails for
an HTTP function registered any other way.

    @route(bp, "GET", "tenants/{tenant_id}/runs", summary="List runs", access=Access.READER,
           query=RunListQuery, responses={200: Reply("The runs, newest first", RunList)})
    async def list_runs(req: func.HttpRequest) -> func.HttpResponse:
        return await handle(req, _list_runs)

Path parameters are declared once, in :data:`PATH_PARAMETERS`, with the pattern the code
validates them with. A route is a plain template (``{tenant_id}``, never ``{id:guid}``).
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import azure.functions as func
from pydantic import BaseModel

from api.models.requests import ITEM_ID_PATTERN
from shared.graph.catalog import SUPPORTED_KEYS
from shared.platform.codes import ErrorCode
from shared.tenants.store import Role

# ---- parameters ----------------------------------------------------------------------------
ULID_PATTERN = "^[0-7][0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{25}$"
GUID_PATTERN = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
# Graph ids: GUIDs, integers (scope tags), or GUID_suffix (enrollment configurations).
POLICY_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
NOTIFICATION_ID_RE = re.compile(r"^[0-9a-f]{32}$")
IDEMPOTENCY_KEY_RE = re.compile(r"^[!-~]{1,200}$")
WEBHOOK_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


@dataclass(frozen=True)
class Parameter:
    """A path or header parameter: its display name (``x-ms-summary``), meaning, schema."""

    title: str
    description: str
    schema: Mapping[str, Any]


PATH_PARAMETERS: dict[str, Parameter] = {
    "tenant_id": Parameter("Tenant ID", "The customer tenant's Entra ID tenant id (a GUID).",
                           {"type": "string", "pattern": GUID_PATTERN}),
    "source_tenant_id": Parameter("Source tenant ID", "The tenant a deployment reads from (a "
                                  "GUID).", {"type": "string", "pattern": GUID_PATTERN}),
    "principal_id": Parameter("Principal ID", "The Entra object id of a user or group.",
                              {"type": "string", "pattern": GUID_PATTERN}),
    "run_id": Parameter("Run ID", "A run id, as a start or the run list returned it.",
                        {"type": "string", "pattern": ULID_PATTERN}),
    "backup_set_id": Parameter("Backup set ID", "A backup set id, as the backup list returns it.",
                               {"type": "string", "pattern": ULID_PATTERN}),
    "item_id": Parameter("Item ID", "An item of the backup set, as the set lists it.",
                         {"type": "string", "pattern": ITEM_ID_PATTERN}),
    "policy_type": Parameter("Policy type", "A catalog key (DESIGN §3, §7.1).",
                             {"type": "string", "enum": list(SUPPORTED_KEYS)}),
    "policy_id": Parameter("Policy ID", "The Graph object id of the policy.",
                           {"type": "string", "pattern": POLICY_ID_RE.pattern}),
    "notification_id": Parameter("Notification ID", "A notification id, as the list returns it.",
                                 {"type": "string", "pattern": NOTIFICATION_ID_RE.pattern}),
    "webhook_id": Parameter("Webhook ID", "The caller's name for the webhook: letters, digits, "
                            "- and _, at most 64.",
                            {"type": "string", "pattern": WEBHOOK_ID_RE.pattern}),
}
IDEMPOTENCY_KEY = Parameter(
    "Idempotency key", "Retries with the same key within 24 hours return the same run; the same "
    "key with a different request is a 422.",
    {"type": "string", "pattern": IDEMPOTENCY_KEY_RE.pattern})

# ---- who may call --------------------------------------------------------------------------


class Access(Enum):
    """Who may call an operation (DESIGN §3). Tenant roles apply to the path's tenant."""

    ANYONE = "anyone"
    CALLER = "caller"
    PLATFORM_ADMIN = "platform_admin"
    READER = "reader"
    OPERATOR = "operator"
    ADMIN = "admin"

    @property
    def authenticated(self) -> bool:
        return self is not Access.ANYONE

    @property
    def tenant_role(self) -> Role | None:
        """The role the path's tenant needs; ``None`` for routes without a tenant check."""
        return Role[self.name] if self.name in Role.__members__ else None

    @property
    def sentence(self) -> str:
        return {
            Access.ANYONE: "No authentication.",
            Access.CALLER: "Any authenticated caller.",
            Access.PLATFORM_ADMIN: "Needs the Platform.Admin app role.",
        }.get(self, f"Needs the {self.value} role on the tenant (or Platform.Admin).")


# ---- responses -----------------------------------------------------------------------------
HEADERS: dict[str, Parameter] = {
    "Location": Parameter("Location", "The run to poll: GET it until it answers 200.",
                          {"type": "string", "format": "uri-reference"}),
    "Retry-After": Parameter("Retry after", "Seconds to wait before polling again.",
                             {"type": "integer", "minimum": 0}),
    "WWW-Authenticate": Parameter("Authenticate", "Bearer, with the token error (RFC 6750).",
                                  {"type": "string"}),
}


@dataclass(frozen=True)
class Reply:
    """One success status: what it means, its JSON body (a response model; ``document`` for a
    stored JSON document served as it is; neither for no body), or ``text``: the media types
    of a text document it serves instead (a report), and the headers it carries."""

    description: str
    model: type[BaseModel] | None = None
    document: bool = False
    text: tuple[str, ...] = ()
    headers: tuple[str, ...] = ()
    optional_headers: tuple[str, ...] = ()


# Codes every authenticated operation may answer with: refusals and our own failures.
SERVER_ERRORS = (ErrorCode.INTERNAL_ERROR, ErrorCode.STORAGE_ERROR, ErrorCode.CONFIG_ERROR)


@dataclass(frozen=True)
class Operation:
    """One HTTP function as the documents describe it."""

    name: str
    method: str
    path: str
    summary: str
    access: Access
    responses: Mapping[int, Reply]
    tag: str
    description: str = ""
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    idempotency_key: bool = False
    errors: Mapping[int, tuple[ErrorCode, ...]] = field(default_factory=dict)
    visibility: str = "important"

    @property
    def operation_id(self) -> str:
        """PascalCase of the function name (Power Platform connector convention)."""
        return "".join(part.capitalize() for part in self.name.split("_"))

    @property
    def starts_run(self) -> bool:
        """Job starts are the operations that take an ``Idempotency-Key`` (DESIGN §3)."""
        return self.idempotency_key

    @property
    def path_parameters(self) -> list[str]:
        return re.findall(r"\{([^}]+)\}", self.path)

    def problems(self) -> dict[int, tuple[str, ...]]:
        """Every error status the operation answers with, and the codes of each."""
        if not self.access.authenticated:
            return {}
        found: dict[int, list[str]] = {
            400: [ErrorCode.VALIDATION_FAILED],  # also: any body over 1 MiB
            401: [ErrorCode.UNAUTHENTICATED],
            500: list(SERVER_ERRORS),
            503: [ErrorCode.DEPENDENCY_UNAVAILABLE],  # the token issuer's keys
        }
        if self.access is not Access.CALLER:
            found[403] = [ErrorCode.FORBIDDEN]
        if self.idempotency_key:
            found[422] = [ErrorCode.IDEMPOTENCY_KEY_REUSED]
        if self.starts_run:  # nothing starts in a tenant being offboarded (DESIGN §12)
            found[409] = [ErrorCode.TENANT_OFFBOARDING]
        for status, codes in self.errors.items():
            found.setdefault(status, []).extend(c for c in codes if c not in found[status])
        return {status: tuple(map(str, codes)) for status, codes in sorted(found.items())}


ROUTES: dict[str, Operation] = {}
_current: ContextVar[Operation] = ContextVar("pv_api_operation")


def current_operation() -> Operation:
    """The operation of the HTTP function now running (set by :func:`route`)."""
    try:
        return _current.get()
    except LookupError:
        raise RuntimeError("api.handler.handle() runs only inside a @route function") from None


def route(bp: Any, method: str, path: str, *, summary: str, access: Access,
          responses: Mapping[int, Reply], description: str = "",
          body: type[BaseModel] | None = None, query: type[BaseModel] | None = None,
          idempotency_key: bool = False, errors: Mapping[int, tuple[ErrorCode, ...]] | None = None,
          visibility: str = "important") -> Callable[[Callable[..., Any]], Any]:
    """Register the decorated HTTP function on ``bp`` and in :data:`ROUTES`. Put it closest to
    the function (below ``@bp.durable_client_input``)."""

    def decorator(function: Callable[..., Any]) -> Any:
        if not inspect.isfunction(function):
            raise TypeError(f"@route must be the decorator closest to the function ({path})")
        operation = Operation(
            name=function.__name__, method=method.upper(), path=path, summary=summary,
            access=access, responses=dict(responses), tag=function.__module__.rsplit(".", 1)[-1],
            description=description, body=body, query=query, idempotency_key=idempotency_key,
            errors=dict(errors or {}), visibility=visibility,
        )
        _check(operation)
        ROUTES[operation.name] = operation
        auth = {"auth_level": func.AuthLevel.ANONYMOUS} if access is Access.ANYONE else {}
        return bp.route(route=path, methods=[operation.method], **auth)(
            _bound(function, operation))

    return decorator


def _bound(function: Callable[..., Any], operation: Operation) -> Callable[..., Any]:
    """``function`` running with ``operation`` as the current one (same signature)."""
    if inspect.iscoroutinefunction(function):
        @functools.wraps(function)
        async def bound_async(*args: Any, **kwargs: Any) -> Any:
            token = _current.set(operation)
            try:
                return await function(*args, **kwargs)
            finally:
                _current.reset(token)
        return bound_async

    @functools.wraps(function)
    def bound(*args: Any, **kwargs: Any) -> Any:
        token = _current.set(operation)
        try:
            return function(*args, **kwargs)
        finally:
            _current.reset(token)
    return bound


def _check(operation: Operation) -> None:
    """Refuse a declaration the documents could not describe truthfully."""
    where = f"{operation.method} {operation.path}"
    if operation.name in ROUTES:
        raise ValueError(f"{where}: a function named {operation.name} is already registered")
    unknown = [p for p in operation.path_parameters if p not in PATH_PARAMETERS]
    if unknown:
        raise ValueError(f"{where}: declare {unknown} in api.routes.PATH_PARAMETERS")
    summary = operation.summary
    if not (0 < len(summary) <= 80) or "/" in summary or not summary[-1].isalnum():
        raise ValueError(f"{where}: a summary is 1-80 characters, has no '/' and ends with a "
                         "letter or digit (Power Platform connector rules)")
    if not operation.responses or any(not 200 <= s < 300 for s in operation.responses):
        raise ValueError(f"{where}: declare the success statuses (2xx) in responses")
    for reply in operation.responses.values():
        for header in (*reply.headers, *reply.optional_headers):
            if header not in HEADERS:
                raise ValueError(f"{where}: declare the header {header} in api.routes.HEADERS")
    if operation.visibility not in ("important", "advanced", "internal"):
        raise ValueError(f"{where}: visibility is important, advanced or internal")
