"""function_app.py as the Azure Functions Python worker will index it."""

from __future__ import annotations

import inspect
import typing

from function_app import app
from local.host.app_loader import discover_functions

FUNCTIONS = discover_functions(app)


def _worker_accepts(annotation: object) -> bool:
    """The worker's binding-annotation rule: a class, or a ``typing`` generic. Built-in
    generics such as ``dict[str, Any]`` are neither on Python 3.11 and fail indexing
    ("binding payload has invalid non-type annotation")."""
    return isinstance(annotation, type) or isinstance(annotation, typing._GenericAlias)


def test_every_binding_parameter_has_an_annotation_the_worker_accepts():
    bad = []
    for spec in FUNCTIONS:
        hints = typing.get_type_hints(spec.user_function)
        names = {b["name"] for b in spec.bindings if b.get("direction") in ("in", "inout")}
        for name in inspect.signature(spec.user_function).parameters:
            if name in names and name in hints and not _worker_accepts(hints[name]):
                bad.append(f"{spec.name}({name}: {hints[name]})")
    assert bad == []


def test_the_app_registers_every_job_and_the_schedule_tick():
    by_trigger: dict[str, set[str]] = {}
    for spec in FUNCTIONS:
        by_trigger.setdefault(spec.trigger_type, set()).add(spec.name)

    assert {"capture_snapshot", "backup_tenant", "restore"} <= by_trigger["orchestrationTrigger"]
    assert by_trigger["timerTrigger"] == {"schedule_tick"}
    [tick] = [spec for spec in FUNCTIONS if spec.name == "schedule_tick"]
    assert tick.trigger["schedule"] == "0 */5 * * * *"
    assert len({spec.name for spec in FUNCTIONS}) == len(FUNCTIONS)
