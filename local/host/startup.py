"""Assemble a `FunctionHost` from a script root the way `python -m local.host` does."""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping, MutableMapping, Sequence
from pathlib import Path
from typing import TextIO

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
    listen: bool = True,
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
        listen=listen,
    )


# What every LogRecord has; anything else on a record is a field the code attached to it.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message", "asctime", "taskName"}


class FieldsFormatter(logging.Formatter):
    """Appends a record's own fields (``extra=``, or attributes a record factory set), as
    Application Insights shows them as ``customDimensions``: ``… [run_id=… tenant_id=…]``."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields = [f"{name}={value}" for name, value in vars(record).items()
                  if name not in _RECORD_ATTRIBUTES and not name.startswith("_")]
        return f"{text} [{' '.join(fields)}]" if fields else text


def configure_logging(level: str = "INFO", *, stream: TextIO = sys.stdout,
                      levels: Mapping[str, str] | None = None) -> None:
    """Function and runtime logs go to ``stream`` (stdout; stderr is kept for the one-line
    fatal error), each line ending with its record's fields (:class:`FieldsFormatter`).
    ``levels``: a level per logger name, e.g. to let the app's own loggers say more."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(FieldsFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    logging.captureWarnings(True)
    logging.getLogger("azure").setLevel(logging.WARNING)
    for name, logger_level in (levels or {}).items():
        logging.getLogger(name).setLevel(logger_level)
