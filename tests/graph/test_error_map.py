"""The error mapping is complete: every httpx exception class and every HTTP status becomes
one of shared.platform.errors' classes — a new httpx exception or an unlisted status fails here."""

from __future__ import annotations

import inspect

import httpx
import pytest

from shared.graph.error_map import TRANSPORT_ERRORS, map_http_error, map_transport_error
from shared.platform.errors import (
    AuthFailed,
    GraphBadRequest,
    GraphConflict,
    GraphError,
    GraphForbidden,
    GraphNotFound,
    GraphThrottled,
    GraphTransient,
)

HTTPX_EXCEPTIONS = sorted(
    (obj for _, obj in inspect.getmembers(httpx, inspect.isclass) if issubclass(obj, Exception)),
    key=lambda c: c.__name__,
)


def _instance(cls: type[Exception]) -> Exception:
    request = httpx.Request("GET", "https://graph.example/v1.0/x?secret=1")
    if issubclass(cls, httpx.HTTPStatusError):
        response = httpx.Response(503, request=request, json={"error": {"code": "x"}})
        return cls("boom", request=request, response=response)
    if issubclass(cls, httpx.RequestError):
        return cls("boom", request=request)
    if issubclass(cls, httpx.StreamError):
        return cls() if cls is not httpx.StreamError else cls("boom")
    return cls("boom")


def test_error_map_every_httpx_exception_class_is_listed():
    unlisted = [c.__name__ for c in HTTPX_EXCEPTIONS
                if c not in TRANSPORT_ERRORS and c is not httpx.HTTPStatusError]
    assert unlisted == []


@pytest.mark.parametrize("cls", HTTPX_EXCEPTIONS, ids=lambda c: c.__name__)
def test_error_map_every_httpx_exception_translates_to_a_graph_error(cls):
    error, sent = map_transport_error(_instance(cls), "GET", "/v1.0/x")
    assert isinstance(error, GraphError)
    assert isinstance(sent, bool)
    assert "secret" not in error.message and "boom" not in error.message


@pytest.mark.parametrize("cls", [httpx.ConnectError, httpx.ConnectTimeout, httpx.ReadTimeout,
                                 httpx.RemoteProtocolError, httpx.ReadError, httpx.PoolTimeout])
def test_error_map_network_failures_are_transient(cls):
    assert isinstance(map_transport_error(_instance(cls), "GET", "/x")[0], GraphTransient)


def test_error_map_connect_failures_mark_the_request_as_never_sent():
    assert map_transport_error(_instance(httpx.ConnectError), "POST", "/x")[1] is False
    assert map_transport_error(_instance(httpx.ReadTimeout), "POST", "/x")[1] is True


EXPECTED = {400: GraphBadRequest, 401: AuthFailed, 403: GraphForbidden, 404: GraphNotFound,
            409: GraphConflict, 429: GraphThrottled, 500: GraphTransient,
            502: GraphTransient, 503: GraphTransient, 504: GraphTransient}


@pytest.mark.parametrize("status", range(100, 600))
def test_error_map_every_status_translates_with_status_and_request_id(status):
    body = {"error": {"code": "SomeCode", "message": "went wrong",
                      "innerError": {"request-id": "body-rid"}}}
    error = map_http_error(status, body, {"request-id": "abc-123", "Retry-After": "7"},
                           method="GET", path="/beta/x")
    assert isinstance(error, GraphError)
    assert error.status == status and error.request_id == "abc-123"
    assert error.code and error.retry_after == 7.0
    if status in EXPECTED:
        assert type(error) is EXPECTED[status]


def test_error_map_graph_message_is_redacted_and_bounded():
    secret = "s3cr3t-value-0123456789"
    body = {"error": {"code": "UnknownError",
                      "message": f"Authorization: Bearer eyJabc.eyJdef.sig {secret} " + "x" * 900}}
    error = map_http_error(500, body, {}, method="GET", path="/v1.0/x", secrets=[secret])
    assert secret not in error.message and "eyJabc" not in error.message
    assert len(error.message) <= 500
    assert error.request_id is None


def test_error_map_unparseable_body_still_maps():
    error = map_http_error(502, "<html>bad gateway</html>", None, method="GET", path="/x")
    assert isinstance(error, GraphTransient) and error.status == 502
