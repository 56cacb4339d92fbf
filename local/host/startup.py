"""Assemble a `FunctionHost` from a script root the way `python -m local.host` does."""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping, Sequence
from pathlib import Path

from local.host.app_config_hook import validate_app_config
from local.host.app_loader import load_app
from local.host.config import apply_local_settings, load_host_config, read_local_settings
from local.host.extensions import TriggerExtension
from local.host.extensions_registry import default_extensions
from local.host.function_host import FunctionHost

DEFAULT_PORT = 7071


def prepare_host(
    app_ref: str = "function_app:app",
    *,
    script_root: Path | None = None,
    host: str = "127.0.0.1",
    port: int | None = None,
    extensions: Sequence[TriggerExtension] | None = None,
    environ: MutableMapping[str, str] | None = None,
    validate_config: bool = True,
) -> FunctionHost:
    """Load local.settings.json into `environ` (default os.environ; existing keys win), read
    host.json, import the app, run its configuration check and build the host (not started).
    Raises a `HostStartError` subclass with a one-line message on any problem."""
    root = (script_root or Path.cwd()).resolve()
    local = read_local_settings(root)
    settings = apply_local_settings(local.values, environ)
    settings.setdefault("PV_STORAGE_PREFIX", "")  # DESIGN §2: empty by default, so %…% resolves
    host_config = load_host_config(root, settings)
    app = load_app(app_ref, [root, Path.cwd()])
    if validate_config:
        validate_app_config(app_ref)
    return FunctionHost(
        app,
        extensions=default_extensions() if extensions is None else extensions,
        host_config=host_config,
        settings=settings,
        host=host,
        port=port if port is not None else (local.local_http_port or DEFAULT_PORT),
        script_root=root,
    )


def configure_logging(level: str = "INFO") -> None:
    """Function and runtime logs go to stdout; stderr is kept for the one-line fatal error."""
    logging.basicConfig(
        stream=sys.stdout,
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    logging.captureWarnings(True)
    logging.getLogger("azure").setLevel(logging.WARNING)
