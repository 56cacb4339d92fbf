"""Reading whole collections at Graph's request floor, with nothing lost (DESIGN §9).

``read_collection`` is what a backup uses: the list with the ``$expand`` Graph serves, item
GETs only where the listing lacks something. Its documents must equal what reading each
object on its own gives — every setting, assignment, action and app — while costing a
fraction of the requests. The simulator answers as Graph does where Graph is not uniform
(small pages with big expansions, assignments expanded as ``[]``, missing routes).
"""

from __future__ import annotations

import asyncio

import pytest

from shared.graph import CATALOG, fetch_snapshots, list_items, read_collection
from shared.graph.reading import READ_AHEAD_PAGES
from tests.graph.conftest import until

pytestmark = pytest.mark.anyio


async def _read_all(client, tenant: str, key: str) -> dict[str, dict]:
    out: dict[str, dict] = {}
    async for page in read_collection(tenant, key, client=client):
        for result in page:
            assert result.error is None, (key, result.item_id, result.error)
            assert result.item_id not in out
            out[result.item_id] = result.document
    return out


def _graph_requests(graphsim) -> list[dict]:
    return [e for e in graphsim.requests() if e["kind"] == "graph"]


@pytest.mark.parametrize("rtype", [pytest.param(e, id=e.key) for e in CATALOG])
async def test_read_collection_every_type_equals_reading_each_object(rtype, client, tenants):
    tenant = tenants[0]
    ids = [r.id for r in await list_items(tenant, rtype.key, client=client)]
    one_by_one = {r.item_id: r.document
                  for r in await fetch_snapshots(tenant, rtype.key, ids, client=client)}
    assert ids and all(one_by_one.values())
    assert await _read_all(client, tenant, rtype.key) == one_by_one


async def test_read_collection_settings_catalog_costs_about_one_request_per_policy(
        client, graphsim):
    graphsim.reset(counts={"configurationPolicies": 200}, tenants=1)
    tenant = graphsim.tenant_ids[0]
    documents = await _read_all(client, tenant, "configurationPolicies")
    assert len(documents) == 200
    assert all(len(d["settings"]) == d["settingCount"] for d in documents.values())
    assert sum(len(d["assignments"]) for d in documents.values()) > 0
    requests = _graph_requests(graphsim)
    # 8 list pages of 25 (with assignments) + one item GET per policy (settings inline)
    assert len(requests) == 8 + 200


async def test_read_collection_list_complete_types_cost_only_their_list_pages(
        client, graphsim):
    graphsim.reset(counts={"deviceConfigurations": 250, "deviceCompliancePolicies": 120},
                   tenants=1)
    tenant = graphsim.tenant_ids[0]
    configurations = await _read_all(client, tenant, "deviceConfigurations")
    compliance = await _read_all(client, tenant, "deviceCompliancePolicies")
    assert len(configurations) == 250 and len(compliance) == 120
    assert all(d["scheduledActionsForRule"] for d in compliance.values())
    secrets = sum(1 for o in graphsim.objects(tenant, "deviceConfigurations")
                  for s in o.get("omaSettings") or [] if s.get("isEncrypted"))
    assert secrets > 0  # custom profiles' encrypted OMA-URI values
    # pages of 100, and one getOmaSettingPlainTextValue per secret (DESIGN §12)
    assert len(_graph_requests(graphsim)) == 3 + 2 + secrets


async def test_read_collection_settings_cut_short_by_graph_are_read_again(client, graphsim):
    graphsim.reset(expand_limit=3)
    tenant = graphsim.tenant_ids[0]
    documents = await _read_all(client, tenant, "configurationPolicies")
    assert all(len(d["settings"]) == d["settingCount"] for d in documents.values())
    assert any(d["settingCount"] == 60 for d in documents.values())


async def test_read_collection_scripts_keep_their_body_and_assignments(client, tenants):
    for key, body in (("deviceShellScripts", "scriptContent"),
                      ("deviceHealthScripts", "detectionScriptContent")):
        documents = await _read_all(client, tenants[0], key)
        assert documents and all(d[body] for d in documents.values()), key
        assert any(d["assignments"] for d in documents.values()), key


def _list_pages(graphsim, path: str) -> int:
    return sum(1 for e in _graph_requests(graphsim) if e["path"] == path)


async def test_read_collection_reads_the_next_pages_while_the_caller_stores_one(
        client, graphsim):
    """A big type is a chain of list pages: the next pages, items included, are read while
    the caller is busy with the current one — a bounded number of them, not the whole
    type into memory."""
    graphsim.reset(counts={"configurationPolicies": 200}, tenants=1)  # 8 list pages of 25
    tenant = graphsim.tenant_ids[0]
    path = "/beta/deviceManagement/configurationPolicies"
    pages = read_collection(tenant, "configurationPolicies", client=client)
    first = await anext(pages)  # the caller now holds this page and reads no further
    assert len(first) == 25
    ahead = READ_AHEAD_PAGES
    await until(lambda: _list_pages(graphsim, path) == 1 + ahead, "the pages read ahead")

    def items() -> int:
        return sum(1 for e in _graph_requests(graphsim) if e["path"].startswith(path + "/"))

    await until(lambda: items() == 25 * (1 + ahead), "their items read")
    await asyncio.sleep(0.3)  # room for a reader that would not stop
    assert _list_pages(graphsim, path) == 1 + ahead
    rest = [r for page in [p async for p in pages] for r in page]
    assert len(first) + len(rest) == 200
    assert {r.item_id for r in first + rest} == {
        o["id"] for o in graphsim.objects(tenant, "configurationPolicies")}
    assert _list_pages(graphsim, path) == 8


async def test_read_collection_stopped_early_leaves_nothing_running(client, graphsim):
    graphsim.reset(counts={"configurationPolicies": 200}, tenants=1)
    tenant = graphsim.tenant_ids[0]
    before = asyncio.all_tasks()
    pages = read_collection(tenant, "configurationPolicies", client=client)
    await anext(pages)
    await pages.aclose()
    assert asyncio.all_tasks() - before == set()
