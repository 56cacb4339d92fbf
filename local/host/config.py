"""Host configuration: `host.json`, `local.settings.json` and `%NAME%` app-setting references.

Mirrors what the Functions host reads from the script root. Only the knobs the local runtime
honours are typed; the whole `host.json` stays available as `HostConfig.raw` for extensions.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from local.host.errors import HostConfigError

DEFAULT_STORAGE_CONNECTION = "UseDevelopmentStorage=true"
_SETTING_REF = re.compile(r"%([^%]+)%")
_TIMESPAN = re.compile(r"^(?:(\d+)\.)?(\d{1,2}):(\d{1,2}):(\d{1,2}(?:\.\d+)?)$")


def resolve_setting_refs(value: str, settings: Mapping[str, str], where: str) -> str:
    """Replace every `%NAME%` in `value` by app setting NAME; unset names are an error."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in settings:
            raise HostConfigError(f"{where} refers to app setting '{name}', which is not set")
        return settings[name]

    return _SETTING_REF.sub(replace, value)


def parse_timespan(value: Any, where: str) -> timedelta:
    """Parse a .NET TimeSpan as host.json writes it: `[d.]hh:mm:ss[.fff]` (or seconds)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=value)
    match = _TIMESPAN.fullmatch(str(value).strip())
    if not match:
        raise HostConfigError(f"{where}: '{value}' is not a timespan like 00:00:30")
    days, hours, minutes, seconds = match.groups()
    return timedelta(
        days=int(days or 0), hours=int(hours), minutes=int(minutes), seconds=float(seconds)
    )


@dataclass(frozen=True)
class QueuesConfig:
    """`extensions.queues`. The polling ceiling defaults to 2 s (Azure: 1 min) for local use."""

    batch_size: int = 16
    new_batch_threshold: int = 8
    max_dequeue_count: int = 5
    visibility_timeout: timedelta = timedelta(0)
    max_polling_interval: timedelta = timedelta(seconds=2)


@dataclass(frozen=True)
class DurableTaskConfig:
    """`extensions.durableTask`; `raw` keeps the whole section (storageProvider, …)."""

    hub_name: str = "TestHubName"
    max_concurrent_activity_functions: int = 10
    max_concurrent_orchestrator_functions: int = 10
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class HostConfig:
    route_prefix: str = "api"
    queues: QueuesConfig = field(default_factory=QueuesConfig)
    durable_task: DurableTaskConfig = field(default_factory=DurableTaskConfig)
    function_timeout: timedelta | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)


def _positive_int(section: Mapping[str, Any], key: str, default: int, where: str) -> int:
    value = section.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise HostConfigError(f"host.json {where}.{key} must be a positive integer")
    return value


def _queues(section: Mapping[str, Any]) -> QueuesConfig:
    where = "extensions.queues"
    batch = _positive_int(section, "batchSize", 16, where)
    if batch > 32:
        raise HostConfigError(f"host.json {where}.batchSize must be at most 32")
    threshold = section.get("newBatchThreshold", batch // 2)
    return QueuesConfig(
        batch_size=batch,
        new_batch_threshold=max(0, int(threshold)),
        max_dequeue_count=_positive_int(section, "maxDequeueCount", 5, where),
        visibility_timeout=parse_timespan(
            section.get("visibilityTimeout", "00:00:00"), f"{where}.visibilityTimeout"
        ),
        max_polling_interval=parse_timespan(
            section.get("maxPollingInterval", "00:00:02"), f"{where}.maxPollingInterval"
        ),
    )


def _durable(section: Mapping[str, Any], settings: Mapping[str, str]) -> DurableTaskConfig:
    where = "extensions.durableTask"
    hub = resolve_setting_refs(
        str(section.get("hubName", "TestHubName")), settings, f"host.json {where}.hubName"
    )
    if not hub:
        raise HostConfigError(f"host.json {where}.hubName is empty")
    return DurableTaskConfig(
        hub_name=hub,
        max_concurrent_activity_functions=_positive_int(
            section, "maxConcurrentActivityFunctions", 10, where
        ),
        max_concurrent_orchestrator_functions=_positive_int(
            section, "maxConcurrentOrchestratorFunctions", 10, where
        ),
        raw=dict(section),
    )


def load_host_config(script_root: Path, settings: Mapping[str, str]) -> HostConfig:
    """Read `<script_root>/host.json` (absent file: all defaults)."""
    path = script_root / "host.json"
    if not path.exists():
        return HostConfig()
    try:
        raw = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError) as exc:
        raise HostConfigError(f"cannot read {path}: {exc}") from exc
    extensions = raw.get("extensions") or {}
    http = extensions.get("http") or {}
    timeout = raw.get("functionTimeout")
    return HostConfig(
        route_prefix=str(http.get("routePrefix", "api")).strip("/"),
        queues=_queues(extensions.get("queues") or {}),
        durable_task=_durable(extensions.get("durableTask") or {}, settings),
        function_timeout=parse_timespan(timeout, "functionTimeout") if timeout else None,
        raw=raw,
    )


@dataclass(frozen=True)
class LocalSettings:
    values: Mapping[str, str]
    local_http_port: int | None = None


def read_local_settings(script_root: Path) -> LocalSettings:
    """Read `<script_root>/local.settings.json` (absent file: nothing)."""
    path = script_root / "local.settings.json"
    if not path.exists():
        return LocalSettings(values={})
    try:
        raw = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError) as exc:
        raise HostConfigError(f"cannot read {path}: {exc}") from exc
    values = {str(k): "" if v is None else str(v) for k, v in (raw.get("Values") or {}).items()}
    port = (raw.get("Host") or {}).get("LocalHttpPort")
    return LocalSettings(values=values, local_http_port=int(port) if port else None)


def apply_local_settings(
    values: Mapping[str, str], environ: MutableMapping[str, str] | None = None
) -> dict[str, str]:
    """Copy `values` into `environ` (default os.environ) where a key is not already set:
    the process environment wins, as with the Functions host. Returns the merged view."""
    target = os.environ if environ is None else environ
    for key, value in values.items():
        target.setdefault(key, value)
    return dict(target)
