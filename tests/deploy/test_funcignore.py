"""`.funcignore` against the repository tree: every dev-only path stays out of the deployment
package, every runtime path ships, and what ships runs on its own."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

from function_app import app
from local.host.app_loader import discover_functions
from tests.deploy.package import (
    ROOT,
    RUNTIME,
    funcignore_rules,
    ignored_on_disk,
    is_ignored,
    package_files,
    rules,
    tracked_files,
)

# The folders azure-functions-doctor leaves out by itself (its EXCLUDED_PROJECT_DIRS).
DOCTOR_SKIPS = frozenset({".git", ".venv", "node_modules", "__pycache__", ".pytest_cache",
                          ".ruff_cache"})


def test_funcignore_every_top_level_path_is_runtime_or_ignored():
    active = rules()
    top = {p.split("/")[0]: (ROOT / p.split("/")[0]).is_dir()
           for p in [*tracked_files(), *ignored_on_disk()]}
    wrong = {name for name, is_dir in top.items()
             if is_ignored(name, is_dir, active) == (name in RUNTIME)}
    assert wrong == set()
    assert RUNTIME <= set(top)


def test_funcignore_local_tests_node_modules_and_venv_never_ship():
    active = rules()
    for name in ("local", "tests", "node_modules", ".venv", "infra", "scripts", ".azure"):
        assert is_ignored(name, True, active), name
    for name in ("local.settings.json", "requirements-dev.txt", "shared/x/__pycache__/m.pyc"):
        assert is_ignored(name, False, active), name


def test_funcignore_keeps_every_runtime_file():
    shipped = set(package_files())
    runtime = {p for p in tracked_files() if p.split("/")[0] in RUNTIME}
    assert runtime - shipped == set()
    assert runtime == shipped


def test_funcignore_reader_matches_names_at_any_depth_and_anchors_paths_with_a_slash():
    active = funcignore_rules("tests/\n/infra/x.bicep\n*.pyc\n")
    assert is_ignored("shared/tests/a.py", False, active)
    assert not is_ignored("shared/tests", False, active)  # a file named tests: not a folder
    assert is_ignored("infra/x.bicep", False, active)
    assert not is_ignored("other/infra/x.bicep", False, active)
    assert is_ignored("api/__pycache__/m.cpython-311.pyc", False, active)


def test_package_imports_and_registers_every_function_without_the_dev_tree(package_dir: Path):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    probe = ("import sys, function_app; "
             "assert not any(m == 'local' or m.startswith(('local.', 'tests')) "
             "for m in sys.modules), 'dev-only module imported'; "
             "print(len(function_app.app.get_functions()))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=package_dir, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert int(out.stdout.strip()) == len(discover_functions(app))


def test_doctor_excludes_what_funcignore_leaves_out_but_infra():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    exclude = set(config["tool"]["azure-functions-doctor"]["exclude"])
    folders = {r.pattern for r in rules()
               if r.dir_only and not r.anchored and "*" not in r.pattern}
    assert exclude == (folders - DOCTOR_SKIPS - {"infra"}) | {"local.settings.example.json"}
