"""The local management API answers an unexpected failure (storage unreachable) as the
Durable extension does — a JSON error body — so the SDK's client raises a plain error the
app handles, instead of failing to parse an HTML error page (the soak's 500s)."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from local.host.durable.http_api import PREFIX, routes

pytestmark = pytest.mark.anyio


class UnreachableStorage:
    async def start(self, *args: object, **kwargs: object) -> None:
        raise ConnectionResetError("[Errno 104] Connection reset by peer")


async def test_a_failed_start_is_a_json_500() -> None:
    app = web.Application()
    app.add_routes(routes(UnreachableStorage(), lambda instance_id: {}))  # type: ignore[arg-type]

    async with TestClient(TestServer(app)) as client:
        response = await client.post(f"{PREFIX}/orchestrators/backup_tenant/abc123", json={})

        assert response.status == 500
        body = await response.json()
    assert body["Message"] == "the operation failed (ConnectionResetError)"
    assert "Errno" not in body["ExceptionMessage"]
