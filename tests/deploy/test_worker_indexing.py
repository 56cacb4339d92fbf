"""The deployment package indexed by Azure's own Python worker (azure-functions-runtime, see
requirements-worker.txt and tests/deploy/worker_driver.py): every function the app registers
is found and every binding passes the worker's validation, in a fresh interpreter over only
the files that ship."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import azure.durable_functions as df
import pytest
from azure_functions_runtime import loader
from azure_functions_runtime.bindings.meta import load_binding_registry
from azure_functions_runtime.functions import FunctionLoadError, Registry

from local.host.app_loader import discover_functions
from tests.deploy import worker_driver
from tests.deploy.package import ROOT


@pytest.fixture(scope="module")
def indexed(package_dir: Path) -> list[dict[str, Any]]:
    out = subprocess.run([sys.executable, worker_driver.__file__, str(package_dir)],
                         cwd=package_dir, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    answer = json.loads(out.stdout.strip().splitlines()[-1])
    assert answer["status"] == "success", answer.get("error")
    return answer["functions"]


def test_worker_indexes_every_function_the_app_registers(indexed):
    from function_app import app

    names = [f["name"] for f in indexed]
    assert len(names) == len(set(names))
    assert set(names) == {spec.name for spec in discover_functions(app)}  # the local runtime
    assert {f["script_file"] for f in indexed} == {"function_app.py"}


def test_worker_sees_one_trigger_and_the_same_bindings_as_the_local_runtime(indexed):
    from function_app import app

    local = {spec.name: spec for spec in discover_functions(app)}
    for function in indexed:
        raw = function["raw_bindings"]
        assert len([b for b in raw if b["type"].endswith("Trigger")]) == 1, function["name"]
        assert {b["name"] for b in raw} == set(function["bindings"]), function["name"]
        spec = local[function["name"]]
        assert [(b["name"], b["type"]) for b in raw] == [
            (b["name"], b["type"]) for b in spec.bindings], function["name"]
        assert function["properties"] == {"worker_indexed": "True"}


def test_worker_binds_every_input_parameter_of_every_function(indexed):
    for function in indexed:
        inputs = {name for name, b in function["bindings"].items()
                  if b["direction"] != worker_driver.BindingInfo.out}
        assert set(function["input_types"]) == inputs, function["name"]


def _index(register: df.DFApp) -> None:
    """The worker's indexing step for ``register``, in this process (init loads the registry
    of binding converters first)."""
    load_binding_registry()
    loader.process_indexed_function(worker_driver.PROTOS, Registry(), register.get_functions(),
                                    str(ROOT))


def test_worker_refuses_a_builtin_generic_binding_annotation():
    bad = df.DFApp()

    @bad.activity_trigger(input_name="payload")
    def takes_a_dict(payload: dict[str, Any]) -> str:  # the worker wants a class or typing.Dict
        return ""

    with pytest.raises(FunctionLoadError, match="invalid non-type annotation"):
        _index(bad)


def test_worker_refuses_a_parameter_no_binding_declares():
    bad = df.DFApp()

    @bad.activity_trigger(input_name="payload")
    def extra_parameter(payload: str, other: str) -> str:
        return payload + other

    with pytest.raises(FunctionLoadError, match="other"):
        _index(bad)
