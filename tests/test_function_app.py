"""function_app.py registers what the product needs. Whether Azure's Python worker indexes it
(every function found, every binding valid) is tests/deploy/test_worker_indexing.py."""

from __future__ import annotations

import inspect

from function_app import app
from local.host.app_loader import discover_functions

FUNCTIONS = discover_functions(app)


def test_the_app_registers_every_job_and_the_timers():
    by_trigger: dict[str, set[str]] = {}
    for spec in FUNCTIONS:
        by_trigger.setdefault(spec.trigger_type, set()).add(spec.name)

    assert {"capture_snapshot", "backup_tenant", "restore", "purge_expired",
            "purge_tenant"} <= by_trigger["orchestrationTrigger"]
    assert by_trigger["timerTrigger"] == {"schedule_tick", "purge_tick", "repair_sweep"}
    [tick] = [spec for spec in FUNCTIONS if spec.name == "schedule_tick"]
    assert tick.trigger["schedule"] == "0 */5 * * * *"
    assert by_trigger["queueTrigger"] == {"deliver_webhook"}
    [deliver] = [spec for spec in FUNCTIONS if spec.name == "deliver_webhook"]
    assert deliver.trigger["queueName"] == "%PV_STORAGE_PREFIX%webhook-deliveries"
    [purge] = [spec for spec in FUNCTIONS if spec.name == "purge_tick"]
    assert purge.trigger["schedule"] == "0 30 2 * * *"  # daily
    assert len({spec.name for spec in FUNCTIONS}) == len(FUNCTIONS)


def test_every_activity_logs_in_its_runs_context():
    """Each activity comes from an ``activities.blueprint.ActivityBlueprint`` (its log lines
    name the run, tenant and invocation), not from a plain ``df.Blueprint``."""
    activities = [spec for spec in FUNCTIONS if spec.trigger_type == "activityTrigger"]

    assert activities
    plain = [spec.name for spec in activities
             if getattr(spec.user_function, "__wrapped__", None) is None
             or "context" not in inspect.signature(spec.user_function).parameters]
    assert plain == []
