"""HTTP triggers through real HTTP against `python -m local.host` running the test app."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.local_host.helpers import HostProcess, host_env, host_process

GUID = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"


@pytest.fixture(scope="module")
def host(
    storage_connection: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[HostProcess]:
    folder = tmp_path_factory.mktemp("http-host")
    env = host_env(
        AzureWebJobsStorage=storage_connection,
        PV_STORAGE_PREFIX="t" + uuid.uuid4().hex[:10],  # module-wide: one host for all tests
        PV_TEST_MARKERS=str(folder),
    )
    with host_process(folder, env) as running:
        yield running


@pytest.fixture
def client(host: HostProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=host.base_url, timeout=30) as http:
        yield http


def test_http_echo_passes_method_url_headers_query_and_route(
    client: httpx.Client, host: HostProcess
) -> None:
    response = client.get(
        "/api/echo/a/b%20c?x=1&x=2&y=z", headers={"X-Test": "v1", "Accept": "text/plain"}
    )
    assert response.status_code == 200
    seen = response.json()
    assert seen["method"] == "GET"
    assert seen["url"] == f"{host.base_url}/api/echo/a/b%20c?x=1&x=2&y=z"
    assert seen["route_params"] == {"rest": "a/b c"}
    assert seen["params"] == {"x": "1,2", "y": "z"}
    headers = {k.lower(): v for k, v in seen["headers"].items()}
    assert headers["x-test"] == "v1"
    assert headers["accept"] == "text/plain"


def test_http_catch_all_may_be_empty(client: httpx.Client) -> None:
    assert client.delete("/api/echo").json()["route_params"] == {}


def test_http_binary_body_round_trips_unchanged(client: httpx.Client) -> None:
    body = os.urandom(1024 * 1024)
    response = client.post("/api/binary", content=body)
    assert response.status_code == 200
    assert response.content == body
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["x-length"] == str(len(body))


def test_http_async_function_gets_json_and_sets_status(client: httpx.Client) -> None:
    response = client.post("/api/async-json", json={"a": [1, "é"]})
    assert response.status_code == 201
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"received": {"a": [1, "é"]}, "async": True}


@pytest.mark.parametrize(
    ("path", "status", "expected"),
    [
        (f"/api/items/{GUID}", 200, {"route_params": {"item_id": GUID}}),
        (f"/api/items/{GUID.upper()}", 200, {"route_params": {"item_id": GUID.upper()}}),
        ("/api/items/not-a-guid", 404, None),
        ("/api/things/special", 200, {"which": "literal"}),
        ("/api/things/other", 200, {"which": "parameter", "name": "other"}),
        ("/api/things/a%0Ab", 200, {"which": "parameter", "name": "a\nb"}),  # the app decides
        ("/api/THINGS/Special", 200, {"which": "literal"}),
        ("/api/opt", 200, {"route_params": {}}),
        ("/api/opt/given", 200, {"route_params": {"name": "given"}}),
        ("/api/nums/42", 200, {"n": 42}),
        ("/api/nums/-7/", 200, {"n": -7}),
        ("/api/nums/4x", 404, None),
        ("/api/letters/abc", 200, {"word": "abc"}),
        ("/api/letters/abc1", 404, None),
        ("/api/files/report.final.pdf", 200,
         {"route_params": {"stem": "report.final", "ext": "pdf"}}),
        ("/api/nope", 404, None),
        ("/nope", 404, None),
        ("/api", 404, None),
    ],
)
def test_http_route_templates_match_like_azure(
    client: httpx.Client, path: str, status: int, expected: dict | None
) -> None:
    response = client.get(path)
    assert response.status_code == status
    if expected is None:
        assert response.content == b""
    else:
        assert response.json() == expected


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/api/binary"), ("PUT", "/api/ping"), ("HEAD", "/api/ping")]
)
def test_http_method_not_declared_is_404(client: httpx.Client, method: str, path: str) -> None:
    assert client.request(method, path).status_code == 404


def test_http_response_headers_status_and_charset_go_back_unchanged(
    client: httpx.Client,
) -> None:
    response = client.get("/api/headers")
    assert response.status_code == 202
    assert response.headers["content-type"] == "text/csv; charset=latin-1"
    assert response.headers.get_list("set-cookie") == ["a=1; Path=/", "b=2; Path=/"]
    assert response.headers["x-custom"] == "yes"
    assert response.content == b"a;b\n1;2\n"


def test_http_mimetype_and_charset_make_the_content_type(client: httpx.Client) -> None:
    response = client.get("/api/html")
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.text == "<p>héllo</p>"


def test_http_function_returning_str_is_a_200_text(client: httpx.Client) -> None:
    response = client.get("/api/plain-str")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == "just a string"


def test_http_status_without_body(client: httpx.Client) -> None:
    response = client.get("/api/teapot")
    assert response.status_code == 418
    assert response.content == b""


@pytest.mark.parametrize("path", ["/api/boom", "/api/boom-async"])
def test_http_function_raising_is_500_without_exception_text(
    client: httpx.Client, host: HostProcess, path: str
) -> None:
    response = client.get(path)
    assert response.status_code == 500
    assert response.content == b""
    assert "secret" not in str(response.headers)
    log_line = "secret-detail-sync" if path.endswith("boom") else "secret-detail-async"
    assert log_line in host.stdout()  # the traceback is logged


@pytest.mark.parametrize("path", ["/api/sync-barrier", "/api/async-barrier"])
def test_http_requests_run_concurrently(host: HostProcess, path: str) -> None:
    async def three_at_once() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=host.base_url, timeout=30) as http:
            return await asyncio.gather(*(http.get(path) for _ in range(3)))

    responses = asyncio.run(three_at_once())
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert {r.text for r in responses} == {"together"}


def test_http_accepts_a_100_mib_body(client: httpx.Client) -> None:
    size = 100 * 1024 * 1024
    response = client.post("/api/size", content=b"\0" * size)
    assert response.status_code == 200
    assert response.json() == {"body_len": size}


def test_http_function_gets_context_when_it_asks(client: httpx.Client) -> None:
    seen = client.get("/api/with-context").json()
    assert seen["function_name"] == "with_context"
    assert seen["id"]


def test_host_lists_functions_and_unsupported_triggers_at_start(host: HostProcess) -> None:
    summary = host.stdout()
    assert f"listening on {host.base_url}" in summary
    assert "not yet supported: on_blob (blobTrigger)" in summary
    assert f"echo: DELETE,GET,PATCH,POST,PUT {host.base_url}/api/echo/{{*rest}}" in summary
    assert "tick: timer '* * * * * *' (UTC)" in summary
    assert "work: queue 't" in summary


def test_host_finishes_in_flight_request_on_sigterm(
    storage_connection: str, tmp_path: Path
) -> None:
    env = host_env(
        AzureWebJobsStorage=storage_connection, PV_STORAGE_PREFIX="t" + uuid.uuid4().hex[:10],
        PV_TEST_MARKERS=str(tmp_path),
    )
    with host_process(tmp_path, env) as running:
        async def slow_then_stop() -> httpx.Response:
            async with httpx.AsyncClient(base_url=running.base_url, timeout=30) as http:
                pending = asyncio.create_task(http.get("/api/slow"))
                while not (tmp_path / "slow-started").exists():
                    await asyncio.sleep(0.02)
                running.process.terminate()
                return await pending

        response = asyncio.run(slow_then_stop())
        assert (response.status_code, response.text) == (200, "done")
        assert running.process.wait(20) == 0
        assert "local.host: stopping" in running.stdout()
