"""A third-party trigger extension plugs in beside HTTP: its own trigger and input binding
types, its own `/runtime/...` route (not shadowed by HTTP's catch-all, even with an empty
route prefix), and `host.invoke` filling its input binding."""

from __future__ import annotations

from typing import Any

import azure.functions as func
import httpx
from aiohttp import web

from local.host import FunctionHost, HostConfig, host_in_thread
from local.host.http_trigger import HttpExtension


class FakeExtension:
    trigger_types = frozenset({"fakeTrigger"})
    input_binding_types = frozenset({"fakeClient"})

    def __init__(self) -> None:
        self.host: FunctionHost | None = None
        self.stopped = False

    async def start(self, host: FunctionHost) -> None:
        self.host = host
        host.web_app.router.add_post("/runtime/webhooks/fake/{name}", self._run)

    async def stop(self) -> None:
        self.stopped = True

    def input_binding_value(self, binding: dict[str, Any]) -> Any:
        return f"client-for-{binding['name']}"

    async def _run(self, request: web.Request) -> web.Response:
        assert self.host is not None
        [spec] = [f for f in self.host.functions_for(self.trigger_types)
                  if f.name == request.match_info["name"]]
        result = await self.host.invoke(spec, {spec.trigger["name"]: await request.text()})
        return web.json_response(result)


def _app() -> func.FunctionApp:
    app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)

    @app.generic_trigger(arg_name="payload", type="fakeTrigger")
    @app.generic_input_binding(arg_name="client", type="fakeClient")
    def fake(payload: str, client: str) -> dict[str, str]:
        return {"payload": payload, "client": client}

    @app.route(route="{*anything}", methods=["GET", "POST"])
    async def everything(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse("http catch-all")

    @app.generic_trigger(arg_name="x", type="otherTrigger")
    def orphan(x: str) -> None:
        """No extension serves this trigger type."""

    return app


def test_extension_routes_and_input_bindings_work_beside_http() -> None:
    fake = FakeExtension()
    host = FunctionHost(_app(), extensions=[HttpExtension(), fake],
                        host_config=HostConfig(route_prefix=""), settings={}, port=0)
    assert host.unsupported == {"orphan": "otherTrigger"}
    with host_in_thread(host) as running:
        response = httpx.post(f"{running.base_url}/runtime/webhooks/fake/fake", content="hi")
        assert response.json() == {"payload": "hi", "client": "client-for-client"}
        assert httpx.get(f"{running.base_url}/some/path").text == "http catch-all"
        assert "  not yet supported: orphan (otherTrigger)" in host.summary_lines()
    assert fake.stopped


def test_function_needing_an_unserved_input_binding_is_not_served() -> None:
    host = FunctionHost(_app(), extensions=[HttpExtension()], settings={}, port=0)
    assert host.unsupported["fake"] == "fakeTrigger"
    assert [f.name for f in host.functions_for({"httpTrigger"})] == ["everything"]
