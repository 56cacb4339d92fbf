"""function_app.py registers what the product needs. Whether Azure's Python worker indexes it
(every function found, every binding valid) is tests/deploy/test_worker_indexing.py."""

from __future__ import annotations

from function_app import app
from local.host.app_loader import discover_functions

FUNCTIONS = discover_functions(app)


def test_the_app_registers_every_job_the_schedule_tick_and_the_repair_sweep():
    by_trigger: dict[str, set[str]] = {}
    for spec in FUNCTIONS:
        by_trigger.setdefault(spec.trigger_type, set()).add(spec.name)

    assert {"capture_snapshot", "backup_tenant", "restore"} <= by_trigger["orchestrationTrigger"]
    assert by_trigger["timerTrigger"] == {"schedule_tick", "repair_sweep"}
    [tick] = [spec for spec in FUNCTIONS if spec.name == "schedule_tick"]
    assert tick.trigger["schedule"] == "0 */5 * * * *"
    assert len({spec.name for spec in FUNCTIONS}) == len(FUNCTIONS)
