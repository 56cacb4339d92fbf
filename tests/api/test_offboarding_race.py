"""A request authorized just before its tenant's offboarding is marked (DESIGN §12): through
the real route (token checked against the simulator, rows in Azurite), the mark landing
between authorization and the write. It answers as the tenant's routes do from the mark on —
403 for a tenant route, 409 ``tenant_offboarding`` for a re-registration — and writes nothing
a user would find."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

import azure.functions as func
import pytest

from api import handler, routes, tenants, webhooks
from local.graphsim.pytest_plugin import graphsim, graphsim_session  # noqa: F401
from shared.backups.tenant_keys import TENANT_KEYS
from shared.platform import tables
from shared.platform.config import get_settings
from shared.platform.keys import new_ulid
from shared.platform.storage import Storage
from shared.tenants import gate
from shared.tenants.gate import OpenTenants
from shared.tenants.store import TenantStore
from shared.webhooks.store import WEBHOOKS, WebhookStore
from tests.activities.test_run_scope import wired  # noqa: F401

pytestmark = pytest.mark.anyio
NEW_TENANT = "0d3c1f52-0000-4000-8000-0000000000ff"


@pytest.fixture
def api(wired: Storage, monkeypatch: pytest.MonkeyPatch) -> Storage:  # noqa: F811
    monkeypatch.setattr(handler, "get_storage", lambda: wired)
    monkeypatch.setattr(gate, "PROCESS_OPEN_TENANTS", OpenTenants(open_s=0))  # sees the mark
    monkeypatch.setenv("PV_WEBHOOK_ALLOWED_HOSTS", "localhost")
    get_settings.cache_clear()
    return wired


async def _call(operation: str, endpoint: Callable[[handler.ApiCall], Awaitable[func.HttpResponse]],
                token: str, path: str, body: dict, **route_params: str) -> func.HttpResponse:
    req = func.HttpRequest("PUT", f"http://localhost/api/{path}", body=json.dumps(body).encode(),
                           headers={"Authorization": f"Bearer {token}",
                                    "Content-Type": "application/json"},
                           route_params=route_params)
    current = routes._current.set(routes.ROUTES[operation])
    try:
        return await handler.handle(req, endpoint)
    finally:
        routes._current.reset(current)


def _admin_token(graphsim) -> str:  # noqa: F811
    return graphsim.mint_token(oid="race-admin", roles=["Platform.Admin"],
                               audience="api://policyvault")


def _marked_before(storage: Storage, saving):
    """``WebhookStore.put`` once a DELETE of its tenant has been accepted."""
    async def marked_meanwhile(self, tenant_id, *args, **kwargs):
        await TenantStore(storage).mark_offboarding(tenant_id, new_ulid())
        return await saving(self, tenant_id, *args, **kwargs)
    return marked_meanwhile


def _marked_after(storage: Storage, saving):
    """``TenantStore.put``, then a DELETE of the tenant accepted."""
    async def marked_meanwhile(self, tenant):
        await saving(self, tenant)
        await TenantStore(storage).mark_offboarding(tenant.tenant_id, new_ulid())
    return marked_meanwhile


async def test_a_webhook_put_the_offboarding_overtakes_answers_403_and_registers_nothing(
        graphsim, api, monkeypatch):  # noqa: F811
    tenant_id = graphsim.tenant_ids[0]
    monkeypatch.setattr(WebhookStore, "put", _marked_before(api, WebhookStore.put))

    response = await _call("put_webhook", webhooks._put_webhook, _admin_token(graphsim),
                           f"tenants/{tenant_id}/webhooks/hook-1",
                           {"url": "https://localhost/hook", "events": ["run.succeeded"]},
                           tenant_id=tenant_id, webhook_id="hook-1")

    assert response.status_code == 403, response.get_body()
    assert json.loads(response.get_body())["code"] == "forbidden"
    assert await tables.query_all(await api.table(WEBHOOKS), tenant_id) == []


async def test_a_registration_the_offboarding_overtakes_answers_409_and_makes_no_key(
        graphsim, api, monkeypatch):  # noqa: F811
    """The tenant is new, so nothing refuses it up front; a DELETE accepted while its row is
    written marks it before its data key is made."""
    monkeypatch.setattr(TenantStore, "put", _marked_after(api, TenantStore.put))

    response = await _call("put_tenant", tenants._put_tenant, _admin_token(graphsim),
                           f"tenants/{NEW_TENANT}", {"display_name": "Overtaken"},
                           tenant_id=NEW_TENANT)

    assert response.status_code == 409, response.get_body()
    assert json.loads(response.get_body())["code"] == "tenant_offboarding"
    keys = await tables.query_all(await api.table(TENANT_KEYS), "datakey")
    assert [k for k in keys if k["RowKey"].startswith(NEW_TENANT)] == []

