"""Look before re-creating (issue 19, finding 6), against the simulator and Azurite: an item
whose earlier POST got no answer is looked up again (with a bounded wait for a lagging
listing) before it is created; found, it is finished, not created twice; with no name to look
for, it fails ``uncertain_create`` and nothing is posted."""

from __future__ import annotations

from dataclasses import asdict

import pytest

from activities import restore
from activities.contracts.restore import ApplyItems
from local.graphsim.pytest_plugin import graphsim, graphsim_session  # noqa: F401
from shared.graph import create_item, reading
from shared.platform.errors import GraphBadRequest, GraphThrottled, GraphTransient
from shared.restore import match, uncertain
from shared.restore.state import RestoreState, Step, StepState
from shared.restore.uncertain import refused_before_commit
from shared.runs.store import RunStore
from tests.activities.test_run_scope import TYPE, _item, _run, _set, wired  # noqa: F401

pytestmark = pytest.mark.anyio
FILTERS = "/deviceManagement/assignmentFilters"


async def _apply(storage, tenant_id: str, name: str):
    """A live restore whose item's earlier POST got no answer (its step is ``creating``)."""
    set_id = await _set(storage, tenant_id)
    item_id = await _item(storage, set_id, tenant_id, "44444444-4444-4444-4444-444444444444",
                          name)
    run = await _run(storage, tenant_id, "restore", set_id)
    await RestoreState(storage).put_step(run.run_id, item_id, Step(StepState.CREATING))
    await restore.apply_items(asdict(ApplyItems(
        run_id=run.run_id, tenant_id=tenant_id, backup_set_id=set_id,
        include_assignments=False, ca_state="report_only", policy_type=TYPE,
        item_ids=[item_id])))
    [row] = await RunStore(storage).all_items(run.run_id)
    return row


def _posts(sim, since: int) -> list[dict]:
    return [w for w in sim.writes(since) if w["method"] == "POST"
            and w["path"].endswith("assignmentFilters")]


async def test_an_unanswered_create_without_a_name_fails_uncertain_and_posts_nothing(
        graphsim, wired):  # noqa: F811
    tenant_id = graphsim.tenant_ids[0]
    cursor = graphsim.request_cursor()

    row = await _apply(wired, tenant_id, "")

    assert (row.status, row.error_code) == ("failed", "uncertain_create")
    assert _posts(graphsim, cursor) == []


async def test_an_object_an_unanswered_post_made_is_found_after_a_lagging_listing(
        graphsim, wired, monkeypatch):  # noqa: F811
    tenant_id = graphsim.tenant_ids[0]
    name = "Lagging filter"
    made = await create_item(tenant_id, TYPE, {  # the earlier POST: Graph committed it
        "displayName": name, "platform": "windows10AndLater",
        "rule": '(device.osVersion -startsWith "10")'})
    real, looks = reading.find_by_display_name, []

    async def lagging(tenant, type_key, display_name, **kwargs):
        looks.append(display_name)
        return [] if len(looks) <= 2 else await real(tenant, type_key, display_name, **kwargs)

    monkeypatch.setattr(match, "find_by_display_name", lagging)
    monkeypatch.setattr(uncertain, "find_by_display_name", lagging)
    monkeypatch.setattr(uncertain, "CONSISTENCY_WAITS_S", (0.01, 0.01, 0.01))
    cursor = graphsim.request_cursor()

    row = await _apply(wired, tenant_id, name)

    assert (row.status, row.action) == ("succeeded", "created")
    assert _posts(graphsim, cursor) == []  # not created a second time
    named = [o for o in graphsim.objects(tenant_id, "assignmentFilters")
             if o.get("displayName") == name]
    assert [o["id"] for o in named] == [made.id]


async def test_an_unanswered_create_found_nowhere_after_the_wait_is_created_once(
        graphsim, wired, monkeypatch):  # noqa: F811
    tenant_id = graphsim.tenant_ids[0]
    monkeypatch.setattr(uncertain, "CONSISTENCY_WAITS_S", (0.01, 0.01))
    cursor = graphsim.request_cursor()

    row = await _apply(wired, tenant_id, "Never made")

    assert (row.status, row.action) == ("succeeded", "created")
    assert len(_posts(graphsim, cursor)) == 1


@pytest.mark.parametrize("error, refused", [
    (GraphBadRequest("bad", status=400), True),
    (GraphThrottled("slow down", status=429), True),
    (GraphTransient("busy", status=503), True),
    (GraphTransient("timed out"), False),
    (GraphTransient("gateway", status=504), False),
    (GraphTransient("server", status=500), False),
])
def test_refused_before_commit_only_for_answers_that_committed_nothing(error, refused):
    assert refused_before_commit(error) is refused
