"""The episode engine against the real SDK, without storage: sequence numbers must agree."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from azure.functions._durable_functions import OrchestrationContext

from local.host.durable import engine
from local.host.durable import messages as msgs
from local.host.durable.history import ET
from local.host.durable.names import TaskHubNameError, TaskHubNames
from local.host.durable.state import InstanceState
from tests.durable.app import function_app

NOW = datetime(2030, 1, 1, tzinfo=UTC)


class Driver:
    """Runs episodes of one orchestrator in memory, as the dispatcher would."""

    def __init__(self, builder: object, payload: object) -> None:
        self.handle = builder._function._func  # type: ignore[attr-defined]
        self.state = InstanceState("inst", "orch", "exec1", input_json=json.dumps(payload))
        self.state.reindex()
        self.clock = NOW

    def episode(self, *batch: msgs.Message) -> engine.Outcome:
        self.clock += timedelta(seconds=1)
        episode = engine.prepare(self.state, list(batch), self.clock)
        assert episode is not None
        raw = self.handle(OrchestrationContext(self.state.context_json(episode.all_events)))
        outcome = engine.apply(self.state, episode, json.loads(raw), None, self.clock)
        self.state.history.extend(outcome.events)
        self.state.index_events(outcome.events)
        return outcome

    def scheduled(self, outcome: engine.Outcome) -> list[tuple[int, int]]:
        return [(e["EventType"], e["EventId"]) for e in outcome.events if e["EventId"] >= 0]


def done(kind: str, task_id: int, result: object = None) -> msgs.Message:
    fields = {"result": json.dumps(result)} if kind == "task_completed" else \
        {"reason": "boom", "details": ""}
    return msgs.task_id_message(kind, "inst", "exec1", task_id, **fields)


def test_retry_timers_and_attempts_are_numbered_like_the_sdk() -> None:
    run = Driver(function_app.retry_fan, {"n": 2, "key": "k"})
    first = run.episode(msgs.start("inst", "exec1", "orch", None))
    assert run.scheduled(first) == [(ET.TASK_SCHEDULED, i) for i in range(4)]
    # two retried tasks fail in the same episode as two plain tasks complete
    second = run.episode(done("task_failed", 0), done("task_completed", 1, 0),
                         done("task_failed", 2), done("task_completed", 3, 2))
    assert run.scheduled(second) == [(ET.TIMER_CREATED, 4), (ET.TIMER_CREATED, 5)]
    fired = [msgs.task_id_message("timer", "inst", "exec1", t, fire_at="x") for t in (4, 5)]
    third = run.episode(*fired)
    assert run.scheduled(third) == [(ET.TASK_SCHEDULED, 6), (ET.TASK_SCHEDULED, 7)]
    fourth = run.episode(done("task_completed", 6, {"attempts": 2}),
                         done("task_completed", 7, {"attempts": 2}))
    assert run.scheduled(fourth) == [(ET.TASK_SCHEDULED, 8)]
    run.episode(done("task_completed", 8, 2000))
    assert run.state.status == "Completed"
    assert json.loads(run.state.output_json or "null") == {
        "attempts": [2, 2], "doubled": [0, 2], "follow_up": 2000}


def test_duplicate_and_foreign_messages_are_dropped() -> None:
    run = Driver(function_app.fan_out, {"n": 2})
    run.episode(msgs.start("inst", "exec1", "orch", None))
    run.episode(done("task_completed", 0, 0))
    assert engine.prepare(run.state, [done("task_completed", 0, 0)], NOW) is None
    stale = msgs.task_id_message("task_completed", "inst", "old-exec", 1, result="5")
    assert engine.prepare(run.state, [stale], NOW) is None


def test_events_for_an_instance_not_started_yet_are_deferred() -> None:
    state = InstanceState("inst", "orch", "exec1")
    state.reindex()
    event = msgs.Message("event", "inst", {"name": "go", "input": "1"})
    episode = engine.prepare(state, [event], NOW)
    assert episode is not None and not episode.events and episode.deferred == [event]


def test_orchestrator_failure_message_and_state_are_parsed() -> None:
    data = {"isDone": False, "actions": [], "customStatus": {"step": 2}}
    error = Exception(f"boom\n\n{engine.OOP_MARKER}{json.dumps(data)}")
    message, parsed = engine.parse_failure(error)
    assert message == "boom" and parsed == data
    assert engine.parse_failure(ValueError("plain")) == ("ValueError: plain", None)


def test_batches_respect_item_and_size_limits() -> None:
    items = [msgs.work_item("a", "e", i, "double", str(i)) for i in range(250)]
    items.append(msgs.work_item("a", "e", 999, "echo", json.dumps("x" * 20_000)))
    packed = msgs.pack(items)
    assert [len(m.get("items") or [m]) for m in packed] == [1, 100, 100, 50]
    decoded = [m for p in packed for m in msgs.decode(p.encode()) or []]
    assert sorted(m.get("task_id") for m in decoded) == [*range(250), 999]
    assert msgs.decode("not json") is None and msgs.decode('{"kind": "x"}') is None


def test_hub_names_follow_storage_rules() -> None:
    names = TaskHubNames.build("t0abc", "Policy-Vault_Hub", partitions=4)
    assert names.instances_table == "t0abcPolicyVaultHubInstances"
    assert names.control_queue(3) == "t0abcpolicyvaulthub-control-03"
    assert names.partition_of("some-instance") == names.partition_of("some-instance")
    with pytest.raises(TaskHubNameError):
        TaskHubNames.build("p" * 40, "LongHubNameHere")
    with pytest.raises(TaskHubNameError):
        TaskHubNames.build("9", "hub")
