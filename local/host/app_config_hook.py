"""Run the app's own configuration check before serving (DESIGN §2: fail fast, one line).

If the app module's folder has `shared/platform/config.py`, it is imported as
`shared.platform.config` (or `<package>.shared.platform.config` for an app inside a package)
and its `validate()` — or, failing that, `load_settings()` — is called. Any exception whose
class (or a base class) is named `ConfigError` becomes an `AppConfigError` carrying its
message.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

from local.host.errors import AppConfigError


def _is_config_error(exc: BaseException) -> bool:
    return any(cls.__name__ == "ConfigError" for cls in type(exc).__mro__)


def validate_app_config(app_ref: str) -> None:
    module_name = app_ref.partition(":")[0]
    module = sys.modules.get(module_name)
    module_file = getattr(module, "__file__", None)
    if module is None or not module_file:
        return
    if not (Path(module_file).parent / "shared" / "platform" / "config.py").exists():
        return
    package = module.__package__ or ""
    name = "shared.platform.config"
    config = importlib.import_module(f"{package}.{name}" if package else name)
    check = getattr(config, "validate", None) or getattr(config, "load_settings", None)
    if check is None:
        return
    try:
        check()
    except Exception as exc:
        if _is_config_error(exc):
            raise AppConfigError(f"configuration error: {exc}") from exc
        raise
