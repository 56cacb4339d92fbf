"""Faults injected by the simulator: transient ones are retried to success, permanent ones
fail fast with the right code, the deadline holds, consent and tenant errors map."""

from __future__ import annotations

import pytest

from shared.graph import RetryPolicy, fetch_snapshots, list_items
from shared.platform.codes import ErrorCode
from shared.platform.config import load_settings
from shared.platform.errors import (
    AuthFailed,
    ConsentMissing,
    GraphDeadlineExceeded,
    GraphForbidden,
    GraphTransient,
)

from .conftest import graph_requests, sim_env

pytestmark = pytest.mark.anyio
CONFIGS = "/beta/deviceManagement/deviceConfigurations"


def _hits(sim, since, prefix=CONFIGS):
    return [e for e in sim.requests(since) if e["path"].startswith(prefix)
            and e["kind"] == "graph"]


@pytest.mark.parametrize("kind", ["500", "502", "503", "504", "drop", "malformed"])
async def test_faults_transient_get_is_retried_to_success(kind, client, tenants, graphsim):
    graphsim.add_fault(kind=kind, tenant=tenants[0], path_prefix=CONFIGS, method="GET",
                       count=2)
    cursor = graphsim.request_cursor()
    refs = await list_items(tenants[0], "deviceConfigurations", client=client)
    assert len(refs) == 6
    assert len(_hits(graphsim, cursor)) == 3


async def test_faults_throttled_batch_retries_only_throttled_sub_requests(client, tenants,
                                                                          graphsim):
    refs = await list_items(tenants[0], "deviceConfigurations", client=client)
    target = f"{CONFIGS}/{refs[2].id}"
    graphsim.add_fault(kind="status", status=429, retry_after=1, tenant=tenants[0],
                       path_prefix=target, count=2)
    cursor = graphsim.request_cursor()
    results = await fetch_snapshots(tenants[0], "deviceConfigurations",
                                    [r.id for r in refs], client=client)
    assert all(r.document for r in results)
    item_gets = [e for e in graphsim.requests(cursor) if e["batch"]
                 and e["path"].rstrip("/").count("/") == 4]
    per_item = {}
    for e in item_gets:
        per_item[e["path"]] = per_item.get(e["path"], 0) + 1
    assert per_item.pop(target) == 3
    assert set(per_item.values()) == {1}


@pytest.mark.parametrize(("status", "code"), [(400, ErrorCode.GRAPH_BAD_REQUEST),
                                              (403, ErrorCode.GRAPH_FORBIDDEN),
                                              (404, ErrorCode.GRAPH_NOT_FOUND),
                                              (409, ErrorCode.GRAPH_CONFLICT)])
async def test_faults_permanent_status_fails_fast_with_code(status, code, client, tenants,
                                                            graphsim):
    graphsim.add_fault(kind="status", status=status, tenant=tenants[0], path_prefix=CONFIGS)
    cursor = graphsim.request_cursor()
    with pytest.raises(Exception) as caught:
        await list_items(tenants[0], "deviceConfigurations", client=client)
    assert caught.value.code == code and caught.value.status == status
    assert caught.value.request_id
    assert len(_hits(graphsim, cursor)) == 1


async def test_faults_unlicensed_tenant_is_forbidden_not_retried(client, tenants, graphsim):
    graphsim.add_fault(kind="status", status=403, tenant=tenants[1])
    with pytest.raises(GraphForbidden):
        await list_items(tenants[1], "configurationPolicies", client=client)
    assert await list_items(tenants[0], "configurationPolicies", client=client)


async def test_faults_post_500_is_not_retried(client, tenants, graphsim):
    from shared.graph import create_item, fetch_snapshot
    refs = await list_items(tenants[0], "deviceConfigurations", client=client)
    doc = await fetch_snapshot(tenants[0], "deviceConfigurations", refs[0].id, client=client)
    graphsim.add_fault(kind="500", tenant=tenants[0], path_prefix=CONFIGS, method="POST")
    cursor = graphsim.request_cursor()
    with pytest.raises(GraphTransient):
        await create_item(tenants[0], "deviceConfigurations", doc, client=client)
    assert len(_hits(graphsim, cursor)) == 1


async def test_faults_persistent_503_ends_in_deadline_exceeded(make_client, tenants,
                                                               graphsim):
    client = make_client(RetryPolicy(deadline_s=1.5, retry_after_cap_s=60))
    graphsim.add_fault(kind="503", retry_after=1, tenant=tenants[0], path_prefix=CONFIGS)
    with pytest.raises(GraphDeadlineExceeded) as caught:
        await list_items(tenants[0], "deviceConfigurations", client=client)
    assert caught.value.code == ErrorCode.GRAPH_DEADLINE_EXCEEDED


async def test_faults_slow_answers_time_out_within_the_deadline(make_client, tenants,
                                                                graphsim):
    client = make_client(RetryPolicy(deadline_s=1.0, attempt_timeout_s=0.3,
                                     backoff_base_s=0.01))
    graphsim.add_fault(kind="slow", delay_ms=2000, tenant=tenants[0], path_prefix=CONFIGS)
    with pytest.raises((GraphDeadlineExceeded, GraphTransient)) as caught:
        await list_items(tenants[0], "deviceConfigurations", client=client)
    assert caught.value.retryable


async def test_faults_token_endpoint_outage_is_retried(make_client, tenants, graphsim):
    client = make_client(RetryPolicy(retry_after_cap_s=2, backoff_base_s=0.01))
    graphsim.add_fault(kind="503", tenant=tenants[2], path_prefix=f"/{tenants[2]}/oauth2",
                       count=1, target="entra")
    assert await list_items(tenants[2], "namedLocations", client=client)
    token_calls = [e["status"] for e in graphsim.requests() if e["path"].endswith("/token")]
    assert token_calls == [503, 200]


async def test_faults_missing_consent_maps_to_consent_missing(client, tenants, graphsim):
    graphsim.set_consent(tenants[1], False)
    with pytest.raises(ConsentMissing) as caught:
        await list_items(tenants[1], "namedLocations", client=client)
    assert caught.value.code == ErrorCode.CONSENT_MISSING and "700016" not in caught.value.code
    assert not graph_requests(graphsim, kind="graph", tenant=tenants[1])


async def test_faults_unknown_tenant_maps_to_auth_failed(client):
    with pytest.raises(AuthFailed) as caught:
        await list_items("99999999-9999-4999-8999-999999999999", "namedLocations",
                         client=client)
    assert type(caught.value) is AuthFailed and caught.value.code == ErrorCode.AUTH_FAILED


async def test_faults_wrong_secret_maps_to_auth_failed_without_the_secret(make_client,
                                                                          graphsim, tenants):
    settings = load_settings(sim_env(graphsim, GRAPH_CLIENT_SECRET="wrong-secret-value-42"))
    client = make_client(settings_=settings)
    with pytest.raises(AuthFailed) as caught:
        await list_items(tenants[0], "namedLocations", client=client)
    assert "wrong-secret-value-42" not in str(caught.value)
    assert "7000215" not in caught.value.code
