"""Import a Python v2 programming-model app and describe its functions as `FunctionSpec`s."""

from __future__ import annotations

import importlib
import json
import sys
import traceback
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local.host.errors import AppLoadError


@dataclass(frozen=True)
class FunctionSpec:
    """One function as the host sees it. Binding dicts are function.json-shaped: `type`,
    `name`, `direction` ("in" | "out" | "inout") and the binding's own keys (`route`,
    `queueName`, `schedule`, …), with enum values turned into plain strings."""

    name: str
    trigger: dict[str, Any]
    bindings: list[dict[str, Any]]
    function: Any = field(repr=False, compare=False)

    @property
    def trigger_type(self) -> str:
        return str(self.trigger["type"])

    @property
    def user_function(self) -> Callable[..., Any]:
        return self.function.get_user_function()

    def input_bindings(self) -> list[dict[str, Any]]:
        """Non-trigger bindings the host must fill when invoking."""
        return [
            b for b in self.bindings
            if b is not self.trigger and b.get("direction") in ("in", "inout")
        ]

    def output_bindings(self) -> list[dict[str, Any]]:
        return [b for b in self.bindings if b.get("direction") in ("out", "inout")]


def _where(exc: BaseException) -> str:
    """`file:line` of the innermost frame, so a one-line error still points somewhere."""
    frames = traceback.extract_tb(exc.__traceback__)
    if isinstance(exc, SyntaxError) and exc.filename:
        return f" ({exc.filename}:{exc.lineno})"
    if not frames:
        return ""
    last = frames[-1]
    if "importlib" in last.filename:
        return ""
    return f" ({last.filename}:{last.lineno})"


def load_app(app_ref: str, search_paths: list[Path]) -> Any:
    """Import `MODULE:ATTR` with `search_paths` first on sys.path; return the app object."""
    module_name, _, attr = app_ref.partition(":")
    attr = attr or "app"
    for path in reversed(search_paths):
        resolved = str(path.resolve())
        if resolved not in sys.path:
            sys.path.insert(0, resolved)
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise AppLoadError(
            f"cannot import app '{app_ref}': {type(exc).__name__}: {exc}{_where(exc)}"
        ) from exc
    app = getattr(module, attr, None)
    if app is None:
        raise AppLoadError(
            f"cannot import app '{app_ref}': AttributeError: "
            f"module '{module_name}' has no attribute '{attr}'"
        )
    if not callable(getattr(app, "get_functions", None)):
        raise AppLoadError(f"cannot import app '{app_ref}': '{attr}' is not a FunctionApp")
    return app


def _binding_dicts(function: Any) -> list[dict[str, Any]]:
    bindings = json.loads(function.get_function_json())["bindings"]
    for binding in bindings:
        binding["direction"] = str(binding.get("direction", "in")).lower()
    return bindings


# `get_functions()` may be called only once per app (a second call fails its duplicate-name
# check), so the Function objects are kept for hosts started again in the same process.
_FUNCTIONS: weakref.WeakKeyDictionary[Any, list[Any]] = weakref.WeakKeyDictionary()


def discover_functions(app: Any) -> list[FunctionSpec]:
    """Describe every function the app registered (blueprints included)."""
    if app not in _FUNCTIONS:
        _FUNCTIONS[app] = list(app.get_functions())
    specs = []
    for function in _FUNCTIONS[app]:
        bindings = _binding_dicts(function)
        trigger_name = function.get_trigger().name
        trigger = next(b for b in bindings if b["name"] == trigger_name)
        specs.append(FunctionSpec(function.get_function_name(), trigger, bindings, function))
    return specs
