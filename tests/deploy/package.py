"""The deployment package as `func azure functionapp publish` and `azd deploy` build it: the
repository tree less what `.funcignore` names (gitignore syntax)."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# What the deployed app needs at run time; everything else at the top level is dev-only.
RUNTIME = frozenset({"function_app.py", "host.json", "requirements.txt",
                     "activities", "api", "orchestrators", "queues", "shared", "timers"})


@dataclass(frozen=True)
class Rule:
    """One .funcignore line: a glob, for directories only (trailing ``/``) or any path, matched
    against each path component's name, or against the path from the root when it has a ``/``."""

    pattern: str
    dir_only: bool
    anchored: bool


def funcignore_rules(text: str) -> list[Rule]:
    rules = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        # Negation and ** change what the tools match; this reader would not follow them.
        assert not line.startswith("!") and "**" not in line, f"unsupported line: {line}"
        body = line.rstrip("/")
        rules.append(Rule(body.lstrip("/"), dir_only=line.endswith("/"), anchored="/" in body))
    return rules


def is_ignored(path: str, is_dir: bool, rules: list[Rule]) -> bool:
    """Whether ``path`` (POSIX, relative to the root) or a folder above it is ignored."""
    parts = path.split("/")
    for depth in range(1, len(parts) + 1):
        prefix, name = "/".join(parts[:depth]), parts[depth - 1]
        prefix_is_dir = depth < len(parts) or is_dir
        for rule in rules:
            if rule.dir_only and not prefix_is_dir:
                continue
            if fnmatchcase(prefix if rule.anchored else name, rule.pattern):
                return True
    return False


def rules() -> list[Rule]:
    return funcignore_rules((ROOT / ".funcignore").read_text(encoding="utf-8"))


def tracked_files() -> list[str]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True)
    return [p for p in out.stdout.decode().split("\0") if p and (ROOT / p).exists()]


def ignored_on_disk() -> list[str]:
    """What git ignores but lies in the tree (.venv, node_modules, caches): the tools see it."""
    out = subprocess.run(
        ["git", "ls-files", "-z", "--others", "--ignored", "--exclude-standard", "--directory"],
        cwd=ROOT, capture_output=True, check=True)
    return [p.rstrip("/") for p in out.stdout.decode().split("\0") if p]


def package_files() -> list[str]:
    """The tracked files that ship."""
    active = rules()
    return [p for p in tracked_files() if not is_ignored(p, False, active)]


def stage_package(target: Path) -> Path:
    """Copy the files that ship into ``target``: the package as the platform unpacks it."""
    for rel in package_files():
        path = target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, path)
    return target
