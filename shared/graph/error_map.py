"""The one place where httpx exceptions and Graph error answers become PolicyVault errors.

Every message built here is safe by construction: it names the method, the path (never the
query), the status, Graph's error code and Graph's message run through
:func:`shared.platform.redact.redact` with the credentials the caller knows (client secret,
the bearer token just sent). Request bodies and headers never enter a message.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import httpx

from shared.graph.retry import parse_retry_after
from shared.platform.errors import (
    AuthFailed,
    GraphBadRequest,
    GraphBadResponse,
    GraphConflict,
    GraphError,
    GraphForbidden,
    GraphNotFound,
    GraphThrottled,
    GraphTransient,
)
from shared.platform.redact import redact

GRAPH_MESSAGE_LIMIT = 240

# Exact class → (our error class, whether the request may have reached Graph).
# Every exception class httpx exports is listed; tests/graph/test_error_map.py fails when a new
# httpx release adds one that is not.
TRANSPORT_ERRORS: dict[type[Exception], tuple[type[GraphError], bool]] = {
    # Never sent: safe to resend even a POST.
    httpx.ConnectError: (GraphTransient, False),
    httpx.ConnectTimeout: (GraphTransient, False),
    httpx.PoolTimeout: (GraphTransient, False),
    httpx.ProxyError: (GraphTransient, False),
    # Sent, answer lost: only idempotent requests are resent.
    httpx.ReadTimeout: (GraphTransient, True),
    httpx.WriteTimeout: (GraphTransient, True),
    httpx.TimeoutException: (GraphTransient, True),
    httpx.ReadError: (GraphTransient, True),
    httpx.WriteError: (GraphTransient, True),
    httpx.CloseError: (GraphTransient, True),
    httpx.NetworkError: (GraphTransient, True),
    httpx.RemoteProtocolError: (GraphTransient, True),
    httpx.TransportError: (GraphTransient, True),
    # Graph answered something we cannot use.
    httpx.DecodingError: (GraphBadResponse, True),
    httpx.TooManyRedirects: (GraphBadResponse, True),
    # Our own misuse: a bug, never retried.
    httpx.LocalProtocolError: (GraphError, False),
    httpx.ProtocolError: (GraphError, True),
    httpx.UnsupportedProtocol: (GraphError, False),
    httpx.InvalidURL: (GraphError, False),
    httpx.CookieConflict: (GraphError, False),
    httpx.RequestNotRead: (GraphError, False),
    httpx.ResponseNotRead: (GraphError, True),
    httpx.StreamClosed: (GraphError, True),
    httpx.StreamConsumed: (GraphError, True),
    httpx.StreamError: (GraphError, True),
    httpx.RequestError: (GraphError, True),
    httpx.HTTPError: (GraphError, True),
}


def map_transport_error(exc: Exception, method: str, path: str) -> tuple[GraphError, bool]:
    """Translate an httpx exception; returns ``(error, sent)``. Unknown classes fall back to
    their nearest listed base so nothing escapes untranslated."""
    if isinstance(exc, httpx.HTTPStatusError):
        return map_http_error(exc.response.status_code, _safe_json(exc.response),
                              exc.response.headers, method=method, path=path), True
    for cls in type(exc).__mro__:
        if cls in TRANSPORT_ERRORS:
            err_cls, sent = TRANSPORT_ERRORS[cls]
            break
    else:
        err_cls, sent = GraphError, True
    kind = type(exc).__name__
    if err_cls is GraphTransient:
        message = f"{method} {path}: Graph unreachable or no answer ({kind})"
    elif err_cls is GraphBadResponse:
        message = f"{method} {path}: unusable answer from Graph ({kind})"
    else:
        message = f"{method} {path}: request could not be made ({kind})"
    return err_cls(message), sent


# status → class; anything else 4xx is a plain GraphError, 5xx transient.
STATUS_ERRORS: dict[int, type[GraphError]] = {
    400: GraphBadRequest, 401: AuthFailed, 403: GraphForbidden, 404: GraphNotFound,
    405: GraphBadRequest, 409: GraphConflict, 410: GraphNotFound, 412: GraphConflict,
    413: GraphBadRequest, 415: GraphBadRequest, 422: GraphBadRequest, 423: GraphConflict,
    429: GraphThrottled,
}


def error_class_for_status(status: int) -> type[GraphError]:
    if status in STATUS_ERRORS:
        return STATUS_ERRORS[status]
    if status >= 500:
        return GraphTransient
    if 200 <= status < 300:  # a 2xx we could not use
        return GraphBadResponse
    return GraphError


def map_http_error(status: int, body: Any, headers: Mapping[str, str] | None, *,
                   method: str, path: str, secrets: Iterable[str] = ()) -> GraphError:
    """Translate a Graph error answer (top-level or a ``$batch`` sub-response)."""
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    error = body.get("error") if isinstance(body, dict) else None
    graph_code = message = request_id = None
    if isinstance(error, dict):
        graph_code = error.get("code") if isinstance(error.get("code"), str) else None
        message = error.get("message") if isinstance(error.get("message"), str) else None
        inner = error.get("innerError") or error.get("innererror")
        if isinstance(inner, dict):
            request_id = inner.get("request-id") or inner.get("requestId")
    request_id = headers.get("request-id") or request_id
    text = f"{method} {path}: HTTP {status}"
    if graph_code:
        text += f" {redact(graph_code, secrets, limit=60)}"
    if message:
        text += f": {redact(message, secrets, limit=GRAPH_MESSAGE_LIMIT)}"
    err = error_class_for_status(status)(
        text, status=status, request_id=_safe_request_id(request_id),
        retry_after=parse_retry_after(headers.get("retry-after")),
    )
    err.graph_code = graph_code  # type: ignore[attr-defined]
    return err


def _safe_request_id(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip()[:64]
    return value if all(c.isalnum() or c in "-_" for c in value) else None


def _safe_json(response: httpx.Response) -> Any:
    try:
        return json.loads(response.content or b"null")
    except (ValueError, httpx.ResponseNotRead):
        return None
