"""Orchestration features through the real SDK on Azurite (one hub per test)."""

from __future__ import annotations

import uuid

from local.host.durable.history import ET
from tests.durable.harness import Hub


def test_fan_out_500_activities_returns_every_result(hub: Hub) -> None:
    instance = hub.start_id("fan_out", {"n": 500})
    done = hub.wait(instance, timeout=120)
    assert done["runtimeStatus"] == "Completed"
    assert done["output"] == {"count": 500, "sum": 2 * sum(range(500)), "first": [0, 2, 4]}
    history = hub.history(instance)
    scheduled = [e for e in history if e["EventType"] == ET.TASK_SCHEDULED]
    completed = [e for e in history if e["EventType"] == ET.TASK_COMPLETED]
    assert sorted(e["EventId"] for e in scheduled) == list(range(500))
    assert sorted(e["TaskScheduledId"] for e in completed) == list(range(500))


def test_retry_succeeds_on_third_attempt(hub: Hub) -> None:
    instance = hub.start_id("retry_succeeds", {"key": uuid.uuid4().hex, "fail_times": 2})
    done = hub.wait(instance)
    assert done["runtimeStatus"] == "Completed"
    assert done["output"] == {"attempts": 3}
    kinds = [e["EventType"] for e in hub.history(instance)
             if e["EventType"] in (ET.TASK_SCHEDULED, ET.TASK_FAILED, ET.TASK_COMPLETED,
                                   ET.TIMER_CREATED, ET.TIMER_FIRED)]
    assert kinds == [ET.TASK_SCHEDULED, ET.TASK_FAILED, ET.TIMER_CREATED, ET.TIMER_FIRED,
                     ET.TASK_SCHEDULED, ET.TASK_FAILED, ET.TIMER_CREATED, ET.TIMER_FIRED,
                     ET.TASK_SCHEDULED, ET.TASK_COMPLETED]


def test_retry_exhausted_failure_is_caught_by_orchestrator(hub: Hub) -> None:
    instance = hub.start_id("retry_exhausts")
    done = hub.wait(instance)
    assert done["runtimeStatus"] == "Completed"
    assert done["output"]["after"] == "after"
    assert "Activity function 'always_fails' failed: ValueError: no luck" in \
        done["output"]["caught"]
    failures = [e for e in hub.history(instance) if e["EventType"] == ET.TASK_FAILED]
    assert len(failures) == 2


def test_sub_orchestrations_complete_and_failure_is_caught(hub: Hub) -> None:
    instance = hub.start_id("parent")
    done = hub.wait(instance)
    assert done["runtimeStatus"] == "Completed", done
    output = done["output"]
    assert output["ok"] == {"child": f"{instance}:0", "parent": instance, "doubled": 42}
    assert output["named"]["child"] == f"{instance}-named"
    assert "Orchestrator function 'child' failed: negative input -1" in output["caught"]
    failed_child = hub.status(f"{instance}:2")
    assert failed_child is not None and failed_child["runtimeStatus"] == "Failed"


def test_durable_timer_fires_after_its_deadline(hub: Hub) -> None:
    instance = hub.start_id("timer")
    done = hub.wait(instance)
    assert done["runtimeStatus"] == "Completed"
    assert done["output"] >= 1.0
    kinds = [e["EventType"] for e in hub.history(instance)]
    assert kinds.count(ET.TIMER_CREATED) == 1 and kinds.count(ET.TIMER_FIRED) == 1


def test_timer_longer_than_half_the_visibility_timeout_is_parked_in_the_queue(hub: Hub) -> None:
    instance = hub.start_id("timer", 3.2)
    done = hub.wait(instance)
    assert done["runtimeStatus"] == "Completed"
    assert done["output"] >= 3.2


def test_parallel_retries_interleaved_with_plain_activities(hub: Hub) -> None:
    instance = hub.start_id("retry_fan", {"n": 12, "key": uuid.uuid4().hex})
    done = hub.wait(instance)
    assert done["runtimeStatus"] == "Completed", done
    assert done["output"] == {"attempts": [i % 3 + 1 for i in range(12)],
                              "doubled": [2 * i for i in range(12)], "follow_up": 2000}
    ids = [e["EventId"] for e in hub.history(instance) if e["EventId"] >= 0]
    assert sorted(ids) == list(range(len(ids)))


def test_external_event_raised_by_client_while_custom_status_shows_wait(hub: Hub) -> None:
    instance = hub.start_id("approval")
    waiting = hub.wait_for(
        lambda: (s := hub.status(instance)) and s["customStatus"] and s, what="custom status")
    assert waiting["runtimeStatus"] == "Running"
    assert waiting["customStatus"] == {"stage": "waiting for approval"}
    hub.call(hub.client().raise_event(instance, "approve", {"by": "ops", "ok": True}))
    done = hub.wait(instance)
    assert done["output"] == {"answer": {"by": "ops", "ok": True}}
    assert done["customStatus"] == {"stage": "approved"}


def test_event_raised_through_http_starter_reaches_orchestration(hub: Hub) -> None:
    instance = hub.start_id("approval")
    response = hub.http.post(f"{hub.base}/api/raise/{instance}/approve", data='"yes"')
    assert response.status_code == 202, response.text
    assert hub.wait(instance)["output"] == {"answer": "yes"}


def test_task_any_activity_beats_long_timer_which_is_cancelled(hub: Hub) -> None:
    instance = hub.start_id("race", 60)
    done = hub.wait(instance)
    assert done["output"] == {"winner": "activity", "value": 42}


def test_task_any_short_timer_beats_slow_activity(hub: Hub) -> None:
    instance = hub.start_id("race", 0.1)
    assert hub.wait(instance)["output"] == {"winner": "timer"}


def test_continue_as_new_runs_20_generations_with_fresh_history(hub: Hub) -> None:
    instance = hub.start_id("generations", {"n": 0, "until": 20, "trail": []})
    done = hub.wait(instance, timeout=90)
    assert done["runtimeStatus"] == "Completed"
    assert done["output"] == {"generation": 20, "trail": [2 * n for n in range(21)]}
    history = hub.history(instance)
    assert sum(e["EventType"] == ET.EXECUTION_STARTED for e in history) == 1
    assert sum(e["EventType"] == ET.TASK_SCHEDULED for e in history) == 1


def test_orchestrator_exception_fails_instance_with_message_output(hub: Hub) -> None:
    instance = hub.start_id("fails")
    done = hub.wait(instance)
    assert done["runtimeStatus"] == "Failed"
    assert done["output"] == "Orchestrator function 'fails' failed: orchestrator gave up"


def test_payloads_over_storage_limits_round_trip_through_blobs(hub: Hub) -> None:
    text = "é" * 20_000 + "x" * 60_000 + "0123456789"
    instance = hub.start_id("big_payload", text)
    done = hub.wait(instance)
    assert done["runtimeStatus"] == "Completed", done
    assert done["output"] == {"length": len(text), "same": True, "tail": "0123456789"}
    assert hub.status(instance, showInput="true")["input"] is not None
