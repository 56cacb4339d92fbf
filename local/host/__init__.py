"""The local Azure Functions runtime: runs the same `function_app.py` without Core Tools.

`python -m local.host` serves it; `running_host(...)` runs it in-process. Triggers plug in
through `TriggerExtension` (see `local.host.extensions`).
"""

from local.host.app_loader import FunctionSpec
from local.host.config import HostConfig
from local.host.errors import (
    AppConfigError,
    AppLoadError,
    HostConfigError,
    HostStartError,
    StorageUnreachable,
)
from local.host.extensions import TriggerExtension
from local.host.extensions_registry import default_extensions
from local.host.function_host import FunctionHost
from local.host.runner import RunningHost, host_in_thread, running_host
from local.host.startup import prepare_host

__all__ = [
    "AppConfigError",
    "AppLoadError",
    "FunctionHost",
    "FunctionSpec",
    "HostConfig",
    "HostConfigError",
    "HostStartError",
    "RunningHost",
    "StorageUnreachable",
    "TriggerExtension",
    "default_extensions",
    "host_in_thread",
    "prepare_host",
    "running_host",
]
