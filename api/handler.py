"""The one path every API request takes (DESIGN §3, §6).

Each HTTP function stays a visible route, declared with :func:`api.routes.route`, that calls
:func:`handle` with its implementation. ``handle`` authenticates the bearer token, enforces the
access the route declares (the same declaration the OpenAPI documents show), validates the
path's ids, authorizes the path's tenant (and checks a path run id belongs to it: 403, never
404), and turns every error into ``application/problem+json`` — foreign exception text never
reaches the response.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import azure.functions as func
from pydantic import BaseModel

from api.models.requests import ListQuery, parse
from api.models.responses import Problem, ResponseBody
from api.routes import Access, current_operation
from shared.platform.codes import ErrorCode
from shared.platform.config import get_settings
from shared.platform.errors import (
    Forbidden,
    PolicyVaultError,
    TenantOffboarding,
    ValidationFailed,
)
from shared.platform.keys import is_guid, is_ulid
from shared.platform.log_context import log_context
from shared.platform.loop_local import LoopLocal
from shared.platform.redact import redact
from shared.platform.storage import Storage, get_storage
from shared.runs.store import RunStore
from shared.tenants.auth import Principal, TokenValidator
from shared.tenants.store import Role, Tenant, TenantStore, lacks_role, require_role

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
MAX_JSON_DEPTH = 32  # request bodies are shallow; deeper is hostile (issue 19, finding 8)
PROBLEM_TYPE = "urn:policyvault:problem:"
M = TypeVar("M", bound=BaseModel)
Q = TypeVar("Q", bound=ListQuery)


def _validator() -> TokenValidator:
    settings = get_settings()
    return TokenValidator(
        issuer=settings.api_issuer, audience=settings.api_audience, jwks_url=settings.api_jwks_url
    )


_validators: LoopLocal[TokenValidator] = LoopLocal(_validator)


@dataclass
class ApiCall:
    """What an endpoint implementation gets: the request, who asked, and for tenant routes
    the authorized tenant."""

    req: func.HttpRequest
    principal: Principal
    storage: Storage
    tenant: Tenant | None = None

    @property
    def tenant_id(self) -> str:
        assert self.tenant is not None
        return self.tenant.tenant_id

    def route(self, name: str) -> str:
        return self.req.route_params.get(name, "")

    def json_body(self) -> dict[str, Any]:
        """The request's JSON object; an empty body is ``{}``."""
        raw = self.req.get_body() or b""
        if not raw.strip():
            return {}
        if _nesting(raw) > MAX_JSON_DEPTH:
            raise ValidationFailed(f"the body nests deeper than {MAX_JSON_DEPTH} levels")
        try:
            body = json.loads(raw, object_pairs_hook=_unique_keys)
        except DuplicateKey as exc:
            raise ValidationFailed(f"the body names {exc.key!r} twice in one object") from exc
        except (UnicodeDecodeError, ValueError) as exc:
            raise ValidationFailed("the body is not valid JSON") from exc
        if not isinstance(body, dict):
            raise ValidationFailed("the body must be a JSON object")
        return body

    def body(self, model: type[M]) -> M:
        """The request's JSON body as ``model`` (api/models/requests.py)."""
        return parse(model, self.json_body())

    def query(self, model: type[Q] = ListQuery) -> Q:
        """The query parameters as ``model``: paging, and a list's filters."""
        return model.from_params(self.req.params)


class DuplicateKey(ValueError):
    """A JSON object naming one key twice: parsers disagree on which wins (a proxy that
    checks the first would pass a request that acts on the last), so none is taken."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key[:64]


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise DuplicateKey(key)
        out[key] = value
    return out


Endpoint = Callable[[ApiCall], Awaitable[func.HttpResponse]]


async def handle(req: func.HttpRequest, endpoint: Endpoint) -> func.HttpResponse:
    """Run ``endpoint`` for a caller the route's declared access admits."""
    operation = current_operation()
    access = operation.access
    if not access.authenticated:
        raise RuntimeError("an Access.ANYONE route answers without handle()")
    try:
        # Who, then whether they may, then what they sent: a refusal never depends on the body.
        principal = await _validators.get().principal(req.headers.get("Authorization"))
        call = ApiCall(req=req, principal=principal, storage=get_storage())
        if access is Access.PLATFORM_ADMIN and not principal.platform_admin:
            raise Forbidden("this needs the Platform.Admin role")
        if access.tenant_role is not None:
            call.tenant = await _authorize(call, access.tenant_role, operation.starts_run)
        if len(req.get_body() or b"") > MAX_BODY_BYTES:
            raise ValidationFailed("the body is larger than 1 MiB")
        with log_context(tenant_id=call.tenant.tenant_id if call.tenant else None,
                         run_id=call.route("run_id").upper() or None):
            try:
                return await endpoint(call)
            except TenantOffboarding:
                if access.tenant_role is None or operation.starts_run:
                    raise
                # Marked since this call was authorized: from the mark on, the tenant's own
                # routes answer as for an unknown tenant (DESIGN §12).
                raise lacks_role(access.tenant_role) from None
    except PolicyVaultError as exc:
        if exc.http_status >= 500:
            log.error("request failed: %s %s", exc.code, exc.message)
        return problem(exc.http_status, exc.code, exc.message, **exc.problem_members)
    except Exception as exc:  # the outermost layer: nothing foreign reaches the caller
        log.error("unhandled %s in %s %s: %s", type(exc).__name__, req.method, _path(req),
                  redact(str(exc)))
        return problem(500, ErrorCode.INTERNAL_ERROR,
                       "an internal error occurred; it has been logged")


async def _authorize(call: ApiCall, role: Role, starting: bool) -> Tenant:
    tenant_id = call.route("tenant_id")
    if not is_guid(tenant_id):
        raise ValidationFailed("tenant_id must be a GUID")
    tenant = await require_role(TenantStore(call.storage), call.principal, tenant_id.lower(), role,
                                starting=starting)
    run_id = call.route("run_id")
    if run_id:
        if not is_ulid(run_id):
            raise ValidationFailed("run_id is not a valid run id")
        if await RunStore(call.storage).tenant_of(run_id.upper()) != tenant.tenant_id:
            raise Forbidden("this run does not belong to the tenant")
    return tenant


def json_response(
    body: ResponseBody | Any, status: int = 200, headers: dict[str, str] | None = None
) -> func.HttpResponse:
    """``body``: a response model, or a stored JSON document (a snapshot) as it is."""
    if isinstance(body, ResponseBody):
        body = body.body()
    return func.HttpResponse(
        json.dumps(body, ensure_ascii=False),
        status_code=status,
        headers=headers,
        mimetype="application/json",
        charset="utf-8",
    )


def problem(status: int, code: str, detail: str, **members: Any) -> func.HttpResponse:
    titles = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
              409: "Conflict", 422: "Unprocessable Content", 500: "Internal Server Error"}
    body = Problem(type=PROBLEM_TYPE + code, title=titles.get(status, "Error"), status=status,
                   detail=detail, code=code, **members)
    headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'} if status == 401 else None
    return func.HttpResponse(
        json.dumps(body.body()), status_code=status, headers=headers,
        mimetype="application/problem+json", charset="utf-8",
    )


def _nesting(raw: bytes) -> int:
    """The deepest ``[``/``{`` nesting of a JSON text, brackets inside strings not counted.

    Checked before parsing: the parser recurses per level and would overflow first."""
    depth = deepest = 0
    # Strings (with their escapes) carry no structure: blank them out, then count brackets.
    for token in _STRUCTURE.findall(raw):
        if token in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        elif token in (b"]", b"}"):
            depth -= 1
    return deepest


_STRUCTURE = re.compile(rb'"(?:[^"\\]|\\.)*"?|[\[\]{}]', re.S)


def _path(req: func.HttpRequest) -> str:
    return req.url.split("?", 1)[0]
